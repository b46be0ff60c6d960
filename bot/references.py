"""Direct references: "khoản 3 Điều 17 Luật Hợp tác xã", "điểm a khoản 1 Điều 18",
"Điều 35 Nghị định 92/2024/NĐ-CP" — answered from exactly that unit, not by search.

Officials quote the law by number; a similarity search treats "Điều 17" as two common
words and lands anywhere. A reference is parsed (in any order, with or without diacritics,
with or without the instrument), resolved against the articles the documents stage found
(:class:`bot.documents.Unit`, kept in ``documents.jsonl``), and cut down to the clause and
point asked, always as a span of the document's own text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .vietnamese import canonical, fold, syllables

T = TypeVar("T")

_ARTICLE = re.compile(r"\bdieu\s+(\d+[a-z]?)\b(?!\s*[/.]\d)")
_CLAUSE = re.compile(r"\bkhoan\s+(\d+)\b(?!\s*[/.]\d)")
_POINT = re.compile(r"\b(?:điểm|diem)\s+([a-zđ])\b")
# An instrument number as printed: "92/2024/NĐ-CP", "17/2023/QH15", "09/2024/TT-BKHĐT".
_NUMBER = re.compile(r"\b(\d{1,4})/(\d{4})(?:/([a-z0-9đ-]+))?", re.IGNORECASE)
_KIND_WORDS = {"luat": "Luật", "bo luat": "Bộ luật", "nghi dinh": "Nghị định", "thong tu": "Thông tư",
               "quyet dinh": "Quyết định", "nghi quyet": "Nghị quyết", "nd": "Nghị định", "tt": "Thông tư"}
# "nghị định 92", "NĐ 92", "thông tư số 09": a kind followed by a number.
_KIND_NUMBER = re.compile(r"\b(luat|nghi dinh|thong tu|quyet dinh|nghi quyet|nd|tt)\s+(?:so\s+)?(\d{1,4})\b")


@dataclass
class Reference:
    article: str  # "17"
    clause: str | None = None  # "3"
    point: str | None = None  # "a"

    def words(self) -> str:
        """"điểm a khoản 1 Điều 18" — how the answer names it."""
        parts = []
        if self.point:
            parts.append(f"điểm {self.point}")
        if self.clause:
            parts.append(f"khoản {self.clause}")
        parts.append(f"Điều {self.article}")
        return " ".join(parts)


@dataclass
class Resolved:
    source: str
    reference: Reference
    unit: dict  # the article: start, end, label, number, meta
    start: int  # span of the clause/point asked (or the whole article)
    end: int
    found_clause: bool = True


def parse_reference(question: str) -> Reference | None:
    """The article/clause/point a question quotes, or None."""
    c = canonical(question)
    folded = fold(c).lower()
    article = _ARTICLE.search(folded)
    if not article:
        return None
    clause = _CLAUSE.search(folded)
    point = _POINT.search(c.lower()) or _POINT.search(folded)
    return Reference(article.group(1), clause.group(1) if clause else None,
                     point.group(1) if point and clause else None)


@dataclass(frozen=True)
class _Named:
    """What a question can name a document by, worked out once per catalog."""

    source: str
    number: tuple[str, str] | None  # ("92", "2024") of "92/2024/NĐ-CP"
    kind: str
    name: str  # the short title without its year, accent-folded ("luat hop tac xa")


_DERIVED: dict[tuple[int, str], tuple[Mapping[str, dict], object]] = {}


def once_per_catalog(documents: Mapping[str, dict], build: Callable[[Mapping[str, dict]], T]) -> T:
    """``build(documents)``, computed once per catalog (an index version's documents):
    what a question is matched against is prepared once, not at every question."""
    key = (id(documents), build.__qualname__)
    cached = _DERIVED.get(key)
    if cached is not None and cached[0] is documents:
        return cached[1]  # type: ignore[return-value]
    value = build(documents)
    if len(_DERIVED) > 16:
        _DERIVED.clear()
    _DERIVED[key] = (documents, value)
    return value


def _catalog(documents: Mapping[str, dict]) -> list[_Named]:
    """Per document, its number and short name, folded once: a question then costs a set
    lookup and a substring test per document, not a fold and a regex compile (a
    thousand Pháp điển instruments made that 0.1 s a question)."""
    out = []
    for source, doc in documents.items():
        meta = doc.get("metadata", {})
        m = _NUMBER.match(fold(meta.get("number", "")).lower())
        short = re.sub(r"\s*\d{4}$", "", meta.get("short_title", ""))
        name = fold(canonical(short)).lower()
        out.append(_Named(source, (m.group(1).lstrip("0"), m.group(2)) if m else None, meta.get("kind", ""),
                          name if name and not _NUMBER.search(name) else ""))
    return out


def instrument_sources(question: str, documents: Mapping[str, dict]) -> list[str]:
    """Sources whose instrument the question names: by number ("92/2024/NĐ-CP",
    "nghị định 92") or by its short title without the year ("Luật Hợp tác xã")."""
    folded = fold(canonical(question)).lower()
    expanded = fold(" ".join(syllables(question)))  # "luật HTX" → "luat hop tac xa"
    found = []
    numbers = {(m.group(1).lstrip("0"), m.group(2)) for m in _NUMBER.finditer(folded)}
    kind_numbers = {(_KIND_WORDS[k], n.lstrip("0")) for k, n in _KIND_NUMBER.findall(folded)}
    for d in once_per_catalog(documents, _catalog):
        if d.number and (d.number in numbers or (d.kind, d.number[0]) in kind_numbers):
            found.append(d.source)
        elif d.name and d.name in expanded and re.search(r"(?<!\w)" + re.escape(d.name) + r"(?!\w)", expanded):
            found.append(d.source)
    return found


def _span_of(text: str, start: int, end: int, marker: re.Pattern[str], siblings: re.Pattern[str],
             closers: re.Pattern[str] | None = None) -> tuple[int, int] | None:
    """The paragraphs from the one matching ``marker`` up to the next sibling/closer."""
    pos = start
    found = None
    for line in text[start:end].split("\n"):
        line_end = pos + len(line)
        if found is None:
            if marker.match(line):
                found = pos
        elif siblings.match(line) or (closers is not None and closers.match(line)):
            return found, pos - 1
        pos = line_end + 1
    return (found, end) if found is not None else None


def cut(text: str, unit: dict, reference: Reference) -> tuple[int, int, bool]:
    """The span of the clause (and point) asked inside the article; the whole article
    when the article has no such clause (the caller says so)."""
    start, end = unit["start"], unit["end"]
    if not reference.clause:
        return start, end, True
    clause = _span_of(text, start, end, re.compile(rf"^{reference.clause}\.\s"), re.compile(r"^\d+\.\s"))
    if clause is None:
        return start, end, False
    if not reference.point:
        return clause[0], clause[1], True
    point = _span_of(text, clause[0], clause[1], re.compile(rf"^{re.escape(reference.point)}\)\s"),
                     re.compile(r"^[a-zđ]\)\s"))
    return (point[0], point[1], True) if point else (clause[0], clause[1], False)


def resolve(question: str, documents: Mapping[str, dict], sources: list[str] | None = None,
            catalog: Mapping[str, dict] | None = None) -> tuple[Reference | None, list[Resolved]]:
    """The units a direct reference points at. More than one means the question did not
    say which instrument and several have such an article: the caller asks back.
    ``catalog`` (titles and metadata only) names the instruments when ``documents``
    (full records) is costly to go through."""
    reference = parse_reference(question)
    if reference is None:
        return None, []
    named = instrument_sources(question, catalog or documents)
    pool = [s for s in (named or documents) if not sources or s in sources]
    out = []
    for source in pool:
        doc = documents[source]
        for unit in doc.get("units", []):
            if unit["number"] == reference.article:
                start, end, ok = cut(doc["text"], unit, reference)
                out.append(Resolved(source, reference, unit, start, end, ok))
                break
    if len(out) > 1 and not named:
        # Without an instrument, a law is what "Điều 17" means to its readers.
        laws = [r for r in out if documents[r.source].get("metadata", {}).get("kind", "").lower() in ("luật", "bộ luật")]
        if len(laws) == 1:
            out = laws
    return reference, out
