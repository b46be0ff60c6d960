"""Direct references ("khoản 3 Điều 17 Luật Hợp tác xã") resolved to exactly that unit."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from bot.documents import load_documents
from bot.references import Reference, parse_reference, resolve

from .conftest import DOCUMENTS

LAW = "12.4_hop-tac-xa.md#17-2023-qh15"
ND92 = "12.4_hop-tac-xa.md#92-2024-nd-cp"


@pytest.fixture(scope="module")
def records():
    docs, _ = load_documents(DOCUMENTS)
    return {d.source: {"text": d.text, "metadata": d.metadata, "units": [asdict(u) for u in d.units]} for d in docs}


@pytest.mark.parametrize("question, expected", [
    ("khoản 3 Điều 17 Luật Hợp tác xã quy định gì?", Reference("17", "3")),
    ("Điều 18 khoản 1 điểm a nói gì", Reference("18", "1", "a")),
    ("diem b khoan 2 dieu 30 luat htx", Reference("30", "2", "b")),
    ("Điều 35 Nghị định 92/2024/NĐ-CP", Reference("35")),
    ("điểm đ khoản 1 Điều 30", Reference("30", "1", "đ")),
])
def test_parse_in_any_order_with_or_without_diacritics(question, expected):
    assert parse_reference(question) == expected


def test_no_reference_in_ordinary_questions():
    assert parse_reference("Điều kiện trở thành thành viên hợp tác xã là gì?") is None
    assert parse_reference("Theo Điều 12.4.LQ.4 thì sao") is None  # a Pháp điển code is not an article number


def test_clause_of_the_law_named_by_short_title(records):
    ref, [r] = resolve("Khoản 1 Điều 30 Luật Hợp tác xã quy định gì?", records)
    text = records[r.source]["text"][r.start:r.end]
    assert r.source == LAW and r.found_clause
    assert text.startswith("1. Thành viên chính thức, thành viên liên kết góp vốn") and "\n2. " not in text


def test_point_of_a_clause(records):
    _, [r] = resolve("điểm a khoản 2 Điều 42 Luật Hợp tác xã", records)
    text = records[r.source]["text"][r.start:r.end]
    assert text.startswith("a) Giấy đề nghị đăng ký thành lập") and "\nb) " not in text


def test_decree_article_by_number(records):
    for question in ("Điều 34 Nghị định 92/2024/NĐ-CP quy định gì?", "dieu 34 nghi dinh 92", "Điều 34 NĐ 92/2024"):
        _, resolved = resolve(question, records)
        assert [r.source for r in resolved] == [ND92], question
        assert resolved[0].unit["meta"]["pd_code"] == "Điều 12.4.NĐ.3.34"


def test_without_instrument_the_law_is_meant(records):
    _, resolved = resolve("Điều 30 quy định những gì?", records)
    assert [r.source for r in resolved] == [LAW]


def test_missing_clause_falls_back_to_the_article_and_says_so(records):
    _, [r] = resolve("khoản 9 Điều 30 Luật Hợp tác xã", records)
    assert not r.found_clause and (r.start, r.end) == (r.unit["start"], r.unit["end"])


def test_filter_limits_the_instruments(records):
    _, resolved = resolve("Điều 34", records, sources=[ND92])
    assert [r.source for r in resolved] == [ND92]
