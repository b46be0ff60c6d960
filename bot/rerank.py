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

import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .chunking import SEPARATOR
from .corpus import syllables
from .index import PieceVectors
from .retrieval import Hit

LEXICAL_WEIGHT = 0.1  # BM25 share: chosen on the tuning half (bench_rerank.py)
HEADING_WEIGHT = 0.05  # bonus when the question names the passage's own heading (bench_rerank.py)
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


def heading_words(chunk: dict) -> tuple[frozenset[str], ...]:
    """The folded syllables of the chunk's last two headings that are names, not sentences
    ("2. Phòng Tài chính – Kế hoạch", "Điều 30. Điều kiện trở thành thành viên…" → without
    their numbering; a clause whose label is its cut first sentence is not a heading)."""
    return _heading_words(chunk.get("section", ""))


@lru_cache(maxsize=8192)
def _heading_words(section: str) -> tuple[frozenset[str], ...]:
    out = []
    for label in section.split(SEPARATOR)[-2:]:
        if label.endswith("…"):
            continue
        words = syllables(re.sub(r"^(?:Điều\s+\d+[a-z]?\.|[IVXLC]+\.|\d+(?:\.\d+)*\.|[a-zđ]\))\s*", "", label))
        if 2 <= len(words) <= 12:
            out.append(frozenset(words))
    return tuple(out)


def names_heading(question_words: set[str], chunk: dict) -> int:
    """How many words of the chunk's heading the question names, every word of it (the
    longest such heading; 0 when none)."""
    return max((len(words) for words in heading_words(chunk) if words <= question_words), default=0)


def rerank(hits: list[Hit], query_vector, vectors: PieceVectors, named: Container[int] | None = None) -> list[Passage]:
    """``hits`` reordered by their best piece; chunks without pieces (a bare heading) drop
    out; ``named``: rows whose heading the question names (:func:`names_heading`)."""
    if not hits:
        return []
    q = np.asarray(query_vector, dtype=np.float32)
    strongest = max(h.lexical for h in hits) or 1.0
    out = []
    for rank, hit in enumerate(hits):
        sims = vectors.dense[vectors.of(hit.row)] @ q
        if not len(sims):
            continue
        score = float(sims.max()) + LEXICAL_WEIGHT * hit.lexical / strongest
        if named and hit.row in named:
            score += HEADING_WEIGHT
        out.append(Passage(hit.row, rank, score, sims, hit))
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
    named: dict[int, int] = field(default_factory=dict)  # row → words of its heading the question names in full

    @property
    def hits(self) -> list[Hit]:
        """The top of the fused ranking (the gate's lexical evidence reads these)."""
        return self.candidates[:TOP]
