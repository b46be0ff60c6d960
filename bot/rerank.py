"""Stage 4b — rerank: the retrieved passages ordered by the sentence that answers best.

Hybrid retrieval ranks whole chunks; a citizen's question is usually answered by one
clause of a long article, worded differently from it. Every sentence and list item of
every chunk was embedded at index time (``pieces.npz``, bot/index.py), so reranking the
~40 retrieved chunks costs one matrix product with the question's vector — no model call
beyond the question's own. A passage scores its best piece's cosine plus a small share
of its BM25 strength (exact names, numbers, codes); the same per-piece cosines then pick
the sentences an answer quotes.

The one weight below was chosen on the tuning half of the hand-written questions
(answer fact recall over a small grid, benchmarks/bench_rerank.py) and is reported on
the validation half, which played no part in choosing it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import PieceVectors
from .retrieval import Hit

LEXICAL_WEIGHT = 0.1  # BM25 share: chosen on the tuning half (bench_rerank.py)
CANDIDATES = 40  # chunks reranked: the answer is in the top 40 for every question measured
TOP = 6  # the top of the fused ranking whose lexical coverage the gate reads


@dataclass
class Passage:
    """A retrieved chunk with the evidence the composer and the gate use."""

    row: int
    rank: int  # position in the fused retrieval ranking
    score: float  # best piece cosine + LEXICAL_WEIGHT × relative BM25
    sims: np.ndarray  # cosine of each piece (bot.chunking.pieces order) to the question
    hit: Hit

    @property
    def best(self) -> float:
        return float(self.sims.max()) if len(self.sims) else 0.0


def rerank(hits: list[Hit], query_vector, vectors: PieceVectors) -> list[Passage]:
    """``hits`` reordered by their best piece; chunks without pieces (a bare heading) drop out."""
    if not hits:
        return []
    q = np.asarray(query_vector, dtype=np.float32)
    strongest = max(h.lexical for h in hits) or 1.0
    out = []
    for rank, hit in enumerate(hits):
        sims = np.asarray(vectors.vectors[vectors.of(hit.row)], dtype=np.float32) @ q
        if not len(sims):
            continue
        out.append(Passage(hit.row, rank, float(sims.max()) + LEXICAL_WEIGHT * hit.lexical / strongest, sims, hit))
    out.sort(key=lambda p: -p.score)
    return out


@dataclass
class Retrieved:
    """What the retrieval stages found for one question."""

    vector: list[float]  # the question's embedding (computed once)
    candidates: list[Hit]  # fused hybrid ranking, CANDIDATES long
    passages: list[Passage]  # the candidates reranked by their best piece
    dense: list[float]  # cosines of the dense candidates, best first (the gate's evidence)
    ms: float = 0.0

    @property
    def hits(self) -> list[Hit]:
        """The top of the fused ranking (the gate's lexical evidence reads these)."""
        return self.candidates[:TOP]
