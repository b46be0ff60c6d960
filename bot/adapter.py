"""Stage 3 — the query adapter: where a question's vector should point, learnt from data.

multilingual-e5-small places an everyday, unaccented or English question ("how many
members do we need to set up a co-op?") far from the legal Vietnamese that answers it: the
passage is in the top 40 but not the top 5. A cross-encoder would fix the ranking but none
ships its weights in a package, and fine-tuning the model would mean re-embedding the
corpus and shipping 100 MB. Instead one linear map, fit on questions paired with the
passage that answers them, moves the *question's* vector before any search:
``q' = normalise(q + q·A)``. The passages' vectors (chunks and pieces, in the index) are
untouched, so a query still costs one model call and nothing is re-embedded.

``A`` (384×384) is fit by ``benchmarks/fit_adapter.py`` on the training questions in
``tests/eval/training.jsonl`` (written by helpers from the documents alone, in Vietnamese,
unaccented, terse and English) with a contrastive loss over the index's chunk and piece
vectors, an L2 pull towards the identity, and a term that keeps off-topic questions where
they were (so the gate's background comparison still reads them). It is measured on
questions it never saw. It belongs to one embedding model: with any other, or with
``BOT_QUERY_ADAPTER=0``, vectors pass unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ADAPTER_FILE = Path(__file__).with_name("adapter.npz")


@dataclass(frozen=True)
class QueryAdapter:
    """``q' = normalise(q @ matrix)`` with ``matrix = I + A``."""

    matrix: np.ndarray  # (dim, dim) float32
    model: str  # the embedding model it was fit for (bot.config embedding_model)
    info: dict

    def __call__(self, vector) -> list[float]:
        v = np.asarray(vector, dtype=np.float32) @ self.matrix
        norm = float(np.linalg.norm(v))
        return (v / norm if norm else v).tolist()


@lru_cache(maxsize=4)
def _read(path: Path) -> QueryAdapter | None:
    if not path.exists():
        return None
    with np.load(path) as data:
        delta = data["delta"].astype(np.float32)
        info = json.loads(str(data["info"]))
    return QueryAdapter(np.eye(delta.shape[0], dtype=np.float32) + delta, info["model"], info)


def load_adapter(model: str, dimension: int, enabled: bool = True, path: Path = ADAPTER_FILE) -> QueryAdapter | None:
    """The adapter fit for ``model`` (the configured embedding model's name), or None when
    switched off, never fit, or fit for another model or dimension."""
    if not enabled:
        return None
    adapter = _read(path)
    if adapter is None or adapter.model != model or adapter.matrix.shape[0] != dimension:
        return None
    return adapter


def save_adapter(delta: np.ndarray, model: str, info: dict, path: Path = ADAPTER_FILE) -> None:
    """Store ``A`` (float16: 290 KB, cosines change < 1e-3) with what it was fit on."""
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, delta=delta.astype(np.float16), info=json.dumps({**info, "model": model}, ensure_ascii=False))
    tmp.replace(path)
    _read.cache_clear()
