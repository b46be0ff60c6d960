"""Answer latency benchmark: prints warm per-question p50/p95 for the query embedding
alone (the floor), hybrid retrieval, and the whole extractive answer.

    python benchmarks/bench_answer.py [--rounds 3]

Runs every question of tests/eval/questions.jsonl ``--rounds`` times on the built index
(building it first if missing), after one warm-up pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Assistant  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.evaluation import load_questions  # noqa: E402
from bot.index import ensure_index  # noqa: E402
from bot.retrieval import hybrid_search  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    assistant = Assistant(settings, ensure_index(settings))
    questions = [q for q in load_questions(ROOT / "tests" / "eval" / "questions.jsonl") if not q.get("history")]
    texts = [q["question"] for q in questions]
    for text in texts:  # warm-up
        assistant.ask(text)
    timings: dict[str, list[float]] = {"embed": [], "retrieve": [], "answer": []}
    for _ in range(args.rounds):
        for text in texts:
            t = time.perf_counter()
            assistant.embeddings.embed_query(text)
            timings["embed"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            hybrid_search(assistant.handle, assistant.embeddings, text)
            timings["retrieve"].append((time.perf_counter() - t) * 1000)
            assistant._vectors.clear()  # the answer must embed the question itself, as a new one would
            t = time.perf_counter()
            assistant.ask(text)
            timings["answer"].append((time.perf_counter() - t) * 1000)
    print(f"{len(texts)} questions × {args.rounds} rounds, warm, CPU")
    labels = {"embed": "query embedding alone (floor)", "retrieve": "hybrid retrieval", "answer": "whole answer"}
    for key, label in labels.items():
        v = timings[key]
        print(f"{label:32s} p50 {statistics.median(v):6.1f} ms   p95 {pct(v, 0.95):6.1f} ms")
    print(f"answer / embedding (p50): {statistics.median(timings['answer']) / statistics.median(timings['embed']):.1f}×")


if __name__ == "__main__":
    main()
