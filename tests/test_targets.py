"""Targets extracted from the plans and compared across documents."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest

from bot.documents import load_documents
from bot.evaluation import citation_problems
from bot.targets import (NO_TARGET, Comparison, build_comparison, build_targets, chart_png, chart_values,
                         markdown_table, parse_number)

from .conftest import DOCUMENTS, MODEL_CACHE


@pytest.fixture(scope="module")
def targets():
    docs, _ = load_documents(DOCUMENTS)
    return build_targets(docs), {d.source: d.text for d in docs}


@pytest.fixture(scope="module")
def catalog():
    docs, _ = load_documents(DOCUMENTS)
    return {d.source: {"title": d.title, "metadata": d.metadata} for d in docs}


def parse_table(markdown: str) -> tuple[list[str], dict[tuple[str, str], str]]:
    """The header's columns and {(row label, column): cell text} of a Markdown table."""
    lines = [line for line in markdown.split("\n") if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = {}
    for line in lines[2:]:
        row = [c.strip() for c in line.strip("|").split("|")]
        for column, text in zip(header[1:], row[1:]):
            cells[(row[0], column)] = text
    return header, cells


def assert_chart_is_the_table(comparison, markdown: str) -> None:
    """Every bar of the chart is a cell of the table, and every cell is drawn."""
    header, cells = parse_table(markdown)
    bars = chart_values(comparison)
    drawn: dict[tuple[str, str], list] = {}
    for b in bars:
        drawn.setdefault((b.indicator, b.label), []).append(b)
    assert set(drawn) == set(cells)
    for key, text in cells.items():
        group = drawn[key]
        if text == NO_TARGET:
            assert [(b.text, b.height, b.citation) for b in group] == [(NO_TARGET, None, None)]
            continue
        assert "; ".join(f"{b.text} [{b.citation}]" for b in group) == text
        for b in group:  # the bar's height is the value as written (a range: its low end)
            assert b.height == parse_number(re.findall(r"\d{1,3}(?:\.\d{3})*(?:,\d+)?", b.text)[0])


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


def test_the_2030_chart_plots_the_table_cells(targets, catalog):
    ts, texts = targets
    comparison = build_comparison(ts, 2030, documents=catalog, texts=texts)
    table = comparison.markdown()
    header, cells = parse_table(table)
    # every document that sets targets has a column, in the header as in the chart
    with_targets = {t.source for t in ts}
    assert {d.source for d in comparison.documents} == with_targets
    assert header == ["Chỉ tiêu đến năm 2030", "Cà Mau", "Cam Ranh", "Kon Tum"]
    assert_chart_is_the_table(comparison, table)
    # Cam Ranh sets no 2030 count of cooperatives: said so, not left blank or out
    assert cells[("Số hợp tác xã", "Cam Ranh")] == NO_TARGET
    assert cells[("Số hợp tác xã", "Cà Mau")].startswith("400 [")
    assert cells[("% bán qua thương mại điện tử", "Cam Ranh")].startswith("20% [")
    assert "—" not in table and all(text for text in cells.values())


def test_one_citation_per_section_and_every_value_in_its_passage(targets, catalog):
    ts, texts = targets
    comparison = build_comparison(ts, 2030, documents=catalog, texts=texts)
    sections = [(c.source, c.section) for c in comparison.citations]
    assert len(sections) == len(set(sections)) == 3  # was 11, several repeating one section
    assert [c.n for c in comparison.citations] == [1, 2, 3]
    for c in comparison.citations:
        assert texts[c.source][c.start:c.end] == c.passage and all(q in c.passage for q in c.quotes)
    for cell in comparison.cells.values():
        assert len({v.citation for v in cell.values}) == 1  # one citation per cell
        for v in cell.values:
            citation = comparison.citation(v.citation)
            assert citation.source == cell.source and v.text in citation.passage


def test_a_plan_without_targets_for_the_year_keeps_its_column(targets, catalog):
    """Cam Ranh's plan with only its 2045 targets, and a named letter with none at all."""
    ts, texts = targets
    only_2045 = [t for t in ts if not (t.place.startswith("Cam Ranh") and t.year == 2030)]
    comparison = build_comparison(only_2045, 2030, documents=catalog, texts=texts)
    header, cells = parse_table(comparison.markdown())
    assert "Cam Ranh" in header
    assert {text for (_, column), text in cells.items() if column == "Cam Ranh"} == {NO_TARGET}
    assert_chart_is_the_table(comparison, comparison.markdown())
    named = build_comparison(ts, 2030, places=["Cà Mau", "Quảng Nam"], documents=catalog, texts=texts)
    header, cells = parse_table(named.markdown())
    assert header == ["Chỉ tiêu đến năm 2030", "Cà Mau", "Quảng Nam"]
    assert {text for (_, column), text in cells.items() if column == "Quảng Nam"} == {NO_TARGET}
    # no target for the year anywhere: no table (the chat then answers another way)
    assert build_comparison(ts, 2025, documents=catalog, texts=texts).empty and markdown_table(ts, 2025) == ("", [])


def test_chart_png_is_a_png_with_vietnamese_text(targets, catalog):
    ts, texts = targets
    comparison = build_comparison(ts, 2030, documents=catalog, texts=texts)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        png = chart_png(comparison)
        one = chart_png(comparison.to_json(), "% khá, tốt / hiệu quả")  # as an Answer carries it
    for data in (png, one):
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert 600 < width < 5000 and 400 < height < 5000
        import matplotlib.image

        assert matplotlib.image.imread(io.BytesIO(data)).shape[:2] == (height, width)
    assert [b.text for b in chart_values(comparison, "% khá, tốt / hiệu quả")] == \
        ["Từ 70% - 80%", "100%", "chiếm 60-70%", "trên 60%"]
    with pytest.raises(ValueError):
        chart_png(build_comparison(ts, 2025))


def test_comparison_survives_json(targets, catalog):
    ts, texts = targets
    comparison = build_comparison(ts, 2045, documents=catalog, texts=texts)
    again = Comparison.from_json(json.loads(json.dumps(comparison.to_json(), ensure_ascii=False)))
    assert again.markdown() == comparison.markdown() and chart_values(again) == chart_values(comparison)
    assert comparison.to_json()["indicators"][0]["unit"] == "%"


@pytest.mark.slow
def test_chat_compares_targets_with_a_cited_table(assistant):
    answer = assistant.ask("So sánh mục tiêu 2030 của Cà Mau và Kon Tum")
    assert answer.mode == "targets" and not answer.abstained
    assert "| Chỉ tiêu đến năm 2030 | Cà Mau | Kon Tum |" in answer.answer
    assert citation_problems(answer, assistant.handle.documents()) == []
    assert {c.source for c in answer.citations} == {"ca-mau_ke-hoach-kinh-te-tap-the.txt",
                                                   "kon-tum_chuong-trinh-41-ctr-tu_2022.txt"}
    # one citation per section; the comparison rides on the answer, and its chart is the table
    assert len({(c.source, c.section) for c in answer.citations}) == len(answer.citations) == 2
    data = answer.to_json()["comparison"]
    table = answer.answer.split("\n", 1)[1]
    assert data["markdown"] == table
    assert_chart_is_the_table(data, table)
    assert chart_png(data)[:4] == b"\x89PNG"


@pytest.mark.slow
def test_chat_names_a_document_without_targets(assistant):
    answer = assistant.ask("So sánh mục tiêu 2030 của Cà Mau và Quảng Nam")
    assert answer.mode == "targets" and citation_problems(answer, assistant.handle.documents()) == []
    header, cells = parse_table(answer.answer)
    assert header == ["Chỉ tiêu đến năm 2030", "Cà Mau", "Quảng Nam"]
    assert {text for (_, column), text in cells.items() if column == "Quảng Nam"} == {NO_TARGET}


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "Mục tiêu đến năm 2030 của Cà Mau và Kon Tum về phát triển hợp tác xã là gì?",
    "Kon Tum và Cam Ranh phấn đấu đạt chỉ tiêu gì đến năm 2030?",
    "muc tieu 2030 cua Ca Mau, Kon Tum",
])
def test_a_targets_question_naming_two_places_is_a_comparison_without_the_word(assistant, question):
    answer = assistant.ask(question)
    assert answer.mode == "targets" and citation_problems(answer, assistant.handle.documents()) == []
    header, _ = parse_table(answer.answer)
    named = [p for p in ("Cà Mau", "Kon Tum", "Cam Ranh") if p.lower() in question.lower()
             or p.lower().replace("à", "a") in question.lower()]
    assert set(named) <= set(header[1:]) and len(header) >= 3  # every place asked about, not one


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
