"""Briefings: a cited outline for a training session on a topic, as Markdown or DOCX.

Built from retrieved passages across documents and grouped by document and theme (the
top heading the passage sits under). Every point is a sentence or list item quoted
verbatim with its [n]; the sources list at the end names title, issuer, number, date and
section. The same evidence gate as the chat applies: a topic the documents do not cover
gets no briefing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from .answer import COVERAGE_THRESHOLD, Assistant, cite
from .chunking import pieces
from .questions import BadQuestion, clean_question, content_terms, expand
from .retrieval import hybrid_search
from .vietnamese import fold, lexical_tokens

POINTS_PER_PASSAGE = 3
MIN_POINT_SCORE = 0.5  # share of the topic's (IDF-weighted) words a quoted point must contain


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


def build_briefing(assistant: Assistant, topic: str, sources: list[str] | None = None, k: int = 40,
                   per_document: int = 4) -> Briefing:
    """An outline on ``topic`` from the passages that cover it."""
    try:
        topic = clean_question(topic)
    except BadQuestion as exc:
        return Briefing(topic=str(topic)[:200], covered=False, message=str(exc))
    hits = hybrid_search(assistant.handle, assistant.embeddings, topic, k=k, sources=sources,
                         lexical_query=expand(topic))
    terms = content_terms(expand(topic, replace=True))
    covered = [h for h in hits if assistant.coverage(terms, h.row) >= COVERAGE_THRESHOLD]
    refusal = "Các văn bản hiện có không đề cập đến chủ đề này, nên không soạn được tài liệu."
    if not covered:
        return Briefing(topic=topic, covered=False, message=refusal)
    words = {t: assistant.terms.weight(t) for t in lexical_tokens(fold(topic), folded=True)}
    total = sum(words.values()) or 1.0
    briefing = Briefing(topic=topic, covered=True)
    documents = assistant.documents
    # document order: as retrieved; passages within a document in document order
    by_doc: dict[str, list] = {}
    for h in covered:  # at most a few passages per document, so every document gets its say
        hits_of_doc = by_doc.setdefault(assistant.chunks[h.row]["source"], [])
        if len(hits_of_doc) < per_document:
            hits_of_doc.append(h)
    for source, doc_hits in by_doc.items():
        meta = documents.get(source, {}).get("metadata", {})
        title = meta.get("short_title") or documents.get(source, {}).get("title", source)
        themes = briefing.outline.setdefault(title, {})
        for h in sorted(doc_hits, key=lambda x: assistant.chunks[x.row]["index"]):
            chunk = assistant.chunks[h.row]
            units = [u for u in pieces(chunk) if u[1].strip() not in chunk["section"]]  # not headings
            if not units:
                continue
            scored = sorted(((assistant._unit_score(words, u[1], total), i) for i, u in enumerate(units)),
                            reverse=True)
            if not scored or scored[0][0] < MIN_POINT_SCORE:
                continue  # the passage mentions the topic's words, but no sentence is about it
            floor = max(MIN_POINT_SCORE, 0.6 * scored[0][0])
            picked = [units[i] for sc, i in sorted(scored[:POINTS_PER_PASSAGE], key=lambda x: x[1]) if sc >= floor]
            ref = len(briefing.sources) + 1
            briefing.sources.append(Source(ref, source, chunk["title"], chunk["section"], chunk["text"],
                                           meta.get("issuer", ""), meta.get("number", ""), meta.get("date", "")))
            theme = chunk["section"].split(" › ")[0] if chunk["section"] else "Phần mở đầu"
            for _, text, _ in picked:
                for line in text.split("\n"):
                    themes.setdefault(theme, []).append(Point(line, ref))
    briefing.outline = {title: themes for title, themes in briefing.outline.items() if themes}
    if not briefing.sources:
        return Briefing(topic=topic, covered=False, message=refusal)
    return briefing
