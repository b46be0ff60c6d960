"""Evaluation harness: ``python -m bot eval FILE.jsonl``.

Each line: ``{"question", "group", "answerable", "expected": {"source", "section"?},
"facts": [...], "history": [...]?}``. Reports retrieval recall@k and MRR, answer fact
recall, citation validity (every [n] resolves; every cited passage is verbatim in its
document; every quoted sentence is in its passage), abstention accuracy, false
abstentions, per user group, and latency.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer, Assistant, strip_markers
from .compose import NOT_COVERED_SHORT
from .vietnamese import canonical


_EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"
# The sets `python -m bot eval` reports: the hand-written questions the system was developed
# on (tuning half), the ones written independently before looking at any answer
# (validation half), and the set generated from the documents' structure, by its split.
EVAL_SETS: dict[str, tuple[list[Path], str | None]] = {
    "tuning (hand-written)": ([_EVAL / "questions.jsonl", _EVAL / "tune2.jsonl"], None),
    "validation (independent)": ([_EVAL / "phapdien.jsonl", _EVAL / "independent.jsonl", _EVAL / "fresh.jsonl",
                                  _EVAL / "holdout.jsonl", _EVAL / "holdout2.jsonl"], None),
    # each round's newest independent questions alone: run for the first time on that round's final system
    "validation · held out": ([_EVAL / "holdout.jsonl"], None),
    "validation · held out, round 4": ([_EVAL / "holdout2.jsonl"], None),
    "generated · tuning split": ([_EVAL / "generated.jsonl"], "tune"),
    "generated · validation split": ([_EVAL / "generated.jsonl"], "validation"),
    # the same generated questions asked in English (translated by a helper, tests/eval/README.md)
    "generated English · tuning split": ([_EVAL / "generated_en.jsonl"], "tune"),
    "generated English · validation split": ([_EVAL / "generated_en.jsonl"], "validation"),
}


def load_set(name: str) -> list[dict]:
    """The questions of one of :data:`EVAL_SETS` (its files, restricted to its split)."""
    files, split = EVAL_SETS[name]
    return [q for f in files for q in load_questions(f) if split is None or q.get("split") == split]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", canonical(text)).strip()


def load_questions(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: dòng JSON hỏng ({exc.msg})") from exc
    return rows


def citation_problems(answer: Answer, documents: dict[str, dict]) -> list[str]:
    """Why an answer's citations are not valid (empty list = valid)."""
    problems = []
    ids = {c.id for c in answer.citations}
    for n in map(int, re.findall(r"\[(\d+)\]", answer.answer)):
        if n not in ids:
            problems.append(f"[{n}] không ứng với nguồn nào")
    for c in answer.citations:
        doc = documents.get(c.source)
        if doc is None or doc["text"][c.start:c.end] != c.text:
            problems.append(f"nguồn [{c.id}] không trùng khớp văn bản {c.source}")
        for quote in c.quotes:
            if quote not in c.text:
                problems.append(f"câu trích của [{c.id}] không có trong đoạn nguồn")
    if not answer.abstained:
        passages = [c.text for c in answer.citations]
        by_id = {c.id: c.text for c in answer.citations}
        for line in answer.answer.split("\n"):
            if re.match(r"^(?:Bước \d+\. )?Theo .*:$", line.rstrip()):
                continue  # the lead-in names the document and section
            if line.startswith("Về «") and line.endswith(NOT_COVERED_SHORT):
                continue  # a part of a compound question said to be not covered: no claim
            if line.startswith("|"):  # a comparison table: every cited value is in its passage
                for value, n in re.findall(r"([^|;\[\]]+?)\s*\[(\d+)\]", line):
                    if value.strip() not in by_id.get(int(n), ""):
                        problems.append(f"giá trị «{value.strip()}» không có trong nguồn [{n}]")
                continue
            body = strip_markers(line)
            body = re.sub(r"^- ", "", body).strip()
            for sentence in filter(None, (s.strip() for s in re.split(r"(?<=[.!?…;])\s+", body))):
                if not any(sentence in p or sentence in strip_markers(p) for p in passages):
                    problems.append(f"câu không có trong nguồn trích: {sentence[:80]}")
        if not re.search(r"\[\d+\]", answer.answer):
            problems.append("câu trả lời không có trích dẫn")
    return problems


@dataclass
class Report:
    rows: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    def lines(self, failures: bool = True) -> list[str]:
        """The metrics, by group, then (``failures``) one line per question that failed —
        off for a validation half, whose questions a developer should not read."""
        m = self.metrics
        out = [
            f"câu hỏi: {m['questions']} (trả lời được: {m['answerable']}, không: {m['unanswerable']})",
            f"truy hồi: R@1 {m['recall@1']:.3f}  R@5 {m['recall@5']:.3f}  MRR {m['mrr']:.3f}",
            f"độ phủ dữ kiện trong câu trả lời: {m['fact_recall']:.3f}",
            f"trích dẫn hợp lệ: {m['citation_validity']:.3f}",
            f"từ chối đúng (câu không trả lời được): {m['abstention_accuracy']:.3f}",
            f"từ chối nhầm: {m['false_abstentions']} ({m['false_abstention_rate']:.3f})",
            f"độ trễ mỗi câu: p50 {m['latency_p50_ms']:.0f} ms, p95 {m['latency_p95_ms']:.0f} ms",
            f"độ dài câu trả lời (ký tự, câu được trả lời): p50 {m['answer_chars_p50']:.0f}, p90 {m['answer_chars_p90']:.0f}",
        ]
        for group, g in sorted(m["groups"].items()):
            out.append(f"  {group:14s} n={g['n']:2d}  R@5 {g['recall@5']:.2f}  dữ kiện {g['fact_recall']:.2f}  "
                       f"từ chối {g['abstained']}")
        failed = [row for row in self.rows if row["problems"]]
        if failures:
            out += [f"  ✗ {row['question'][:70]} — {'; '.join(row['problems'][:3])}" for row in failed]
        elif failed:
            out.append(f"  ({len(failed)} câu sai không in ra)")
        return out


def _is_expected(expected: dict, source: str, section: str) -> bool:
    return source == expected.get("source") and (
        not expected.get("section") or _norm(expected["section"]) in _norm(section))


def expected_rows(row: dict, chunks: list[dict]) -> list[int]:
    """The index rows of the passage a question expects (its document and section)."""
    expected = row.get("expected") or {}
    return [i for i, c in enumerate(chunks) if _is_expected(expected, c["source"], c["section"])]


def _rank(row: dict, answer: Answer) -> int | None:
    expected = row.get("expected") or {}
    for i, hit in enumerate(answer.retrieved, start=1):
        if _is_expected(expected, hit["source"], hit["section"]):
            return i
    return None


def evaluate(assistant: Assistant, questions: list[dict]) -> Report:
    documents = assistant.handle.documents()
    report = Report()
    for row in questions:
        answer = assistant.ask(row["question"], row.get("history"))
        rank = _rank(row, answer) if row.get("answerable") else None
        facts = row.get("facts") or []
        text = _norm(strip_markers(answer.answer))
        found = [f for f in facts if _norm(f) in text]
        problems = citation_problems(answer, documents)
        if row.get("answerable") and answer.abstained:
            problems.append("từ chối nhầm")
        if not row.get("answerable") and not answer.abstained:
            problems.append("lẽ ra phải từ chối")
        missing = [f for f in facts if f not in found]
        if missing and not answer.abstained:
            problems.append("thiếu: " + ", ".join(missing))
        report.rows.append({
            "question": row["question"], "group": row.get("group", ""), "answerable": bool(row.get("answerable")),
            "abstained": answer.abstained, "rank": rank, "facts": len(facts), "facts_found": len(found),
            "citations_valid": not [p for p in problems if p not in ("từ chối nhầm", "lẽ ra phải từ chối")
                                    and not p.startswith("thiếu")],
            "problems": problems, "latency_ms": answer.latency_ms.get("total", 0.0),
            "answer": answer.answer,
        })
    report.metrics = _metrics(report.rows)
    return report


def _metrics(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def recall(rs: list[dict], k: int) -> float:
        return sum(1 for r in rs if r["rank"] and r["rank"] <= k) / len(rs) if rs else 0.0

    def fact_recall(rs: list[dict]) -> float:
        total = sum(r["facts"] for r in rs)
        return sum(r["facts_found"] for r in rs) / total if total else 1.0

    latencies = sorted(r["latency_ms"] for r in rows)
    lengths = sorted(len(strip_markers(r["answer"])) for r in rows if not r["abstained"]) or [0]
    groups = {}
    for group in sorted({r["group"] for r in rows}):
        rs = [r for r in rows if r["group"] == group]
        ans = [r for r in rs if r["answerable"]]
        groups[group] = {"n": len(rs), "recall@5": recall(ans, 5) if ans else 0.0,
                         "fact_recall": fact_recall(ans), "abstained": sum(r["abstained"] for r in rs)}
    false_abstentions = sum(1 for r in answerable if r["abstained"])
    return {
        "questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "recall@1": recall(answerable, 1), "recall@5": recall(answerable, 5),
        "mrr": sum(1 / r["rank"] for r in answerable if r["rank"]) / len(answerable) if answerable else 0.0,
        "fact_recall": fact_recall(answerable),
        "citation_validity": sum(r["citations_valid"] for r in rows) / len(rows) if rows else 0.0,
        "abstention_accuracy": sum(r["abstained"] for r in unanswerable) / len(unanswerable) if unanswerable else 1.0,
        "false_abstentions": false_abstentions,
        "false_abstention_rate": false_abstentions / len(answerable) if answerable else 0.0,
        "latency_p50_ms": statistics.median(latencies) if latencies else 0.0,
        "latency_p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0,
        "answer_chars_p50": statistics.median(lengths),
        "answer_chars_p90": lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))],
        "groups": groups,
    }
