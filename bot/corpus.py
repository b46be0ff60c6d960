"""The published index as the answer stages read it, derived once per process.

Chunks and their token sets (the IDF behind coverage), each document's record (text,
articles), where each document applies, the duties directory, the targets, and the
accent restorer fit on the documents' own words. Stages receive this object; none of
them reads the index folder itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .index import IndexHandle
from .questions import QUESTION_PHRASES, TermStats, places_in
from .vietnamese import AccentRestorer, canonical, fold, lexical_tokens

_EXTRA_KEYS = ("article", "pd_code", "effective", "status", "instrument")
_NORMATIVE_KINDS = ("luật", "bộ luật", "nghị định", "thông tư")


@dataclass
class Corpus:
    handle: IndexHandle
    chunks: list[dict]
    tokens: list[set[str]]  # accent-folded tokens of "title | section | text", per chunk
    terms: TermStats
    documents: dict[str, dict]  # manifest entries: title, metadata, chunks
    records: dict[str, dict]  # text, pages and articles of each document
    places: dict[str, set[str]]  # provinces/cities each document is about
    directory: object  # bot.duties.Directory
    targets: list
    restorer: AccentRestorer
    folded: str  # every document's text, accent-folded (is a name in the documents at all?)
    normative_loaded: bool  # a law, decree or circular is loaded

    @classmethod
    def load(cls, handle: IndexHandle) -> "Corpus":
        chunks = handle.chunks
        tokens = [set(lexical_tokens(f"{c['title']} | {c['section']} | {c['text']}", folded=True)) for c in chunks]
        documents = handle.manifest["documents"]
        records = handle.documents()
        texts = [d["text"] for d in records.values()]
        return cls(
            handle=handle, chunks=chunks, tokens=tokens, terms=TermStats.from_token_sets(tokens),
            documents=documents, records=records,
            places={s: set(places_in(f"{d['title']} {d.get('metadata', {}).get('place', '')}")) for s, d in documents.items()},
            directory=handle.directory(), targets=handle.targets(), restorer=AccentRestorer(texts + [QUESTION_PHRASES]),
            folded=" ".join(fold(canonical(re.sub(r"\s+", " ", t))) for t in texts),
            normative_loaded=any(d.get("metadata", {}).get("kind", "").lower() in _NORMATIVE_KINDS for d in documents.values()),
        )

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
        return sum(w for t, w in weights.items() if t in self.tokens[row]) / total

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
