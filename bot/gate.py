"""Stage 5a — the evidence gate: answer or say "not covered", decided by a model fit on data.

A single coverage threshold tuned on a few dozen questions cannot tell "đăng ký kết hôn"
(off-topic, shares "đăng ký") from "nộp hồ sơ lập htx ở đâu" (answerable, shares little
wording with the law). The gate instead combines several kinds of evidence that a
passage answers the question — dense similarity (paraphrase, English, no diacritics),
its margin over the rest, lexical coverage of the distinctive terms (exact names), the
BM25 strength — in a logistic regression fit by ``benchmarks/fit_gate.py`` on generated
answerable questions (from the corpus structure), off-topic ones (article titles of 46
other legal topics), the training questions helpers wrote the way people ask (their
evidence read through an adapter fit without them) and questions helpers wrote the same
way that must be refused (other areas of law and life, near-misses), tuned on one half
and reported on the other. The coefficients and the operating point live in
``bot/gate.json``; nothing here is tuned by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .corpus import syllables
from .vietnamese import has_diacritics

GATE_FILE = Path(__file__).with_name("gate.json")
# Share of the question's distinctive terms (IDF-weighted) a passage must contain: the
# gate when bot/gate.json is absent, and the bar for a briefing's passages.
COVERAGE_THRESHOLD = 0.55
# Article titles of legal topics unrelated to the shipped corpus (benchmarks/make_devset.py):
# the gate's picture of "law in general". A question closer to it than to the loaded
# documents is about something else — and documents added later move their own questions
# to the documents' side, so the gate follows the corpus instead of a fixed domain.
BACKGROUND_FILE = Path(__file__).with_name("background.txt")
# Word counts of the full text of the same background topics (benchmarks/make_devset.py):
# "kết hôn", "ma túy", "tạm trú" are frequent there and absent from the cooperative
# documents; "hợp tác xã" the reverse; "chế độ báo cáo" is in both.
BACKGROUND_WORDS_FILE = Path(__file__).with_name("background_words.tsv.gz")
FEATURES = ("english", "background_margin", "dense_top", "dense_margin", "coverage", "key_coverage", "lexical_top", "terms",
            "unaccented", "domain_mean", "domain_min", "piece_top", "piece_margin",
            "heading_named")
# What the fitted gate uses (benchmarks/fit_gate.py). Lexical coverage and BM25 strength
# fit the generated questions better — they copy article titles word for word — and
# refused two to three times more of the everyday-worded hand-written ones, so they are
# out. Whether the question is English is a feature: the multilingual model puts English
# questions closer to every Vietnamese text alike, so their evidence reads on another scale.
# The word evidence (domain_mean, domain_min) is a log-likelihood ratio of the question's
# syllables and syllable pairs between the loaded documents and the background's full text;
# the piece evidence (piece_top, piece_margin) the reranked passages' best sentence — finer
# than a whole chunk's cosine, which it replaced (dense_top): on the tuning questions, 15 %
# → 10 % of answerable Vietnamese questions refused at the same 2 % of off-topic answered.
# heading_named: the question names one of the best passages' headings word for word
# ("Chính sách thuế, phí và lệ phí …" → Điều 22): 9 % → 4 % refused on the tuning
# questions, the hand-written ones unchanged (the same one of 145 refused).
USED = ("english", "background_margin", "domain_mean", "domain_min", "piece_top", "piece_margin", "heading_named")


@dataclass
class GateModel:
    weights: dict[str, float]
    bias: float
    mean: dict[str, float]
    scale: dict[str, float]
    threshold: float
    threshold_english: float | None = None  # its own operating point (benchmarks/fit_gate.py)

    def threshold_for(self, english: bool) -> float:
        return self.threshold_english if english and self.threshold_english is not None else self.threshold

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(self.weights[f] * (features[f] - self.mean[f]) / (self.scale[f] or 1.0) for f in self.weights)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def load_gate(path: Path = GATE_FILE) -> GateModel | None:
    """The fitted gate, or None when it was never fit (the coverage rule then decides)."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return GateModel(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"],
                     data.get("threshold_english"))


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


class DomainWords:
    """How much more likely each of a question's words is in the loaded documents than in
    law in general: ``log P_docs(w) / P_background(w)``, each side a word's relative
    frequency interpolated with the pooled one (a word neither side has scores 0). The
    documents' side is counted from the index, so documents added later bring their words."""

    SHARE = 0.9  # weight of a side's own frequency against the pooled one

    def __init__(self, corpus_counts: Counter, background_counts: Counter):
        self.sides = (corpus_counts, background_counts)
        self.totals = {pair: tuple(sum(v for k, v in c.items() if (" " in k) == pair) or 1 for c in self.sides)
                       for pair in (False, True)}

    def ratio(self, word: str) -> float:
        pair = " " in word
        counts = [c.get(word, 0) for c in self.sides]
        totals = self.totals[pair]
        pooled = (sum(counts) + 0.5) / sum(totals)
        docs, background = ((self.SHARE * n / t + (1 - self.SHARE) * pooled) for n, t in zip(counts, totals))
        return math.log(docs / background)

    def evidence(self, question: str) -> tuple[float, float]:
        """(mean, minimum) ratio over the question's syllables and syllable pairs."""
        tokens = syllables(question)
        ratios = [self.ratio(w) for w in tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]]
        return (sum(ratios) / len(ratios), min(ratios)) if ratios else (0.0, 0.0)


def read_background_words(path: Path = BACKGROUND_WORDS_FILE) -> Counter:
    counts: Counter = Counter()
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                word, _, n = line.rstrip("\n").rpartition("\t")
                counts[word] = int(n)
    return counts


def features(scored: list[tuple[float, object]], key_rows: set[int], terms: list[str], unaccented: bool,
             background_top: float, dense: list[float], english: bool = False,
             domain: tuple[float, float] = (0.0, 0.0), pieces: list[float] | None = None,
             heading_named: int = 0) -> dict[str, float]:
    """The evidence for one question: ``scored`` is (coverage, hit) for the retrieved
    passages in rank order; ``key_rows`` the rows holding the question's most distinctive
    word; ``background_top`` its best cosine against the background titles; ``dense``
    the cosines of the dense candidates, best first."""
    top = dense[0] if dense else 0.0
    rest = dense[1:6]
    return {
        "english": 1.0 if english else 0.0,
        "background_margin": top - background_top,
        "dense_top": top,
        "dense_margin": top - (sum(rest) / len(rest) if rest else top),
        "coverage": max((c for c, _ in scored), default=0.0),
        "key_coverage": max((c for c, h in scored if h.row in key_rows), default=0.0),
        "lexical_top": math.log1p(max((h.lexical for _, h in scored), default=0.0)),
        "terms": math.log1p(len(terms)),
        "unaccented": 1.0 if unaccented else 0.0,
        # English words are in neither side's counts: the word evidence is for Vietnamese
        "domain_mean": 0.0 if english else domain[0],
        "domain_min": 0.0 if english else domain[1],
        # the best sentence or item of the reranked passages, and its lead over the fifth
        "piece_top": pieces[0] if pieces else top,
        "piece_margin": pieces[0] - pieces[min(4, len(pieces) - 1)] if pieces else 0.0,
        # the question names, word for word, the heading of one of the best passages
        "heading_named": math.log1p(heading_named),
    }


# ------------------------------------------------------------ the decision ----

@dataclass
class Decision:
    """Answer, or why not: ``reason`` is None to answer, else the kind of refusal."""

    reason: str | None
    features: dict[str, float]
    probability: float | None
    best_coverage: float
    scored: list  # (coverage, hit) for the top retrieved chunks


def decide(query, found, corpus, background) -> Decision:
    """The gate for one question (``query``: bot.understand.Query, ``found``:
    bot.rerank.Retrieved, ``corpus``: bot.corpus.Corpus, ``background``: the vectors of
    :func:`background_vectors`). What the question names is checked first — a place, a
    law or an article the documents do not hold is refused by name, a direct reference,
    a directory lookup or a targets table answers — and only then the fitted model."""
    import numpy as np

    from .targets import markdown_table

    hits = found.hits
    terms = query.terms
    scored = [(corpus.coverage(terms, h.row), h) for h in hits]
    best = max((c for c, _ in scored), default=0.0)
    # the question's most distinctive word must itself be in a passage that passes:
    # "đăng ký kết hôn" shares "đăng ký" with the Law, but not "hôn"
    words = [t for t in terms if "_" not in t]
    key = max(words, key=corpus.terms.weight) if words else None
    key_rows = {h.row for h in hits if key and key in corpus.tokens(h.row)}
    background_top = float((background @ np.asarray(found.vector, dtype=np.float32)).max()) if len(background) else 0.0
    evidence = features(scored, key_rows, terms, not has_diacritics(query.standalone), background_top, found.dense,
                        query.english, corpus.domain_words.evidence(query.standalone),
                        sorted((p.best for p in found.passages), reverse=True),
                        max((found.named.get(p.row, 0) for p in found.passages[:3]), default=0))
    model = load_gate()
    if model is not None:  # fit on data (bot/gate.json, benchmarks/fit_gate.py)
        probability = model.probability(evidence)
        covered = probability >= model.threshold_for(query.english)
    else:  # the coverage rule: distinctive terms, and the most distinctive one, in a passage
        probability = None
        covered = best >= COVERAGE_THRESHOLD and (
            not key or any(c >= COVERAGE_THRESHOLD and h.row in key_rows for c, h in scored))
    reason = None
    if query.chitchat:
        reason = "chitchat"
    elif query.uncovered:
        reason = "place"
    elif len(query.resolved) == 1:
        reason = None  # "khoản 3 Điều 17 …": answered from that unit
    elif len(query.resolved) > 1:
        reason = "which_instrument"
    elif query.reference is not None and query.ref_named:
        reason = "no_such_article"
    elif query.unknown:
        reason = "instrument"
    elif query.compare and markdown_table(corpus.targets, query.compare[0], query.filtered and query.sources or None,
                                          query.compare[1] or None)[0]:
        reason = None  # the targets table answers it
    elif query.duties:
        reason = None  # the directory holds this agency's assignments
    elif query.unassigned:
        reason = "unassigned"
    elif query.asks_signer:
        reason = None if len(query.sources or []) == 1 else "coverage"
    elif not hits or not covered:
        reason = "coverage"
    return Decision(reason, evidence, probability, best, scored)
