"""Briefings: a cited outline for a training session on a topic, as Markdown or DOCX.

Built from retrieved passages across documents and grouped by document and theme (the
top heading the passage sits under). Every point is a sentence or list item quoted
verbatim with its [n]; the sources list at the end names title, issuer, number, date and
section. The chat's stages choose the passages — sentence-level rerank and the fitted
gate: a topic the documents do not cover gets no briefing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from .answer import Assistant, cite
from .chunking import pieces
from .compose import PIECE_MARGIN
from .gate import COVERAGE_THRESHOLD
from .questions import BadQuestion

POINTS_PER_PASSAGE = 3
# How far below the best passage's best sentence a passage may be and still be about the
# topic: wider than the chat's PASSAGE_MARGIN (a briefing wants breadth, not one answer).
BRIEF_MARGIN = 0.06


@dataclass
class Point:
    text: str  # verbatim
    ref: int


@dataclass
class Source:
    ref: int
    source: str
    title: str
    section: str
    text: str
    issuer: str = ""
    number: str = ""
    date: str = ""


@dataclass
class Briefing:
    topic: str
    covered: bool
    message: str = ""
    # document title → theme → points
    outline: dict[str, dict[str, list[Point]]] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"# Tài liệu tập huấn: {self.topic}", ""]
        if not self.covered:
            return "\n".join(lines + [self.message, ""])
        for title, themes in self.outline.items():
            lines += [f"## {title}", ""]
            for theme, points in themes.items():
                lines += [f"### {theme}", ""]
                lines += [f"- {cite(_unmark(p.text), p.ref)}" for p in points]
                lines.append("")
        lines += ["## Nguồn", ""]
        for s in self.sources:
            meta = ", ".join(x for x in (s.issuer, s.number, s.date) if x)
            lines.append(f"[{s.ref}] {s.title}" + (f" — {meta}" if meta else "") +
                         (f" — {s.section}" if s.section else "") + f" ({s.source})")
        return "\n".join(lines) + "\n"

    def docx(self) -> bytes:
        """The same outline as a Word document (python-docx); Vietnamese text as is."""
        import docx

        document = docx.Document()
        document.add_heading(f"Tài liệu tập huấn: {self.topic}", level=0)
        if not self.covered:
            document.add_paragraph(self.message)
        else:
            for title, themes in self.outline.items():
                document.add_heading(title, level=1)
                for theme, points in themes.items():
                    document.add_heading(theme, level=2)
                    for p in points:
                        document.add_paragraph(cite(_unmark(p.text), p.ref), style="List Bullet")
            document.add_heading("Nguồn", level=1)
            for s in self.sources:
                meta = ", ".join(x for x in (s.issuer, s.number, s.date) if x)
                document.add_paragraph(f"[{s.ref}] {s.title}" + (f" — {meta}" if meta else "") +
                                       (f" — {s.section}" if s.section else "") + f" ({s.source})")
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()


def _unmark(text: str) -> str:
    """A point without its own list marker ("- ", "+ ", "* "): the outline adds bullets."""
    return re.sub(r"^[-+*•]\s+", "", text.strip())


def build_briefing(assistant: Assistant, topic: str, sources: list[str] | None = None,
                   per_document: int = 4) -> Briefing:
    """An outline on ``topic`` from the passages that are about it.

    The chat's own stages decide: the topic goes through understanding, retrieval, the
    sentence-level rerank and the fitted gate like a question. Passages whose best
    sentence comes within BRIEF_MARGIN of the best passage's are used, each with its
    sentences close to its best (the chat's PIECE_MARGIN), so a point is there because
    it is about the topic, not because it shares half of the topic's words.
    """
    try:
        turn = assistant.examine(topic, sources=sources)
    except BadQuestion as exc:
        return Briefing(topic=str(topic)[:200], covered=False, message=str(exc))
    topic = turn.query.question
    refusal = "Các văn bản hiện có không đề cập đến chủ đề này, nên không soạn được tài liệu."
    passages = turn.found.passages
    decision = turn.decision
    # A topic is a term, not a question ("liên kết chuỗi giá trị"): the gate, fit on
    # questions, can find it too short to tell; then the documents must contain the
    # topic's own distinctive words (the coverage rule the gate replaced for questions).
    lexical = decision.reason == "coverage" and decision.best_coverage >= COVERAGE_THRESHOLD
    if (decision.reason and not lexical) or not passages:
        return Briefing(topic=topic, covered=False, message=refusal)
    top = passages[0].best
    briefing = Briefing(topic=topic, covered=True)
    documents = assistant.documents
    # at most a few passages per document, so every document gets its say; documents in
    # the order of their best passage, passages within a document in document order
    by_doc: dict[str, list] = {}
    for p in passages:
        if p.best < top - BRIEF_MARGIN:
            continue
        of_doc = by_doc.setdefault(assistant.chunks[p.row]["source"], [])
        if len(of_doc) < per_document:
            of_doc.append(p)
    for source, doc_passages in by_doc.items():
        meta = documents.get(source, {}).get("metadata", {})
        title = meta.get("short_title") or documents.get(source, {}).get("title", source)
        themes = briefing.outline.setdefault(title, {})
        for p in sorted(doc_passages, key=lambda x: assistant.chunks[x.row]["index"]):
            chunk = assistant.chunks[p.row]
            units = pieces(chunk)
            close = sorted(range(len(units)), key=lambda k: -p.sims[k])[:POINTS_PER_PASSAGE]
            picked = [units[k] for k in sorted(close) if p.sims[k] >= p.best - PIECE_MARGIN]
            if not picked:
                continue
            ref = len(briefing.sources) + 1
            briefing.sources.append(Source(ref, source, chunk["title"], chunk["section"], chunk["text"],
                                           meta.get("issuer", ""), meta.get("number", ""), meta.get("date", "")))
            theme = chunk["section"].split(" › ")[0] if chunk["section"] else "Phần mở đầu"
            for piece in picked:
                for line in piece.text.split("\n"):
                    themes.setdefault(theme, []).append(Point(line, ref))
    briefing.outline = {title: themes for title, themes in briefing.outline.items() if themes}
    if not briefing.sources:
        return Briefing(topic=topic, covered=False, message=refusal)
    return briefing
