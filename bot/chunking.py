"""Stage 2 — chunking: split a document along its own structure, never mid-sentence.

Vietnamese administrative documents are outlines (``I.`` › ``1.`` › ``2.1.`` › ``a)`` ›
bullets ``-``/``+``/``*``); legal documents are ``Chương`` › ``Mục`` › ``Điều`` ›
clauses ``1.`` › points ``a)``. A section that fits the size budget is one chunk, so an
agency's list of duties stays with the agency's heading; a larger one is split into its
subsections, and runs of small items (clauses, lettered points, bullets) are packed
together. Each chunk keeps its heading path, which is prefixed to the text that is
embedded and BM25-indexed — the largest single retrieval gain measured on this corpus.

Chunk text is always ``document.text[start:end]``: verbatim from the normalised source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from .documents import SourceDocument
from .phapdien import CODE_HEADING

SEPARATOR = " › "

_LEGAL_ARTICLE = re.compile(r"^Điều\s+\d+[a-z]?\s*\.")
_LEGAL_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"^(?:Chương|CHƯƠNG)\s+[IVXLC\d]+\b")),
    (2, re.compile(r"^(?:Mục|MỤC)\s+\d+\b")),
    (3, _LEGAL_ARTICLE),
    (4, re.compile(r"^\d+\.(?!\d)\s*\S")),
    (5, re.compile(r"^[a-zđ]\)\s")),
]
_ADMIN_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"^(?:PHẦN|Phần)\s+[IVXLC\d]+\b")),
    (2, re.compile(r"^[IVXLC]+\.\s")),
    (3, re.compile(r"^\d+\.(?!\d)\s*\S")),
    (4, re.compile(r"^\d+\.\d+\.?\s")),
    (5, re.compile(r"^\d+\.\d+\.\d+\.?\s")),
    (6, re.compile(r"^[a-zđ]\)\s")),
]
# Closing blocks are sections of their own, so a distribution list is never read as
# the duties of whatever agency happened to be listed last.
_CLOSING = re.compile(r"^(?:Nơi nhận|NƠI NHẬN)\b")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“(]?[A-ZĐÀ-Ỹ0-9])")


@dataclass
class Chunk:
    """A passage to retrieve and cite."""

    source: str
    title: str
    section: str  # heading path, e.g. "III. TỔ CHỨC THỰC HIỆN › 2. Phòng Tài chính – Kế hoạch"
    text: str  # == document.text[start:end]
    start: int
    end: int
    index: int  # order within the document
    page: int | None = None
    # the article it lies in: "article" ("Điều 34"), and for Pháp điển instruments also
    # "pd_code", "effective", "status", "links", "chapter", "order"
    extra: dict[str, str | int] = field(default_factory=dict)

    @property
    def context_text(self) -> str:
        """What is embedded and BM25-indexed: "title | heading path | text"."""
        return f"{self.title} | {self.section} | {self.text}"


@dataclass
class _Node:
    level: int
    label: str
    paragraph: int | None  # index of the heading paragraph (None for the root)
    items: list["int | _Node"] = field(default_factory=list)  # paragraphs and sub-sections

    def first(self) -> int:
        if self.paragraph is not None:
            return self.paragraph
        for item in self.items:
            return item if isinstance(item, int) else item.first()
        return 0

    def last(self) -> int:
        if self.items:
            item = self.items[-1]
            return item if isinstance(item, int) else item.last()
        return self.paragraph if self.paragraph is not None else 0

    def is_single_paragraph(self) -> bool:
        return not self.items


def _label(text: str, limit: int = 90) -> str:
    """Short heading label: the marker line, cut at a word boundary."""
    text = text.strip().rstrip(":")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def is_legal(paragraphs: list[str]) -> bool:
    """A law/decree: several lines open with "Điều N."."""
    return sum(1 for p in paragraphs if _LEGAL_ARTICLE.match(p)) >= 3


def _level(paragraph: str, markers: list[tuple[int, re.Pattern[str]]]) -> int | None:
    if _CLOSING.match(paragraph):
        return 1
    for level, pattern in markers:
        if pattern.match(paragraph):
            return level
    return None


# Single-paragraph items at or below this level are packed together when their parent
# is too large (law clauses and points, lettered items, 2.1.-style items); items above
# it (numbered tasks, agencies) stay chunks of their own so they can be cited alone.
_PACK_FROM_LEVEL = 4
# A section heading this short is not a chunk of its own; it leads its first subsection.
_LEAD_MAX_CHARS = 200


def _outline(paragraphs: list[str], articles: dict[int, str] | None = None) -> _Node:
    """Build the section tree of a document from its paragraph markers.

    ``articles`` (paragraph index → label) are given for the instruments of a Pháp
    điển topic: their articles are known, and chapter-like lines inside an article
    (a form's "Chương II") are not structure."""
    markers = _LEGAL_MARKERS if articles or is_legal(paragraphs) else _ADMIN_MARKERS
    root = _Node(level=0, label="", paragraph=None)
    stack = [root]
    for i, paragraph in enumerate(paragraphs):
        level = _level(paragraph, markers)
        if articles is not None:
            level = 3 if i in articles else (level if level and level > 3 else None)
        if level is None:
            stack[-1].items.append(i)
            continue
        while stack[-1].level >= level:
            stack.pop()
        node = _Node(level=level, label=articles[i] if articles and i in articles else _label(paragraph), paragraph=i)
        stack[-1].items.append(node)
        stack.append(node)
    return root


class _Builder:
    """Turns the outline into chunks within a character budget."""

    def __init__(self, document: SourceDocument, max_chars: int):
        self.doc = document
        self.max = max_chars
        self.starts: list[int] = []
        offset = 0
        self.paragraphs = document.text.split("\n")
        for p in self.paragraphs:
            self.starts.append(offset)
            offset += len(p) + 1
        self.chunks: list[Chunk] = []
        self.lead: int | None = None  # paragraph that opens the next chunk (a bare heading)

    def span(self, first: int, last: int) -> tuple[int, int]:
        return self.starts[first], self.starts[last] + len(self.paragraphs[last])

    def add(self, start: int, end: int, path: list[str]) -> None:
        if self.lead is not None:
            start, self.lead = min(start, self.starts[self.lead]), None
        unit = self.doc.unit_at(start)
        self.chunks.append(Chunk(
            source=self.doc.source, title=self.doc.title, section=SEPARATOR.join(path),
            text=self.doc.text[start:end], start=start, end=end, index=len(self.chunks),
            page=self.doc.page_at(start), extra=dict(unit.meta) if unit else {},
        ))

    def emit(self, node: _Node, path: list[str]) -> None:
        own = path + [node.label] if node.label else path
        start, end = self.span(node.first(), node.last())
        if end - start <= self.max:
            self.add(start, end, own)
            return
        if not node.items and node.paragraph is not None:
            self.split_paragraph(node.paragraph, own)
            return
        # Too large: pack runs of small units, recurse into real sub-sections.
        run: list[int] = []  # paragraph indexes of the current run (consecutive)

        def flush() -> None:
            if run:
                self.pack(run, own)
                run.clear()

        units: list[int | _Node] = ([node.paragraph] if node.paragraph is not None else []) + node.items
        for unit in units:
            if isinstance(unit, int):
                run.append(unit)
            elif unit.is_single_paragraph() and unit.level >= _PACK_FROM_LEVEL:
                run.append(unit.first())
            else:
                if run == [node.paragraph] and len(self.paragraphs[run[0]]) <= _LEAD_MAX_CHARS:
                    heading = run.pop()
                    if self.lead is None:  # nested bare headings: the outermost opens the chunk
                        self.lead = heading
                flush()
                self.emit(unit, own)
        flush()

    def pack(self, paragraphs: list[int], path: list[str]) -> None:
        """Greedily group consecutive paragraphs up to the budget; split huge ones."""
        group_first: int | None = None
        group_last = -1
        for i in paragraphs:
            p_start, p_end = self.span(i, i)
            if p_end - p_start > self.max:
                if group_first is not None:
                    self.add(*self.span(group_first, group_last), path)
                    group_first = None
                self.split_paragraph(i, path)
                continue
            if group_first is not None:
                g_start, _ = self.span(group_first, group_first)
                if p_end - g_start > self.max:
                    self.add(*self.span(group_first, group_last), path)
                    group_first = None
            if group_first is None:
                group_first = i
            group_last = i
        if group_first is not None:
            self.add(*self.span(group_first, group_last), path)

    def split_paragraph(self, i: int, path: list[str]) -> None:
        """A paragraph over budget: split between sentences (a sentence is never cut)."""
        base = self.starts[i]
        text = self.paragraphs[i]
        cuts = [0] + [m.end() for m in SENTENCE_END.finditer(text)] + [len(text)]
        start = 0
        prev = 0
        for cut in cuts[1:]:
            if cut - start > self.max and prev > start:
                self.add(base + start, base + len(text[start:prev].rstrip()) + start, path)
                start = prev
            prev = cut
        self.add(base + start, base + len(text), path)


def chunk_document(document: SourceDocument, max_chars: int = 1400) -> list[Chunk]:
    """All chunks of one document, in document order."""
    if not document.text:
        return []
    builder = _Builder(document, max_chars)
    articles = None
    if any("pd_code" in u.meta for u in document.units):
        paragraph_of = {start: i for i, start in enumerate(builder.starts)}
        articles = {paragraph_of[u.start]: _label(u.label, 160) for u in document.units if u.start in paragraph_of}
    root = _outline(builder.paragraphs, articles)
    if articles is None:
        builder.emit(root, [])
    else:  # each article of an instrument is cited on its own, even when several would fit
        for item in root.items:
            if isinstance(item, _Node):
                builder.emit(item, [])
            else:
                builder.pack([item], [])
    return builder.chunks


# ------------------------------------------------------------------ pieces ----
# A chunk's sentences and list items: the units an answer quotes, and the units the
# reranker scores against the question (their vectors are computed at index time).

# A list item ("- ", "a) ", "3.", "2.1.") and a bullet; the composer reads the same shapes.
ITEM = re.compile(r"^(?:[-+*•]\s*|[a-zđ]\)\s|\d+(?:\.\d+)*\.\s?)")
BULLET = re.compile(r"^[-+*•]\s")


class Piece(NamedTuple):
    """One sentence or list item of a chunk: ``chunk["text"][offset:offset + len(text)] == text``."""

    offset: int
    text: str
    item: bool


def pieces(chunk: dict) -> list[Piece]:
    """The chunk's sentences and list items, without its own heading (the answer's lead-in
    names that). A short item that introduces bullets ("a) Đến năm 2030" then "- …") forms
    one piece with them, so targets are quoted together with what they are targets for."""
    label = chunk["section"].split(SEPARATOR)[-1].rstrip("…") if chunk.get("section") else None
    lines = chunk["text"].split("\n")
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    out: list[Piece] = []
    i = 0
    while i < len(lines):
        line, here = lines[i], starts[i]
        if (label and line.rstrip(":").startswith(label) and len(line) <= len(label) + 5) \
                or (i == 0 and chunk.get("pd_code") and CODE_HEADING.match(line)):
            i += 1
            continue
        bullets = 0
        while i + 1 + bullets < len(lines) and BULLET.match(lines[i + 1 + bullets]):
            bullets += 1
        if ITEM.match(line) and not BULLET.match(line) and len(line) <= 120 and bullets:
            out.append(Piece(here, "\n".join(lines[i:i + 1 + bullets]), True))
            i += 1 + bullets
            continue
        if ITEM.match(line) and len(line) < 900:
            out.append(Piece(here, line, True))
        else:
            pos, pending = 0, None
            for part in SENTENCE_END.split(line):
                j = line.index(part, pos)
                pos = j + len(part)
                if pending is not None:  # "3." alone is a clause number, not a sentence
                    j, part = pending, line[pending:pos]
                    pending = None
                if re.fullmatch(r"\d+(?:\.\d+)*\.|[a-zđ]\)", part.strip()):
                    pending = j
                    continue
                out.append(Piece(here + j, part, False))
        i += 1
    return out


def piece_context(chunk: dict, piece: Piece) -> str:
    """What is embedded for a piece: the last two headings above it, then its text (a
    clause alone often does not say what it is about; its article's title does)."""
    where = SEPARATOR.join(chunk["section"].split(SEPARATOR)[-2:]) if chunk.get("section") else chunk.get("title", "")
    return f"{where} | {piece.text}"
