"""Choose the reranker's and the composer's few numbers on the tuning half, report the other.

    python benchmarks/bench_rerank.py [--tuning-only]

For every setting on a small grid — the BM25 share of a passage's score
(bot/rerank.py ``LEXICAL_WEIGHT``), how close to the best a passage must score to be
quoted too (``PASSAGE_MARGIN``) and how many (``PASSAGES_MAX``), how close to a passage's
best sentence another must be (``PIECE_MARGIN``) — it answers every hand-written
question and prints answer fact recall and R@1 on the tuning half (questions.jsonl) and
on the validation half (the independent sets). The setting with the best tuning fact
recall is marked; the validation column is what to quote, not what to choose by.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import compose, rerank  # noqa: E402
from bot.answer import Assistant  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.evaluation import evaluate, load_set  # noqa: E402

# (a first, finer sweep on the tuning half alone found PIECE_MARGIN 0.04 ≥ 0.02, 0.06, 0.08)
GRID = {
    "LEXICAL_WEIGHT": [0.1],
    "HEADING_WEIGHT": [0.05, 0.1],
    "PASSAGE_MARGIN": [0.05, 0.07],
    "PASSAGES_MAX": [3, 4],
    "PIECE_MARGIN": [0.04, 0.06],
}
RERANK = ("LEXICAL_WEIGHT", "HEADING_WEIGHT")
COMPOSE = ("PASSAGE_MARGIN", "PASSAGES_MAX", "PIECE_MARGIN")


def main() -> None:
    shipped = {**{n: getattr(rerank, n) for n in RERANK}, **{n: getattr(compose, n) for n in COMPOSE}}
    assistant = Assistant(get_settings())
    halves = {"tuning": load_set("tuning (hand-written)")}
    if "--tuning-only" not in sys.argv:  # while developing: not even seen
        halves["validation"] = load_set("validation (independent)")
    results = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        for name in RERANK:
            setattr(rerank, name, setting[name])
        for name in COMPOSE:
            setattr(compose, name, setting[name])
        row = {}
        for half, questions in halves.items():
            metrics = evaluate(assistant, questions).metrics
            row[half] = (metrics["fact_recall"], metrics["recall@1"])
        results.append((setting, row))
        print(" ".join(f"{k}={v}" for k, v in setting.items()),
              " | ".join(f"{h}: dữ kiện {f:.3f} R@1 {r:.3f}" for h, (f, r) in row.items()), flush=True)
    top = max(r[1]["tuning"] for r in results)
    best = [r for r in results if r[1]["tuning"] == top]
    print(f"\nbest on the tuning half (fact recall {top[0]:.3f}, R@1 {top[1]:.3f}): {len(best)} setting(s)")
    for setting, row in best:
        mark = "  ← shipped" if setting == shipped else ""
        seen = f"validation fact recall {row['validation'][0]:.3f}" if "validation" in row else ""
        print("  " + " ".join(f"{k}={v}" for k, v in setting.items()), seen + mark)
    if not any(setting == shipped for setting, _ in best):
        print("the shipped setting is not among them:", shipped)


if __name__ == "__main__":
    main()
