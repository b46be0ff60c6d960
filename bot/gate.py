"""Stage 5a — the evidence gate: answer or say "not covered", decided by a model fit on data.

A single coverage threshold tuned on a few dozen questions cannot tell "đăng ký kết hôn"
(off-topic, shares "đăng ký") from "nộp hồ sơ lập htx ở đâu" (answerable, shares little
wording with the law). The gate instead combines several kinds of evidence that a
passage answers the question — dense similarity (paraphrase, English, no diacritics),
its margin over the rest, lexical coverage of the distinctive terms (exact names), the
BM25 strength — in a logistic regression fit by ``benchmarks/fit_gate.py`` on generated
answerable questions (from the corpus structure) and off-topic ones (article titles of 46
other legal topics), tuned on one half and reported on the other. The coefficients and
the operating point live in ``bot/gate.json``; nothing here is tuned by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GATE_FILE = Path(__file__).with_name("gate.json")
# Article titles of legal topics unrelated to the shipped corpus (benchmarks/make_devset.py):
# the gate's picture of "law in general". A question closer to it than to the loaded
# documents is about something else — and documents added later move their own questions
# to the documents' side, so the gate follows the corpus instead of a fixed domain.
BACKGROUND_FILE = Path(__file__).with_name("background.txt")
FEATURES = ("background_margin", "dense_top", "dense_margin", "coverage", "key_coverage", "lexical_top", "terms",
            "unaccented")
# What the fitted gate uses. Measured with benchmarks/fit_gate.py: adding the lexical
# features (coverage, BM25, question length) or the dense margin fits the generated
# questions better — they copy article titles word for word — and refuses two to three
# times more of the independent, everyday-worded questions. The two dense features hold.
USED = ("background_margin", "dense_top")


@dataclass
class GateModel:
    weights: dict[str, float]
    bias: float
    mean: dict[str, float]
    scale: dict[str, float]
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.weights[f] * (features[f] - self.mean[f]) / (self.scale[f] or 1.0) for f in self.weights)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def load_gate(path: Path = GATE_FILE) -> GateModel | None:
    """The fitted gate, or None when it was never fit (the coverage rule then decides)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return GateModel(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"])


def background_vectors(embeddings, cache_dir: Path):
    """Passage vectors of the background titles, computed once per model and cached
    beside the converted model (a rebuild of the index does not redo them)."""
    import numpy as np

    text = BACKGROUND_FILE.read_text(encoding="utf-8")
    titles = [t for t in text.split("\n") if t.strip()]
    digest = hashlib.sha256((getattr(embeddings, "name", "") + "\n" + text).encode()).hexdigest()[:16]
    path = cache_dir / f"background-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.asarray(embeddings.embed_documents(titles), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def features(scored: list[tuple[float, object]], key_rows: set[int], terms: list[str], unaccented: bool,
             background_top: float, dense: list[float]) -> dict[str, float]:
    """The evidence for one question: ``scored`` is (coverage, hit) for the retrieved
    passages in rank order; ``key_rows`` the rows holding the question's most distinctive
    word; ``background_top`` its best cosine against the background titles; ``dense``
    the cosines of the dense candidates, best first."""
    top = dense[0] if dense else 0.0
    rest = dense[1:6]
    return {
        "background_margin": top - background_top,
        "dense_top": top,
        "dense_margin": top - (sum(rest) / len(rest) if rest else top),
        "coverage": max((c for c, _ in scored), default=0.0),
        "key_coverage": max((c for c, h in scored if h.row in key_rows), default=0.0),
        "lexical_top": math.log1p(max((h.lexical for _, h in scored), default=0.0)),
        "terms": math.log1p(len(terms)),
        "unaccented": 1.0 if unaccented else 0.0,
    }
