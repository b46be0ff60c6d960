"""Targets extracted from the plans and compared across documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.documents import load_documents
from bot.evaluation import citation_problems
from bot.targets import build_targets, markdown_table, parse_number

from .conftest import DOCUMENTS, MODEL_CACHE


@pytest.fixture(scope="module")
def targets():
    docs, _ = load_documents(DOCUMENTS)
    return build_targets(docs), {d.source: d.text for d in docs}


def _get(targets, place, year, indicator):
    return [t for t in targets if t.place.startswith(place) and t.year == year and t.indicator == indicator]


def test_ca_mau_2030(targets):
    ts, _ = targets
    assert [(t.value, t.low, t.high) for t in _get(ts, "Cà Mau", 2030, "Số hợp tác xã")] == [("400", 400, 400)]
    [members] = _get(ts, "Cà Mau", 2030, "Thành viên (hợp tác xã)")
    assert members.value == "hơn 5.200" and members.low == 5200 and members.high is None
    [unions] = _get(ts, "Cà Mau", 2030, "Số liên hiệp HTX")
    assert unions.value == "ít nhất 03" and unions.low == 3


def test_kon_tum_2030(targets):
    ts, _ = targets
    assert _get(ts, "Kon Tum", 2030, "Số tổ hợp tác")[0].value == "khoảng 300"
    assert _get(ts, "Kon Tum", 2030, "Số hợp tác xã")[0].low == 150
    assert _get(ts, "Kon Tum", 2030, "Số liên hiệp HTX")[0].value == "05"
    [tech] = _get(ts, "Kon Tum", 2030, "% ứng dụng công nghệ cao")
    assert tech.value == "trên 12%" and tech.low == 12 and tech.high is None


def test_cam_ranh_e_commerce_2030_and_2045(targets):
    ts, _ = targets
    assert _get(ts, "Cam Ranh", 2030, "% bán qua thương mại điện tử")[0].value == "20%"
    assert _get(ts, "Cam Ranh", 2045, "% bán qua thương mại điện tử")[0].value == "30%"
    assert _get(ts, "Cam Ranh", 2030, "% khá, tốt / hiệu quả")[0].high == 70


def test_passages_are_verbatim_and_the_law_has_no_targets(targets):
    ts, texts = targets
    assert ts and all(texts[t.source][t.start:t.end] == t.passage and t.value in t.passage for t in ts)
    assert not [t for t in ts if t.source.startswith("luat")]
    assert parse_number("17.100") == 17100 and parse_number("12,5") == 12.5


def test_markdown_comparison_cites_every_cell(targets):
    ts, _ = targets
    table, passages = markdown_table(ts, 2030, places=["Cà Mau", "Kon Tum"])
    lines = table.split("\n")
    assert lines[0] == "| Chỉ tiêu đến năm 2030 | Cà Mau | Kon Tum |"
    row = next(line for line in lines if line.startswith("| Số hợp tác xã |"))
    assert "400 [" in row and "150 [" in row
    for line in lines[2:]:
        for cell in line.strip("|").split("|")[1:]:
            for value, n in __import__("re").findall(r"([^;\[\]]+?)\s*\[(\d+)\]", cell):
                assert value.strip() in passages[int(n) - 1].passage


@pytest.mark.slow
def test_chat_compares_targets_with_a_cited_table(assistant):
    answer = assistant.ask("So sánh mục tiêu 2030 của Cà Mau và Kon Tum")
    assert answer.mode == "targets" and not answer.abstained
    assert "| Chỉ tiêu đến năm 2030 | Cà Mau | Kon Tum |" in answer.answer
    assert citation_problems(answer, assistant.handle.documents()) == []
    assert {c.source for c in answer.citations} == {"ca-mau_ke-hoach-kinh-te-tap-the.txt",
                                                   "kon-tum_chuong-trinh-41-ctr-tu_2022.txt"}


@pytest.mark.slow
def test_cli_targets_json(corpus_index):
    settings, _, _ = corpus_index
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_MODEL_CACHE": str(MODEL_CACHE)}
    run = subprocess.run([sys.executable, "-m", "bot", "targets", "--year", "2045", "--json"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(run.stdout)["targets"]
    assert data and {t["year"] for t in data} == {2045}
    assert any(t["place"].startswith("Cam Ranh") and t["value"] == "30%" for t in data)
