"""The published index as the answer stages read it.

Chunks and their token sets (the IDF behind coverage), each document's record (text,
articles), where each document applies, the duties directory, the targets, and the
accent restorer fit on the documents' own words. What is costly was derived when the
version was built (bot/index.py) and is read on first use. Stages receive this object;
none of them reads the index folder itself.
"""

from __future__ import annotations

import json
import pickle
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .index import IndexHandle
from .questions import TermStats, places_in, question_texts
from .vietnamese import AccentRestorer, canonical, fold, lexical_tokens

_EXTRA_KEYS = ("article", "pd_code", "effective", "status", "instrument")
_NORMATIVE_KINDS = ("luật", "bộ luật", "nghị định", "thông tư")


class Records(Mapping):
    """Each document's record (text, pages, articles), read from ``documents.jsonl`` the
    first time it is needed: start-up does not parse every document's text."""

    def __init__(self, version: Path, sources: list[str]):
        self.path = version / "documents.jsonl"
        offsets = version / "documents.offsets.json"
        self.offsets = json.loads(offsets.read_text(encoding="utf-8")) if offsets.exists() else None
        self.sources = sources
        self.loaded: dict[str, dict] = {}
        self.lock = threading.Lock()

    def __getitem__(self, source: str) -> dict:
        if source not in self.loaded:
            with self.lock:
                if self.offsets is None:  # a version written before offsets were kept
                    with self.path.open(encoding="utf-8") as f:
                        self.loaded.update((row["source"], row) for row in map(json.loads, f))
                elif source in self.offsets:
                    start, length = self.offsets[source]
                    with self.path.open("rb") as f:
                        f.seek(start)
                        self.loaded[source] = json.loads(f.read(length))
        if source not in self.loaded:
            raise KeyError(source)
        return self.loaded[source]

    def __iter__(self) -> Iterator[str]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)


def syllables(text: str) -> list[str]:
    """Lower-case accent-folded syllables (and numbers) of a text."""
    return re.findall(r"[a-z0-9]+", fold(canonical(text)).lower())


def syllable_counts(text: str) -> Counter:
    """Counts of the syllables and adjacent syllable pairs ("hop tac") of a text."""
    tokens = syllables(text)
    counts = Counter(tokens)
    counts.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    return counts


@dataclass
class Corpus:
    """Cheap fields are read at start; the rest are derived or read on first use (and
    :meth:`warm` reads them in the background), so start-up does not grow with the corpus."""

    handle: IndexHandle
    chunks: list[dict]
    documents: dict[str, dict]  # manifest entries: title, metadata, chunks
    places: dict[str, set[str]]  # provinces/cities each document is about
    normative_loaded: bool  # a law, decree or circular is loaded
    _tokens: dict[int, set[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, handle: IndexHandle) -> "Corpus":
        documents = handle.manifest["documents"]
        return cls(
            handle=handle, chunks=handle.chunks, documents=documents,
            places={s: set(places_in(f"{d['title']} {d.get('metadata', {}).get('place', '')}")) for s, d in documents.items()},
            normative_loaded=any(d.get("metadata", {}).get("kind", "").lower() in _NORMATIVE_KINDS for d in documents.values()),
        )

    @cached_property
    def terms(self) -> TermStats:
        """Document frequencies of the folded tokens: the lexical index's folded field
        indexes exactly "title | section | text" per chunk, so its postings are the df."""
        retriever = self.handle.lexical.retrievers["folded"]
        indptr = retriever.scores["indptr"]
        counts = indptr[1:] - indptr[:-1]
        # bm25s adds an empty token past the last column; "∅" marks a chunk with no words
        df = {token: int(counts[i]) for token, i in retriever.vocab_dict.items() if i < len(counts) and token not in ("", "∅")}
        return TermStats(len(self.chunks), df)

    def tokens(self, row: int) -> set[str]:
        """Accent-folded tokens of one chunk's "title | section | text" (computed when asked)."""
        if row not in self._tokens:
            c = self.chunks[row]
            self._tokens[row] = set(lexical_tokens(f"{c['title']} | {c['section']} | {c['text']}", folded=True))
        return self._tokens[row]

    @cached_property
    def records(self) -> Records:
        return Records(self.handle.version, list(self.documents))

    @cached_property
    def directory(self):
        """The duties directory (bot.duties.Directory)."""
        return self.handle.directory()

    @cached_property
    def targets(self) -> list:
        return self.handle.targets()

    @cached_property
    def restorer(self) -> AccentRestorer:
        """Fit on the documents' own words when the version was built."""
        path = self.handle.version / "restorer.pickle"
        if path.exists():
            with path.open("rb") as f:
                return pickle.load(f)
        return AccentRestorer([r["text"] for r in self.records.values()] + question_texts())

    @cached_property
    def folded(self) -> str:
        """Every document's text, accent-folded (is a name in the documents at all?)."""
        path = self.handle.version / "folded.txt"
        if path.exists():
            return path.read_text(encoding="utf-8")
        return " ".join(fold(canonical(re.sub(r"\s+", " ", r["text"]))) for r in self.records.values())

    @cached_property
    def word_counts(self) -> Counter:
        """Accent-folded syllables and syllable pairs of every document, counted: the
        corpus side of the gate's word evidence (bot/gate.py, ``DomainWords``)."""
        return syllable_counts(self.folded)

    @cached_property
    def domain_words(self):
        """The gate's word evidence (bot/gate.py): these documents against the background."""
        from .gate import DomainWords, read_background_words

        return DomainWords(self.word_counts, read_background_words())

    @cached_property
    def definitions(self) -> dict[str, tuple[int, int, str]]:
        """Where each term is defined: "X là …" lines (after an optional "21.") by their
        accent-folded beginning — every text before a " là " of the line, so a question
        "X là gì?" is one lookup — to (row, offset in the chunk, line); the first line in
        document order wins."""
        out: dict[str, tuple[int, int, str]] = {}
        for row, chunk in enumerate(self.chunks):
            offset = 0
            for line in chunk["text"].split("\n"):
                if " " in line:
                    folded = fold(canonical(line))
                    stripped = re.sub(r"^\d+\.\s*", "", folded)
                    for variant in {folded, stripped}:
                        at = variant.find(" la ")
                        while at != -1:
                            out.setdefault(variant[:at], (row, offset, line))
                            at = variant.find(" la ", at + 1)
                offset += len(line) + 1
        return out

    def warm(self) -> None:
        """Read everything the first questions would otherwise wait for."""
        for name in ("terms", "restorer", "folded", "domain_words", "directory", "targets", "definitions"):
            getattr(self, name)
        self.handle.pieces()

    def name(self, source: str, fallback: str | None = None) -> str:
        """A document's short name ("Nghị định 92/2024/NĐ-CP"), else its title, else
        ``fallback`` (the chunk's own title) or the source id."""
        doc = self.documents.get(source, {})
        return doc.get("metadata", {}).get("short_title") or doc.get("title") or fallback or source

    def coverage(self, terms: list[str], row: int) -> float:
        """IDF-weighted share of the question's distinctive terms found in the passage
        (title and heading path included)."""
        weights = {t: self.terms.weight(t) for t in terms}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        tokens = self.tokens(row)
        return sum(w for t, w in weights.items() if t in tokens) / total

    def extra(self, chunk: dict) -> dict:
        """The article facts a citation carries: number, Pháp điển code, effective date, status."""
        extra = {k: chunk[k] for k in _EXTRA_KEYS if chunk.get(k)}
        if extra:
            extra["instrument"] = self.name(chunk["source"], chunk["title"])
        return extra

    def same_article(self, row: int) -> list[int]:
        """All chunks of the article the chunk lies in, in order."""
        article = self.chunks[row].get("article")
        return self._run_around(row, lambda c: c.get("article") == article)

    def same_section(self, row: int) -> list[int]:
        """The chunk and its neighbours that continue the same section (a split list)."""
        section = self.chunks[row]["section"]
        return self._run_around(row, lambda c: c["section"] == section) if section else [row]

    def _run_around(self, row: int, same: Callable[[dict], bool]) -> list[int]:
        source = self.chunks[row]["source"]
        rows = [row]
        for step in (-1, 1):
            r = row + step
            while 0 <= r < len(self.chunks) and self.chunks[r]["source"] == source and same(self.chunks[r]):
                rows.append(r)
                r += step
        return sorted(rows)
