"""Briefings: a cited outline for a training session on a topic, as Markdown, DOCX or PPTX.

Built from retrieved passages across documents and grouped by document and theme (the
top heading the passage sits under). It opens with 3–7 key points — short sentences
quoted verbatim from the cited passages, chosen across documents and sections — then,
when the topic is about targets or quotes one, the targets of the plans side by side
(bot/targets.py: the table and its chart, one structure), then the quoted material:
every point a sentence or list item quoted verbatim with its [n]. The sources list at
the end names title, issuer, number, date and section — only what is known: a catalog
entry that says a number or date is not printed in the document is left out, never
written into the list. The chat's stages choose the passages — sentence-level rerank and
the fitted gate: a topic the documents do not cover gets no briefing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

from .answer import Assistant, cite
from .chunking import ITEM, SENTENCE_END, pieces
from .compose import PIECE_MARGIN
from .gate import COVERAGE_THRESHOLD
from .questions import BadQuestion
from .targets import Comparison, corpus_comparison
from .documents import known
from .vietnamese import fold, lexical_tokens, nfc

POINTS_PER_PASSAGE = 3
# How far below the best passage's best sentence a passage may be and still be about the
# topic: wider than the chat's PASSAGE_MARGIN (a briefing wants breadth, not one answer).
BRIEF_MARGIN = 0.06
# Key points: at least KEY_MIN (when the passages hold that many short sentences), at most
# KEY_MAX; a key point is one sentence (or one ";"-clause of a long one) of KEY_WORDS words.
KEY_MIN, KEY_MAX = 3, 6
KEY_WORDS = (6, 40)
KEY_LEXICAL = 0.1  # a key point's rank: its piece's similarity + this × its share of the topic's terms
KEY_SHARE = 0.3  # a sentence "names the topic" with this share of the topic's terms
TARGET_SHARE = 0.5  # a target is about a topic when it holds this share of the topic's terms
AUTHOR = "Trợ lý chính sách kinh tế tập thể"
FILENAME_STEM = "tai-lieu-tap-huan"
SLUG_MAX = 60
_TARGET_WORDS = re.compile(r"\b(?:muc tieu|chi tieu)\b")


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
    text: str  # the document's text[start:end], verbatim
    issuer: str = ""
    number: str = ""
    date: str = ""
    place: str = ""
    start: int = 0
    end: int = 0
    short_title: str = ""

    def short_line(self) -> str:
        """"[n] short title — section" (a slide's sources list)."""
        section = self.section if len(self.section) <= 90 else self.section[:89].rstrip() + "…"
        return f"[{self.ref}] {self.short_title or self.title}" + (f" — {section}" if section else "")

    def line(self) -> str:
        """"[n] title — issuer, number, date — section (source)", with only the facts known."""
        facts = ", ".join(x for x in (self.issuer, self.number, self.date, self._place()) if x)
        return (f"[{self.ref}] {self.title}" + (f" — {facts}" if facts else "")
                + (f" — {self.section}" if self.section else "") + f" ({self.source})")

    def _place(self) -> str:
        """The place, unless the issuer or title already says it ("UBND tỉnh Cà Mau")."""
        head = self.place.split(",")[0].strip()
        if not head or fold(head).lower() == "toan quoc" or head in self.issuer or head in self.title:
            return ""
        return self.place


@dataclass
class Slide:
    """One slide of the deck (what :meth:`Briefing.pptx` draws, in order)."""

    kind: str  # title | key_points | targets_table | chart | section | sources | message
    title: str
    # bullets (a cited point each); a table slide: its rows (cells joined by tabs); a
    # chart slide: the indicators it plots
    items: list[str] = field(default_factory=list)
    document: str = ""  # a section slide: the document it quotes
    refs: list[int] = field(default_factory=list)  # the sources its items cite


# A section slide holds at most SLIDE_ITEMS points and SLIDE_CHARS characters; the rest of
# the section continues on "… (tiếp)" slides. A point longer than SLIDE_CHARS is cut at
# its sentence ends (each part verbatim, with the point's [n]); a sentence longer than that
# gets a slide of its own in a smaller font.
SLIDE_ITEMS = 6
SLIDE_CHARS = 700
SOURCE_ITEMS, SOURCE_CHARS = 10, 1200  # a sources slide: short lines ("[n] short title — section")
TABLE_ROWS = 12  # a targets table slide: rows per slide
CHART_PANELS = 6  # a chart slide: indicators (panels, 3 × 2) per slide


@dataclass
class Briefing:
    topic: str
    covered: bool
    message: str = ""
    # document title → theme → points
    outline: dict[str, dict[str, list[Point]]] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    key_points: list[Point] = field(default_factory=list)
    targets: Comparison | None = None  # the plans' targets, cited with this briefing's [n]
    made: dt.date = field(default_factory=dt.date.today)

    @property
    def title(self) -> str:
        return f"Tài liệu tập huấn: {self.topic}"

    def filename(self, ext: str = "docx") -> str:
        """A file name from the topic: "tai-lieu-tap-huan-chuyen-doi-so-trong-hop-tac-xa.docx"
        (accent-folded, ASCII, at most SLUG_MAX characters of topic, cut at a word)."""
        slug = re.sub(r"[^a-z0-9]+", "-", fold(nfc(self.topic)).lower()).strip("-")
        if len(slug) > SLUG_MAX:
            slug = slug[:SLUG_MAX + 1].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX + 1] else slug[:SLUG_MAX]
        ext = ext.lstrip(".")
        return f"{FILENAME_STEM}-{slug}.{ext}" if slug else f"{FILENAME_STEM}.{ext}"

    def sections(self) -> list[tuple[str, str, list[Point]]]:
        """(document title, theme, points) in outline order: a section of the briefing."""
        return [(title, theme, points) for title, themes in self.outline.items() for theme, points in themes.items()]

    def chart_png(self) -> bytes | None:
        """The targets chart (bot.targets.chart_png), or None when the briefing has no targets."""
        from .targets import chart_png

        return chart_png(self.targets) if self.targets is not None else None

    # --------------------------------------------------------------- Markdown --

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if not self.covered:
            return "\n".join(lines + [self.message, ""])
        lines += ["## Điểm chính", ""]
        lines += [f"- {cite(p.text, p.ref)}" for p in self.key_points]
        lines.append("")
        if self.targets is not None:
            lines += [f"## Chỉ tiêu đến năm {self.targets.year}", "", self.targets.markdown(), ""]
        for title, themes in self.outline.items():
            lines += [f"## {title}", ""]
            for theme, points in themes.items():
                lines += [f"### {theme}", ""]
                lines += [f"- {cite(_unmark(p.text), p.ref)}" for p in points]
                lines.append("")
        lines += ["## Nguồn", ""]
        lines += [s.line() for s in self.sources]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------- DOCX --

    def docx(self) -> bytes:
        """The briefing as a Word document: A4, Times New Roman, title and author set,
        Vietnamese (vi-VN); key points, the targets table and chart, the outline, sources."""
        import docx
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.shared import Mm, Pt

        document = docx.Document()
        section = document.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(20)
        _docx_styles(document)
        props = document.core_properties
        props.title, props.subject = self.title, self.topic
        props.author = props.last_modified_by = AUTHOR
        props.language = "vi-VN"
        props.keywords = "tập huấn; kinh tế tập thể; hợp tác xã"
        props.comments = "Mọi ý trích nguyên văn từ văn bản đã nạp; [n] là số nguồn ở mục Nguồn."
        now = dt.datetime.now().replace(microsecond=0)
        props.created = props.modified = now
        props.revision = 1
        _docx_footer(section, self.title)

        document.add_heading(self.title, level=0)
        document.add_paragraph(f"Soạn ngày {self.made:%d/%m/%Y} bởi {AUTHOR}. Mọi ý trích nguyên văn từ văn bản; "
                               "số trong [ ] là nguồn ở mục Nguồn cuối tài liệu.", style="Subtitle")
        if not self.covered:
            document.add_paragraph(self.message)
        else:
            document.add_heading("Điểm chính", level=1)
            for p in self.key_points:
                document.add_paragraph(cite(p.text, p.ref), style="List Number")
            if self.targets is not None:
                comp = self.targets
                document.add_heading(f"Chỉ tiêu đến năm {comp.year}", level=1)
                header, rows = comp.header(), comp.rows()
                table = document.add_table(rows=1 + len(rows), cols=len(header))
                table.style = "Table Grid"
                table.alignment = WD_TABLE_ALIGNMENT.CENTER
                first = Mm(45) if len(header) > 2 else Mm(80)
                other = int((Mm(160) - first) / max(1, len(header) - 1))
                for r, values in enumerate([header] + rows):
                    for c, value in enumerate(values):
                        cell = table.cell(r, c)
                        cell.width = first if c == 0 else other
                        run = cell.paragraphs[0].add_run(value)
                        run.font.size = Pt(10)
                        run.bold = r == 0 or None
                picture = self.chart_png()
                if picture:
                    width, height = _png_size(picture)
                    if height / width * 160 > 230:  # a tall chart: fit the page's height
                        document.add_picture(io.BytesIO(picture), height=Mm(230))
                    else:
                        document.add_picture(io.BytesIO(picture), width=Mm(160))
                    document.add_paragraph(f"Biểu đồ: chỉ tiêu đến năm {comp.year} theo các văn bản (cùng số liệu "
                                           "với bảng trên); [n] là nguồn trích dẫn.", style="Caption")
            for title, themes in self.outline.items():
                document.add_heading(title, level=1)
                for theme, points in themes.items():
                    document.add_heading(theme, level=2)
                    for p in points:
                        document.add_paragraph(cite(_unmark(p.text), p.ref), style="List Bullet")
            document.add_heading("Nguồn", level=1)
            for s in self.sources:
                document.add_paragraph(s.line())
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()

    # ------------------------------------------------------------------- PPTX --

    def slides(self) -> list[Slide]:
        """The deck, slide by slide: title; key points; the targets table and chart (when
        there are targets); one slide per section (document × theme), continued on
        "… (tiếp)" slides by the SLIDE_ITEMS / SLIDE_CHARS rule; sources."""
        deck = [Slide("title", self.title, [f"Soạn ngày {self.made:%d/%m/%Y} — {AUTHOR}",
                                            "Mọi ý trích nguyên văn từ văn bản; [n] là số nguồn (trang Nguồn)."])]
        if not self.covered:
            return deck + [Slide("message", "Không soạn được tài liệu", [self.message])]
        deck += _paged("key_points", "Điểm chính", [(cite(p.text, p.ref), p.ref) for p in self.key_points])
        if self.targets is not None:
            comp = self.targets
            rows = comp.rows()
            for i in range(0, len(rows), TABLE_ROWS):
                title = f"Chỉ tiêu đến năm {comp.year}" + (" (tiếp)" if i else "")
                refs = {int(n) for r in rows[i:i + TABLE_ROWS] for n in re.findall(r"\[(\d+)\]", " ".join(r))}
                deck.append(Slide("targets_table", title, ["\t".join(r) for r in rows[i:i + TABLE_ROWS]], refs=sorted(refs)))
            names = [i.name for i in comp.indicators]
            for i in range(0, len(names), CHART_PANELS):  # a chart slide holds CHART_PANELS panels
                shown = names[i:i + CHART_PANELS]
                refs = {comp.cell(n, d.source).citation for n in shown for d in comp.documents}
                deck.append(Slide("chart", f"Chỉ tiêu đến năm {comp.year} — biểu đồ" + (" (tiếp)" if i else ""),
                                  shown, refs=sorted(r for r in refs if r)))
        for title, theme, points in self.sections():
            items = [(part, p.ref) for p in points for part in _slide_parts(_unmark(p.text), p.ref)]
            for slide in _paged("section", theme, items):
                slide.document = title
                deck.append(slide)
        deck += _paged("sources", "Nguồn", [(s.short_line(), s.ref) for s in self.sources], SOURCE_ITEMS, SOURCE_CHARS)
        return deck

    def pptx(self) -> bytes:
        """The deck of :meth:`slides` as a 16:9 PowerPoint file (bot/slides.py)."""
        from .slides import render

        return render(self)


def _paged(kind: str, title: str, items: list[tuple[str, int]], most: int = SLIDE_ITEMS,
           chars: int = SLIDE_CHARS) -> list[Slide]:
    """Items on as many slides as the rule needs (at most ``most`` items and ``chars``
    characters a slide; an item is never split here); the second and later titled
    "… (tiếp)"."""
    pages: list[list[tuple[str, int]]] = []
    for text, ref in items:
        page = pages[-1] if pages else None
        if page is None or len(page) >= most or sum(len(t) for t, _ in page) + len(text) > chars:
            page = []
            pages.append(page)
        page.append((text, ref))
    return [Slide(kind, title + (" (tiếp)" if i else ""), [t for t, _ in page], refs=sorted({r for _, r in page}))
            for i, page in enumerate(pages or [[]])]


def _slide_parts(text: str, ref: int) -> list[str]:
    """A point as slide bullets with its [n]: whole, or cut at sentence ends (then ";")
    into runs of at most SLIDE_CHARS characters when it is longer."""
    budget = SLIDE_CHARS - 6
    if len(text) <= budget:
        return [cite(text, ref)]
    sentences = [s for s in SENTENCE_END.split(text) if s]
    pieces_: list[str] = []
    for s in sentences:
        pieces_ += re.split(r"(?<=;)\s+", s) if len(s) > budget else [s]
    parts, current = [], ""
    for s in pieces_:
        if current and len(current) + 1 + len(s) > budget:
            parts.append(current)
            current = s
        else:
            current = f"{current} {s}" if current else s
    if current:
        parts.append(current)
    return [cite(p, ref) for p in parts]


def _unmark(text: str) -> str:
    """A point without its own list marker ("- ", "+ ", "* "): the outline adds bullets."""
    return re.sub(r"^[-+*•]\s+", "", text.strip())


# ---------------------------------------------------------------- key points --

@dataclass
class _Candidate:
    score: float
    text: str
    ref: int
    document: str
    share: float = 0.0  # of the topic's distinctive terms


def key_sentences(text: str) -> list[str]:
    """The short sentences of a passage's piece, verbatim (list markers and the trailing
    ";" or "," left off): KEY_WORDS words, not a list's introduction (ending ":"), not a
    heading. A long sentence offers its ";"-clauses instead."""
    out = []
    for line in text.split("\n"):
        body = ITEM.sub("", line.strip(), count=1).strip()
        for sentence in SENTENCE_END.split(body):
            parts = [sentence] if len(sentence.split()) <= KEY_WORDS[1] else re.split(r"(?<=;)\s+", sentence)
            for part in parts:
                part = part.strip().rstrip(" ;,")
                words = len(part.split())
                if (KEY_WORDS[0] <= words <= KEY_WORDS[1] and not part.endswith(":") and not re.search(r"\[\d+\]", part)
                        and part != part.upper() and part[:1].isupper()):
                    out.append(part)
    return out


def _key_points(candidates: list[_Candidate]) -> list[Point]:
    """Up to KEY_MAX key points, best first: among the sentences that name the topic
    (KEY_SHARE of its terms), the best of each document, then of each further source
    (section); then any sentence, to reach KEY_MIN when there are that many."""
    ranked = sorted(candidates, key=lambda c: -c.score)
    chosen: list[_Candidate] = []

    def take(allowed, limit: int) -> None:
        for c in ranked:
            if len(chosen) >= limit:
                return
            if all(c.text != x.text for x in chosen) and allowed(c):
                chosen.append(c)

    take(lambda c: c.share >= KEY_SHARE and all(c.document != x.document for x in chosen), KEY_MAX)
    take(lambda c: c.share >= KEY_SHARE and all(c.ref != x.ref for x in chosen), KEY_MAX)
    take(lambda c: all(c.ref != x.ref for x in chosen), KEY_MIN)
    take(lambda c: True, KEY_MIN)
    return [Point(c.text, c.ref) for c in chosen]


# ------------------------------------------------------------------- build --

def build_briefing(assistant: Assistant, topic: str, sources: list[str] | None = None,
                   per_document: int = 4) -> Briefing:
    """An outline on ``topic`` from the passages that are about it.

    The chat's own stages decide: the topic goes through understanding, retrieval, the
    sentence-level rerank and the fitted gate like a question. Passages whose best
    sentence comes within BRIEF_MARGIN of the best passage's are used, each with its
    sentences close to its best (the chat's PIECE_MARGIN), so a point is there because
    it is about the topic, not because it shares half of the topic's words. Passages of
    one section of a document share one source [n].
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
    records = assistant.corpus.records
    weights = {t: assistant.corpus.terms.weight(t) for t in turn.query.terms}
    # at most a few passages per document, so every document gets its say; documents in
    # the order of their best passage, passages within a document in document order
    by_doc: dict[str, list] = {}
    for p in passages:
        if p.best < top - BRIEF_MARGIN:
            continue
        of_doc = by_doc.setdefault(assistant.chunks[p.row]["source"], [])
        if len(of_doc) < per_document:
            of_doc.append(p)
    by_section: dict[tuple[str, str], Source] = {}
    candidates: list[_Candidate] = []
    quoted: set[tuple[str, str]] = set()  # (source, line) of every point
    for source, doc_passages in by_doc.items():
        meta = documents.get(source, {}).get("metadata", {})
        title = meta.get("short_title") or documents.get(source, {}).get("title", source)
        themes = briefing.outline.setdefault(title, {})
        for p in sorted(doc_passages, key=lambda x: assistant.chunks[x.row]["index"]):
            chunk = assistant.chunks[p.row]
            units = pieces(chunk)
            close = sorted(range(len(units)), key=lambda k: -p.sims[k])[:POINTS_PER_PASSAGE]
            picked = [k for k in sorted(close) if p.sims[k] >= p.best - PIECE_MARGIN]
            if not picked:
                continue
            src = by_section.get((source, chunk["section"]))
            if src is None:
                src = _source(len(briefing.sources) + 1, source, chunk["title"], chunk["section"], meta,
                              chunk["start"], chunk["end"])
                by_section[(source, chunk["section"])] = src
                briefing.sources.append(src)
            else:  # another passage of the same section: one source spanning both
                src.start, src.end = min(src.start, chunk["start"]), max(src.end, chunk["end"])
            theme = chunk["section"].split(" › ")[0] if chunk["section"] else "Phần mở đầu"
            for k in picked:
                for line in units[k].text.split("\n"):
                    if (source, line) not in quoted:
                        quoted.add((source, line))
                        themes.setdefault(theme, []).append(Point(line, src.ref))
                # a sentence of the piece that also names the topic's words comes first
                for sentence in key_sentences(units[k].text):
                    share = _share(weights, sentence)
                    candidates.append(_Candidate(float(p.sims[k]) + KEY_LEXICAL * share, sentence, src.ref, source,
                                                 share))
    briefing.outline = {title: themes for title, themes in briefing.outline.items() if themes}
    if not briefing.sources:
        return Briefing(topic=topic, covered=False, message=refusal)
    for s in briefing.sources:
        s.text = records[s.source]["text"][s.start:s.end]
    briefing.targets = _targets(assistant, topic, sources, briefing, weights)
    if briefing.targets is not None and _TARGET_WORDS.search(fold(topic).lower()):
        candidates += _target_sentences(briefing.targets, weights)
    briefing.key_points = _key_points(candidates)
    return briefing


def _target_sentences(comparison: Comparison, weights: dict[str, float]) -> list[_Candidate]:
    """For a topic about targets: the sentences of the target passages that state a value
    of the table, ranked above every retrieved sentence (a plan's targets are its key
    points on that topic)."""
    out = []
    for c in comparison.citations:
        values = [v.text for cell in comparison.cells.values() for v in cell.values if v.citation == c.n]
        for quote in c.quotes:
            for sentence in key_sentences(quote):
                if any(v in sentence for v in values):
                    share = _share(weights, sentence)
                    out.append(_Candidate(1.0 + KEY_LEXICAL * share, sentence, c.n, c.source, max(share, KEY_SHARE)))
    return out


def _source(ref: int, source: str, title: str, section: str, meta: dict, start: int, end: int) -> Source:
    return Source(ref, source, title, section, "", known(meta.get("issuer")), known(meta.get("number")),
                  known(meta.get("date")), known(meta.get("place")), start, end, meta.get("short_title", ""))


def _share(weights: dict[str, float], text: str) -> float:
    """The IDF-weighted share of the topic's distinctive terms that ``text`` contains."""
    total = sum(weights.values())
    if not total:
        return 0.0
    tokens = set(lexical_tokens(text, folded=True))
    return sum(w for t, w in weights.items() if t in tokens) / total


def _targets(assistant: Assistant, topic: str, sources: list[str] | None, briefing: Briefing,
             weights: dict[str, float]) -> Comparison | None:
    """The plans' targets for the briefing, or None.

    A topic about targets ("mục tiêu … đến năm 2030", "chỉ tiêu …") gets every indicator
    for the year it names (else 2030, else the first year with targets). Another topic
    gets the indicators whose targets are about it — the value and the words after it
    hold at least TARGET_SHARE of the topic's distinctive terms ("… ứng dụng công nghệ
    cao, chuyển đổi số …" for "chuyển đổi số") — for the year it names, else the year with
    most such targets. The comparison's citations join the briefing's sources: a target
    passage in a section already cited shares its [n] (the source then spans both).
    """
    targets = assistant.corpus.targets
    if sources:
        targets = [t for t in targets if t.source in sources]
    if not targets:
        return None
    about = bool(_TARGET_WORDS.search(fold(topic).lower()))
    matched = targets if about else [t for t in targets if _share(weights, f"{t.value} {t.subject}") >= TARGET_SHARE]
    if not matched:
        return None
    years = sorted({t.year for t in matched})
    named = [int(y) for y in re.findall(r"\b(20\d\d)\b", topic) if int(y) in years]
    if named:
        year = named[0]
    else:
        year = max(years, key=lambda y: (not about and sum(t.year == y for t in matched), y == 2030, -y))
    indicators = None if about else list(dict.fromkeys(t.indicator for t in matched if t.year == year))
    comp = corpus_comparison(assistant.corpus, year, sources, indicators=indicators)
    if comp.empty:
        return None
    records = assistant.corpus.records
    numbers: dict[int, int] = {}
    for c in comp.citations:
        src = next((s for s in briefing.sources if s.source == c.source and s.section == c.section), None)
        if src is None:
            meta = assistant.documents.get(c.source, {}).get("metadata", {})
            src = _source(len(briefing.sources) + 1, c.source, c.title, c.section, meta, c.start, c.end)
            briefing.sources.append(src)
        else:
            src.start, src.end = min(src.start, c.start), max(src.end, c.end)
        src.text = records[src.source]["text"][src.start:src.end]
        numbers[c.n] = src.ref
    return comp.renumbered(numbers)


# -------------------------------------------------------------- DOCX helpers --

def _docx_styles(document) -> None:
    """Times New Roman throughout (headings too: the template's theme fonts removed),
    13 pt body, black headings; text language Vietnamese."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    sizes = {"Normal": 13, "Title": 20, "Subtitle": 11, "Heading 1": 15, "Heading 2": 13, "Heading 3": 13,
             "Caption": 10, "List Bullet": None, "List Number": None}
    for name, size in sizes.items():
        style = document.styles[name]
        style.font.name = "Times New Roman"
        rfonts = style.element.rPr.rFonts
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        rfonts.set(qn("w:eastAsia"), "Times New Roman")
        rfonts.set(qn("w:cs"), "Times New Roman")
        if size:
            style.font.size = Pt(size)
        if name.startswith(("Heading", "Title")):
            style.font.color.rgb = RGBColor(0x1F, 0x2A, 0x44)
    rpr = document.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    lang.set(qn("w:eastAsia"), "vi-VN")
    rpr.append(lang)


def _docx_footer(section, title: str) -> None:
    """"<title> — trang N" in the footer (a PAGE field)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    paragraph = section.footer.paragraphs[0]
    run = paragraph.add_run(f"{title} — trang ")
    run.font.size = Pt(9)
    field_run = paragraph.add_run()
    field_run.font.size = Pt(9)
    for tag, text in (("w:fldChar", "begin"), ("w:instrText", "PAGE"), ("w:fldChar", "end")):
        element = OxmlElement(tag)
        if tag == "w:fldChar":
            element.set(qn("w:fldCharType"), text)
        else:
            element.set(qn("xml:space"), "preserve")
            element.text = text
        field_run._r.append(element)


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
