"""The command line as other tools use it: JSON in, JSON out, bad lines answered in place."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from .conftest import MODEL_CACHE

pytestmark = pytest.mark.slow


def _run(args, settings, stdin=None):
    env = {**__import__("os").environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_MODEL_CACHE": str(MODEL_CACHE)}
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=600)


def test_batch_json_lines_in_order_with_bad_lines(corpus_index):
    settings, _, _ = corpus_index
    lines = [
        json.dumps({"question": "Thành lập hợp tác xã cần ít nhất bao nhiêu thành viên?"}, ensure_ascii=False),
        "{not json",
        json.dumps({"question": "   "}),
        json.dumps({"question": "Còn năm 2045 thì sao?", "history": [
            {"role": "user", "content": "Mục tiêu cụ thể của Kon Tum đến năm 2030 là gì?"},
            {"role": "assistant", "content": "…"}]}, ensure_ascii=False),
        json.dumps({"question": "q" * 100_000}),
        json.dumps({"question": "Hợp tác xã là gì?", "history": "not a list"}, ensure_ascii=False),
        json.dumps({"question": "Giá vàng hôm nay?"}, ensure_ascii=False),
    ]
    done = _run(["ask", "--json"], settings, "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr[-2000:]
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 7
    for row in out:
        assert {"question", "answer", "abstained", "citations"} <= set(row)
        ids = {c["id"] for c in row["citations"]}
        assert {int(n) for n in __import__("re").findall(r"\[(\d+)\]", row["answer"])} <= ids
        for c in row["citations"]:
            assert {"id", "source", "title", "section", "text"} <= set(c)
    assert not out[0]["abstained"] and "05 thành viên" in out[0]["answer"]
    assert out[1]["error"] and "JSON" in out[1]["answer"]
    assert out[2]["abstained"] and "trống" in out[2]["answer"]
    assert "20% dân số" in out[3]["answer"]
    assert "quá dài" in out[4]["answer"]
    assert "history" in out[5]["answer"]
    assert out[6]["abstained"] and not out[6]["citations"]


def test_single_question_prints_answer_and_sources(corpus_index):
    settings, _, _ = corpus_index
    done = _run(["ask", "Phòng Quản lý đô thị Cam Ranh làm gì?"], settings)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "giao thông vận tải" in done.stdout and "Nguồn:" in done.stdout
    assert "cam-ranh_ke-hoach-thuc-hien-ctr-46.md" in done.stdout


def test_registration_question_cites_the_decree_by_its_instrument(corpus_index):
    """Issue #9's acceptance check, through the CLI as an official would run it."""
    settings, _, _ = corpus_index
    done = _run(["ask", "--json", "Thủ tục đăng ký thành lập hợp tác xã như thế nào?"], settings)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout)
    decree = [c for c in row["citations"] if c["source"].endswith("#92-2024-nd-cp")]
    assert decree and all(c["instrument"] == "Nghị định 92/2024/NĐ-CP" for c in decree)
    assert all(c["pd_code"].startswith("Điều 12.4.NĐ.3.") and c["effective"] == "18/07/2024" for c in decree)
    assert re.search(r"Theo Điều \d+ Nghị định 92/2024/NĐ-CP \(", row["answer"])  # never the code alone
    assert "12.4.NĐ" not in row["answer"]


def test_documents_lists_the_instruments_with_their_dates(corpus_index):
    settings, _, _ = corpus_index
    done = _run(["documents", "--json"], settings)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {r["short_title"]: r for r in json.loads(done.stdout)}
    assert rows["Luật Hợp tác xã 2023"]["effective"] == "01/07/2024"
    assert rows["Nghị định 92/2024/NĐ-CP"]["date"] == "18/07/2024"
    assert {"Nghị định 45/2021/NĐ-CP", "Nghị định 77/2019/NĐ-CP", "Thông tư 09/2024/TT-BKHĐT"} <= set(rows)
    assert not any(r["source"] == "12.4_hop-tac-xa.md" for r in rows.values())  # instruments, not one file
