"""The evaluation set, run as a test with hard thresholds (the README quotes the numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import Answer, Citation
from bot.evaluation import citation_problems, evaluate, load_questions

QUESTIONS = Path(__file__).parent / "eval" / "questions.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(assistant):
    return evaluate(assistant, load_questions(QUESTIONS))


def test_question_set_covers_every_kind_of_user():
    questions = load_questions(QUESTIONS)
    groups = {q["group"] for q in questions}
    tags = {t for q in questions for t in q.get("tags", [])}
    assert len(questions) >= 60
    assert {"can_bo", "nguoi_dan", "giang_vien", "english", "khong_tra_loi"} <= groups
    assert {"no_diacritics", "follow_up", "paraphrase"} <= tags
    assert sum(not q["answerable"] for q in questions) >= 10


def test_thresholds(report):
    m = report.metrics
    print("\n".join(report.lines()))
    assert m["fact_recall"] >= 0.9
    assert m["citation_validity"] == 1.0
    assert m["abstention_accuracy"] == 1.0
    assert m["false_abstentions"] <= 1
    assert m["recall@5"] >= 0.85


def test_citation_check_catches_invented_text_and_dangling_markers(assistant):
    documents = assistant.handle.documents()
    source = "cam-ranh_ke-hoach-thuc-hien-ctr-46.md"
    text = documents[source]["text"]
    start = text.index("3. Phòng Quản lý đô thị")
    end = text.index("\n", text.index("Theo dõi tình hình hoạt động kinh doanh", start))
    good = Citation(1, source, "t", "s", text[start:end], start, end)
    honest = Answer("q", "Theo Kế hoạch [1]:\n- " + text[start:end].split("\n")[1] + " [1]", False, [good])
    assert citation_problems(honest, documents) == []
    invented = Answer("q", "Theo Kế hoạch [1]:\n- Phòng Quản lý đô thị cấp vốn cho hợp tác xã. [1]", False, [good])
    assert any("không có trong nguồn" in p for p in citation_problems(invented, documents))
    dangling = Answer("q", "Theo Kế hoạch [1]:\n- " + text[start:end].split("\n")[1] + " [2]", False, [good])
    assert any("[2]" in p for p in citation_problems(dangling, documents))
    altered = Citation(1, source, "t", "s", text[start:end].replace("giao thông", "thủy lợi"), start, end)
    assert any("không trùng khớp" in p for p in citation_problems(Answer("q", "x [1]", False, [altered]), documents))
