"""Fit the evidence gate (bot/gate.py) on data and report it on questions it never saw.

Fit on: the tuning half of the generated set (tests/eval/generated.jsonl, from
benchmarks/make_devset.py; the same questions in English, tests/eval/generated_en.jsonl),
the tuning half of the hand-written questions, the 3,000-odd training questions
(tests/eval/training.jsonl: how real people word answerable questions; the templated
questions alone taught the gate to refuse everyday wording) and, so that wording does
not stand in for the answer, questions helpers wrote the same way that must be refused
(tests/eval/training_refused.jsonl: other areas of law and life, and near-misses the
documents do not answer — the latter shape the weights but not the operating point).
The query adapter was fit on those training questions, so their evidence would look
better than a new question's: each half's features are read with an adapter fit on the
other half only (cross-fitting).
Reported on: the validation half of the generated set and the independent set written
without seeing the code (tests/eval/phapdien.jsonl).

    python benchmarks/fit_gate.py [--write]

prints the trade-off curve (threshold → answerable questions refused, off-topic questions
answered) and, with --write, stores the model and the chosen operating point in
bot/gate.json. The operating point, one per language, is the highest-recall threshold that
still refuses ≥ 98 % of the off-topic tuning questions in that language.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Assistant  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.evaluation import load_questions, load_set  # noqa: E402
from bot.gate import FEATURES, GATE_FILE, USED  # noqa: E402

EVAL = ROOT / "tests" / "eval"
OFF_TOPIC_REFUSED = 0.98


def _rows(assistant: Assistant, questions: list[dict], features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    x, y = [], []
    for q in questions:
        evidence = assistant.evidence(q["question"], q.get("history"))
        if evidence["abstain"] not in (None, "coverage"):
            continue  # decided before the gate (a place, a named law, chit-chat, a reference)
        x.append([evidence["features"][f] for f in features])
        y.append(1 if q.get("answerable") else 0)
    return np.array(x, dtype=float), np.array(y, dtype=int)


def _training_rows(assistant: Assistant, features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Gate features of the training questions, each half read through an adapter fit on
    the other half (fit_adapter.py's loss and L2 weight), so they stand for unseen questions."""
    from fit_adapter import Space, fit

    from bot.adapter import QueryAdapter

    shipped = assistant.adapter
    training = load_questions(EVAL / "training.jsonl")
    if shipped is None:  # another model: no adapter to cross-fit, the features are honest as they are
        return _rows(assistant, training, features)
    half = np.random.default_rng(0).random(len(training)) < 0.5
    space = Space(assistant)
    off = [q for name in ("generated · tuning split", "generated English · tuning split") for q in load_set(name)
           if not q.get("answerable")]
    off_topic, _ = space.vectors(off)
    xs, ys = [], []
    for side in (False, True):
        x, golds = space.vectors([q for q, h in zip(training, half) if h != side])
        delta = fit(space, x, golds, off_topic, float(shipped.info.get("lam", 0.03)))
        assistant.adapter = QueryAdapter(np.eye(len(delta), dtype=np.float32) + delta, shipped.model, {})
        assistant._vectors.clear()
        x_half, y_half = _rows(assistant, [q for q, h in zip(training, half) if h == side], features)
        xs.append(x_half)
        ys.append(y_half)
    assistant.adapter = shipped
    assistant._vectors.clear()
    return np.concatenate(xs), np.concatenate(ys)


def _rates(p: np.ndarray, y: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of answerable refused, share of off-topic answered)."""
    answered = p >= threshold
    refused = float(np.mean(~answered[y == 1])) if (y == 1).any() else 0.0
    leaked = float(np.mean(answered[y == 0])) if (y == 0).any() else 0.0
    return refused, leaked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="store the fitted gate in bot/gate.json")
    parser.add_argument("--features", default=",".join(USED), help="comma-separated subset of " + ",".join(FEATURES))
    args = parser.parse_args()
    features = tuple(args.features.split(","))
    from sklearn.linear_model import LogisticRegression

    if GATE_FILE.exists() and not args.write:
        print(f"(features do not depend on {GATE_FILE.name}; fitting anew)")
    assistant = Assistant(get_settings())
    tune = load_set("generated · tuning split") + load_set("generated English · tuning split") + load_set("tuning (hand-written)")
    valid_generated = load_set("generated · validation split") + load_set("generated English · validation split")
    independent = load_questions(EVAL / "phapdien.jsonl")  # the 45 Pháp điển questions the README quotes
    started = time.perf_counter()
    x_tune, y_tune = _rows(assistant, tune, features)
    x_train, y_train = _training_rows(assistant, features)
    refusals = load_questions(EVAL / "training_refused.jsonl")
    x_off, y_off = _rows(assistant, [q for q in refusals if "near_miss" not in q.get("tags", [])], features)
    x_near, y_near = _rows(assistant, [q for q in refusals if "near_miss" in q.get("tags", [])], features)
    # the operating point reads every tuning question but the near-misses: they shape the
    # weights, but "≤ 2 % answered" is a promise about off-topic questions
    x_tune, y_tune = np.concatenate([x_tune, x_train, x_off]), np.concatenate([y_tune, y_train, y_off])
    x_val, y_val = _rows(assistant, valid_generated, features)
    x_ind, y_ind = _rows(assistant, independent, features)
    print(f"features for {len(y_tune) + len(y_val) + len(y_ind)} questions in {time.perf_counter() - started:.0f} s")

    x_fit, y_fit = np.concatenate([x_tune, x_near]), np.concatenate([y_tune, y_near])
    mean, scale = x_fit.mean(axis=0), x_fit.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x_fit - mean) / scale, y_fit)

    def prob(x: np.ndarray) -> np.ndarray:
        return model.predict_proba((x - mean) / scale)[:, 1]

    p_tune, p_val, p_ind = prob(x_tune), prob(x_val), prob(x_ind)
    # one operating point per language: English questions read on another scale, and a
    # single threshold would trade Vietnamese refusals for English ones
    lang = features.index("english") if "english" in features else None

    def split(x: np.ndarray, p: np.ndarray, y: np.ndarray, english: bool) -> tuple[np.ndarray, np.ndarray]:
        if lang is None:  # a gate without the language feature: everything is "Vietnamese"
            return (p[:0], y[:0]) if english else (p, y)
        mask = (x[:, lang] == 1.0) if english else (x[:, lang] != 1.0)
        return p[mask], y[mask]

    fine = np.round(np.arange(0.01, 1.0, 0.01), 2)
    thresholds = {}
    for english in (False, True):
        p, y = split(x_tune, p_tune, y_tune, english)
        ok = [t for t in fine if len(y) and _rates(p, y, t)[1] <= 1 - OFF_TOPIC_REFUSED]
        thresholds[english] = float(min(ok)) if ok else thresholds.get(False, 0.5)
    grid = sorted(set(np.round(np.arange(0.05, 0.96, 0.05), 2)) | set(thresholds.values()))
    print("\nthreshold | Vietnamese — tuning: answerable refused, off-topic answered | validation (generated) "
          "| English — tuning | validation | independent (Vietnamese): refused")
    for t in grid:
        cols = []
        for english in (False, True):
            for x, p, y in ((x_tune, p_tune, y_tune), (x_val, p_val, y_val)):
                cols.append("{:.3f} {:.3f}".format(*_rates(*split(x, p, y, english), t)))
        e, _ = _rates(*split(x_ind, p_ind, y_ind, False), t)
        mark = "".join(f"  ← {'English' if en else 'Vietnamese'}" for en, th in thresholds.items() if abs(t - th) < 1e-9)
        print(f"  {t:.2f}  | {cols[0]} | {cols[1]} | {cols[2]} | {cols[3]} | {e:.3f}{mark}")
    print("\nweights (standardised):", {f: round(float(w), 3) for f, w in zip(features, model.coef_[0])})
    threshold = thresholds[False]
    a, b = _rates(*split(x_val, p_val, y_val, False), threshold)
    e, _ = _rates(*split(x_ind, p_ind, y_ind, False), threshold)
    print(f"operating points {thresholds[False]:.2f} (Vietnamese), {thresholds[True]:.2f} (English): Vietnamese validation — "
          f"answerable refused {a:.3f}, off-topic answered {b:.3f}; independent — answerable refused {e:.3f}")
    if args.write:
        data = {
            "features": list(features),
            "weights": {f: float(w) for f, w in zip(features, model.coef_[0])},
            "bias": float(model.intercept_[0]),
            "mean": {f: float(m) for f, m in zip(features, mean)},
            "scale": {f: float(s) for f, s in zip(features, scale)},
            "threshold": threshold,
            "threshold_english": thresholds[True],
            "fitted_on": {"tuning questions": int(len(y_fit)), "refused among them": int((y_fit == 0).sum()),
                          "training questions (cross-fit)": int(len(y_train)),
                          "training off-topic": int(len(y_off)), "training near-misses": int(len(y_near))},
            "validation": {"answerable_refused": a, "off_topic_answered": b, "independent_refused": e},
        }
        GATE_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"written {GATE_FILE}")


if __name__ == "__main__":
    main()
