"""The evaluation set, run as a test with hard thresholds (the README quotes the numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import Answer, Citation
from bot.evaluation import citation_problems, evaluate, load_questions, load_set

QUESTIONS = Path(__file__).parent / "eval" / "questions.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(assistant):
    return evaluate(assistant, load_set("tuning (hand-written)"))


@pytest.fixture(scope="module")
def validation(assistant):
    return evaluate(assistant, load_set("validation (independent)"))


@pytest.fixture(scope="module")
def generated(assistant):
    return evaluate(assistant, load_set("generated · validation split"))


def test_question_set_covers_every_kind_of_user():
    questions = load_questions(QUESTIONS)
    groups = {q["group"] for q in questions}
    tags = {t for q in questions for t in q.get("tags", [])}
    assert len(questions) >= 60
    assert {"can_bo", "nguoi_dan", "giang_vien", "english", "khong_tra_loi"} <= groups
    assert {"no_diacritics", "follow_up", "paraphrase"} <= tags
    assert sum(not q["answerable"] for q in questions) >= 10


def test_hand_written_halves_as_the_issue_asks():
    """≥ 150 hand-written questions, split into a tuning and a validation half; ≥ 50 of the
    validation half written before anything was run on them (fresh.jsonl, holdout.jsonl,
    holdout2.jsonl);
    ≥ 15 on the codification's decrees and circulars, beyond the Law."""
    tuning, validation = load_set("tuning (hand-written)"), load_set("validation (independent)")
    assert len(tuning) + len(validation) >= 150 and len(validation) >= 150
    assert not {q["question"] for q in tuning} & {q["question"] for q in validation}
    training = {q["question"] for q in load_questions(QUESTIONS.parent / "training.jsonl")}
    assert len(training) >= 2500 and not training & {q["question"] for q in tuning + validation}
    refused = load_questions(QUESTIONS.parent / "training_refused.jsonl")  # the gate's written negatives
    assert len(refused) >= 300 and not any(q["answerable"] for q in refused)
    assert not {q["question"] for q in refused} & ({q["question"] for q in tuning + validation} | training)
    before = [q for q in validation if {"fresh", "holdout", "holdout2"} & set(q.get("tags", []))]
    assert len(before) >= 50
    beyond_law = [q for q in validation if (q.get("expected") or {}).get("source", "").startswith("12.4_hop-tac-xa.md#")
                  and not q["expected"]["source"].endswith("#17-2023-qh15")]
    assert len(beyond_law) >= 15


def test_training_questions_do_not_paraphrase_evaluation_questions(assistant):
    """Helpers writing from the same documents ask the same obvious questions; a training
    question that paraphrases an evaluation question about the same passage (cosine ≥ 0.95
    in the model's space) would let the adapter and the gate see the evaluation — the
    round-4 check found 224 and removed them (tests/eval/README.md). The test reads 0.96:
    int8 activations are quantised per batch, so a cosine moves by ~0.005 with the batch."""
    import numpy as np

    from bot.evaluation import EVAL_SETS, _norm

    def key(q: dict) -> tuple:
        expected = q.get("expected") or {}
        return expected.get("source"), _norm(expected.get("section", ""))

    evaluation = list({q["question"]: q for name in EVAL_SETS if not name.startswith("generated")
                       for q in load_set(name)}.values())
    training = load_questions(QUESTIONS.parent / "training.jsonl")
    embed = assistant.embeddings.embed_documents
    similar = np.asarray(embed([q["question"] for q in training])) @ np.asarray(embed([q["question"] for q in evaluation])).T
    keys = [key(q) for q in evaluation]
    copies = [(t["question"], evaluation[j]["question"]) for i, t in enumerate(training)
              for j in np.flatnonzero(similar[i] >= 0.96) if key(t) == keys[j]]
    assert not copies, copies[:5]
    refused = load_questions(QUESTIONS.parent / "training_refused.jsonl")
    near = np.asarray(embed([q["question"] for q in refused])) @ np.asarray(embed([q["question"] for q in evaluation])).T
    assert float(near.max()) < 0.96


def test_thresholds(report):
    """The hand-written tuning half (questions.jsonl, tune2.jsonl): what the few numbers
    of the reranker, the composer and the adapter were chosen on. Measured: R@5 0.910, fact
    recall 0.847, none of 145 refused, 20 of 24 unanswerable refused."""
    m = report.metrics
    print("\n".join(report.lines()))
    assert m["questions"] >= 160
    assert m["fact_recall"] >= 0.82
    assert m["citation_validity"] == 1.0
    assert m["abstention_accuracy"] >= 0.79
    assert m["false_abstentions"] <= 3
    assert m["recall@5"] >= 0.89


def test_validation_half_written_independently(validation):
    """Questions written without seeing the code or any answer (phapdien.jsonl,
    independent.jsonl, fresh.jsonl, holdout.jsonl, holdout2.jsonl — each of the last two
    run for the first time at the end of its round). Thresholds sit just under what was
    measured (README: R@5 0.859, fact recall 0.748, 3.0 % refused, 0.54 of the unanswerable
    refused, every English question answered, English fact recall 0.68): they catch
    regressions; they are not the targets
    (issue #10 asks 0.95 / 0.90 / 2 % / 0.8), which are not met."""
    m = validation.metrics
    print("\n".join(validation.lines(failures=False)))
    assert m["questions"] >= 340
    assert m["citation_validity"] == 1.0
    assert m["recall@5"] >= 0.84
    assert m["fact_recall"] >= 0.72
    assert m["false_abstention_rate"] <= 0.05
    assert m["abstention_accuracy"] >= 0.45
    english = m["groups"]["english"]
    assert 1 - english["abstained"] / english["n"] >= 0.9
    assert english["fact_recall"] >= 0.6


def test_generated_validation_split(generated):
    """Questions generated from the documents' structure and off-topic ones from 23 other
    legal topics, on the split the gate was not fit on."""
    m = generated.metrics
    print("\n".join(generated.lines(failures=False)))
    off_topic = generated.metrics["groups"]["off_topic"]
    assert m["citation_validity"] == 1.0
    assert m["recall@5"] >= 0.98  # 0.993 measured
    assert off_topic["abstained"] / off_topic["n"] >= 0.97  # 0.983
    assert m["false_abstention_rate"] <= 0.14  # 0.117


def test_generated_english_validation_split(assistant):
    """The generated questions asked in English: off-topic ones refused like Vietnamese ones
    (1.0 measured); the right article in the top 5 for 0.83; 45 % of the answerable ones
    still refused (the gate's English operating point)."""
    report = evaluate(assistant, load_set("generated English · validation split"))
    m = report.metrics
    off_topic = m["groups"]["off_topic"]
    assert m["citation_validity"] == 1.0
    assert off_topic["abstained"] / off_topic["n"] >= 0.97
    assert m["recall@5"] >= 0.79
    assert m["false_abstention_rate"] <= 0.5


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


def test_validation_failures_are_counted_not_printed():
    """`bot eval` prints a validation half's metrics, not its failing questions (reading
    them while developing turns it into a tuning half); `--show-validation` prints them."""
    from bot.evaluation import Report, _metrics

    rows = [{"question": "Câu hỏi kiểm định bị trả lời sai?", "group": "nguoi_dan", "answerable": True,
             "abstained": False, "rank": None, "facts": 1, "facts_found": 0, "citations_valid": True,
             "problems": ["thiếu: 05 thành viên"], "latency_ms": 1.0, "answer": "…"}]
    report = Report(rows, _metrics(rows))
    assert any("Câu hỏi kiểm định" in line for line in report.lines())
    hidden = report.lines(failures=False)
    assert not any("Câu hỏi kiểm định" in line for line in hidden) and hidden[-1] == "  (1 câu sai không in ra)"
