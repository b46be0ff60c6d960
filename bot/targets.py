"""Quantitative targets (2025/2030/2045) extracted from the plans, for side-by-side comparison.

Each plan states its targets under a horizon heading ("a) Đến năm 2030", "2.2. Tầm nhìn đến
năm 2045", "- Đến năm 2030:"); each target is a number or a percentage followed by what it
counts ("400 hợp tác xã", "trên 50% hợp tác xã ứng dụng công nghệ cao"). The value is kept as
written and, where possible, as a number or range; the paragraph it comes from is kept
verbatim with its offsets, so every cell of a comparison can be cited.

A :class:`Comparison` (one year, indicators × documents) is the one structure behind the
comparison table (chat, CLI, briefing) and the chart (:func:`chart_png`), so the chart's
bars are the table's cells by construction (:func:`chart_values`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

from .documents import SourceDocument
from .vietnamese import canonical, fold

_HORIZON = re.compile(r"^(?:[-+*•]\s*|[a-zđ]\)\s*|\d+(?:\.\d+)*\.\s*)?(?:Tầm nhìn\s+)?đến năm (\d{4})\s*:?\s*$",
                      re.IGNORECASE)
_HORIZON_INLINE = re.compile(r"(?:phấn đấu )?(?:đến|tới) năm (20\d\d)", re.IGNORECASE)
_QUANTITY = re.compile(
    r"(?P<value>(?:(?i:ít nhất|tối thiểu|trên|hơn|khoảng|từ|đạt|chiếm|có)\s+)?"
    r"\d{1,3}(?:\.\d{3})*(?:,\d+)?\s*%?(?:\s*[-–]\s*\d{1,3}(?:\.\d{3})*(?:,\d+)?\s*%?)?)"
    r"(?=(?P<rest>(?:[^;.]|\.(?=\d)){0,160}))"
)
# (indicator, folded keywords that must occur right after the value), first match wins
_INDICATORS_PERCENT = [
    ("% bán qua thương mại điện tử", ("thuong mai dien tu",)),
    ("% ứng dụng công nghệ cao", ("cong nghe cao",)),
    ("% dân số tham gia", ("dan so",)),
    ("% có lao động trẻ", ("lao dong tre",)),
    ("% truy xuất nguồn gốc", ("truy xuat",)),
    ("% khá, tốt / hiệu quả", ("kha", "tot", "hieu qua")),
    ("% liên kết chuỗi giá trị", ("chuoi", "lien ket")),
]
_INDICATORS_COUNT = [
    ("Số liên hiệp HTX", ("lien hiep hop tac xa",)),
    ("Số tổ hợp tác", ("to hop tac",)),
    ("Số hợp tác xã", ("hop tac xa",)),
    ("Số mô hình HTX", ("mo hinh",)),
    ("Số thành viên", ("thanh vien",)),
]


@dataclass
class Target:
    source: str
    title: str
    place: str
    year: int
    indicator: str
    value: str  # as written: "400", "60-70%", "trên 50%", "ít nhất 03"
    low: float | None
    high: float | None
    subject: str  # the words after the value, verbatim
    passage: str  # the paragraph, verbatim
    section: str
    start: int
    end: int

    def to_json(self) -> dict:
        return asdict(self)


def parse_number(text: str) -> float:
    """Vietnamese number: "5.200" = 5200, "12,5" = 12.5."""
    return float(text.replace(".", "").replace(",", "."))


def _range(value: str) -> tuple[float | None, float | None]:
    numbers = [parse_number(n) for n in re.findall(r"\d{1,3}(?:\.\d{3})*(?:,\d+)?", value)]
    if not numbers:
        return None, None
    v = fold(value.lower())
    if len(numbers) >= 2:
        return numbers[0], numbers[1]
    if v.startswith(("it nhat", "toi thieu", "tren", "hon")):
        return numbers[0], None
    return numbers[0], numbers[0]


def _nearest(text: str, table: list[tuple[str, tuple[str, ...]]]) -> str | None:
    """The indicator whose keyword occurs first in ``text``."""
    best = None
    for name, keys in table:
        for k in keys:
            i = text.find(k)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, name)
    return best[1] if best else None


def _indicator(value: str, rest: str, before: str, previous: str | None) -> str | None:
    after = fold(canonical(rest))[:90]
    if "%" in value:
        # "… đạt khá, tốt chiếm 60-70% tổng số …": the words may also come just before
        return _nearest(after, _INDICATORS_PERCENT) or _nearest(fold(canonical(before))[-60:][::-1][::-1],
                                                                  _INDICATORS_PERCENT)
    head = after.strip()[:40]
    for name, keys in _INDICATORS_COUNT:
        if any(head.startswith(k) or head.startswith("moi " + k) for k in keys):
            if name == "Số thành viên" and previous in ("Số tổ hợp tác", "Số hợp tác xã"):
                return f"Thành viên ({previous[3:]})"
            return name
    return None


def extract_targets(document: SourceDocument, section_of=None) -> list[Target]:
    """All quantitative targets in a plan (not in the Law), in document order."""
    if document.metadata.get("kind") == "Luật":
        return []
    paragraphs = document.text.split("\n")
    out: list[Target] = []
    year: int | None = None
    offset = 0
    for line in paragraphs:
        start = offset
        offset += len(line) + 1
        stripped = line.strip()
        m = _HORIZON.match(stripped)
        if m:
            year = int(m.group(1))
            continue
        if re.match(r"^(?:[IVXLC]+\.|\d+\.(?!\d))\s", stripped) and not re.search(r"mục tiêu", stripped, re.I):
            year = None  # a new section that is not about targets
        if re.match(r"^(?:[IVXLC]+\.)\s", stripped):
            year = None
        if year is None:
            continue
        previous = None
        for q in _QUANTITY.finditer(line):
            value = q.group("value").strip()
            if re.fullmatch(r"(?:19|20)\d\d", value):  # a year, not a target
                continue
            inline = _HORIZON_INLINE.search(line[:q.start()])
            horizon = int(inline.group(1)) if inline and int(inline.group(1)) != year and "2025" == inline.group(1) \
                else year
            indicator = _indicator(value, q.group("rest"), line[max(0, q.start() - 60):q.start()], previous)
            if indicator is None:
                continue
            if not indicator.startswith("Thành viên"):
                previous = indicator
            low, high = _range(value)
            out.append(Target(
                source=document.source, title=document.title, place=document.metadata.get("place", ""),
                year=horizon, indicator=indicator, value=value, low=low, high=high,
                subject=q.group("rest").strip(" ,"), passage=line, section=section_of(start) if section_of else "",
                start=start, end=start + len(line),
            ))
    return out


def build_targets(documents: list[SourceDocument]) -> list[Target]:
    from .chunking import chunk_document

    out = []
    for doc in documents:
        chunks = chunk_document(doc)

        def section_of(offset: int, chunks=chunks) -> str:
            for c in chunks:
                if c.start <= offset < c.end + 1:
                    return c.section
            return ""

        out += extract_targets(doc, section_of)
    return out


# ------------------------------------------------------------------ comparison --
#
# One structure (Comparison) makes the chat's table, the briefing's table and the chart,
# so what the chart plots is what the table says, cell for cell. A cell quotes the values
# as written, each with the number of its citation; a citation is one (document, section)
# — the passage from the first to the last target paragraph of that section the
# comparison uses — so two numbers never point at one passage. A document that sets a
# target for other years or other indicators, or that the question names, gets a column;
# its empty cells say NO_TARGET instead of leaving the document out.

NO_TARGET = "không đặt chỉ tiêu"
_RULES = ("luật", "bộ luật", "nghị định", "thông tư")


def unit_of(indicator: str) -> str:
    """What an indicator counts: "%" for a share, else the thing counted ("hợp tác xã")."""
    if indicator.startswith("%"):
        return "%"
    if indicator.startswith("Thành viên") or indicator == "Số thành viên":
        return "thành viên"
    if indicator.startswith("Số "):
        return indicator[3:]
    return ""


@dataclass
class Indicator:
    name: str  # "Số hợp tác xã", "% liên kết chuỗi giá trị"
    unit: str  # "hợp tác xã", "%"


@dataclass
class DocumentColumn:
    source: str  # file name under documents/
    title: str
    short_title: str
    place: str
    label: str  # the column header: the place ("Cam Ranh"), else the short title


@dataclass
class Value:
    text: str  # as written: "hơn 5.200", "chiếm 60-70%"
    low: float | None
    high: float | None  # None: open-ended ("trên 50%")
    citation: int  # [n] of the passage it is quoted from

    @property
    def height(self) -> float | None:
        """What a bar plots: the stated floor (a range's low end), else the value."""
        return self.low if self.low is not None else self.high


@dataclass
class Cell:
    """One indicator × one document: the values the document sets (usually one), or none."""

    indicator: str
    source: str
    values: list[Value] = field(default_factory=list)
    section: str = ""
    start: int | None = None  # the cell's own target paragraphs
    end: int | None = None

    @property
    def citation(self) -> int | None:
        return self.values[0].citation if self.values else None

    @property
    def value_text(self) -> str:
        return "; ".join(v.text for v in self.values) or NO_TARGET

    @property
    def value(self) -> float | None:
        return self.values[0].height if self.values else None

    @property
    def low(self) -> float | None:
        return self.values[0].low if self.values else None

    @property
    def high(self) -> float | None:
        return self.values[0].high if self.values else None

    def markdown(self) -> str:
        """"400 [1]", "Từ 70% - 80% [1]; 100% [1]", or NO_TARGET."""
        return "; ".join(f"{v.text} [{v.citation}]" for v in self.values) or NO_TARGET


@dataclass
class TargetCitation:
    n: int
    source: str
    title: str
    place: str
    section: str
    start: int
    end: int
    passage: str  # the document's text[start:end] (given the texts), else the quotes joined
    quotes: list[str]  # the target paragraphs it covers, verbatim


@dataclass
class Comparison:
    year: int
    indicators: list[Indicator]
    documents: list[DocumentColumn]
    cells: dict[tuple[str, str], Cell]  # (indicator name, source) → cell
    citations: list[TargetCitation]  # in order of [n] (built: citations[n - 1] is [n])

    @property
    def empty(self) -> bool:
        return not self.indicators or not self.documents

    def cell(self, indicator: str, source: str) -> Cell:
        return self.cells.get((indicator, source)) or Cell(indicator, source)

    def header(self) -> list[str]:
        return [f"Chỉ tiêu đến năm {self.year}"] + [d.label for d in self.documents]

    def rows(self) -> list[list[str]]:
        """The table's body as text cells (what the Markdown shows, for a data grid)."""
        return [[i.name] + [self.cell(i.name, d.source).markdown() for d in self.documents] for i in self.indicators]

    def markdown(self) -> str:
        if self.empty:
            return ""
        lines = ["| " + " | ".join(self.header()) + " |", "|" + "---|" * (len(self.documents) + 1)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)

    def citation(self, n: int) -> TargetCitation:
        """The citation [n]."""
        return next(c for c in self.citations if c.n == n)

    def renumbered(self, numbers: dict[int, int]) -> Comparison:
        """The same comparison with [n] → [numbers[n]] (its citations joined to a longer
        list, e.g. a briefing's sources); citations that merge into one number keep the
        first's passage."""
        cells = {key: replace(c, values=[replace(v, citation=numbers[v.citation]) for v in c.values])
                 for key, c in self.cells.items()}
        citations: dict[int, TargetCitation] = {}
        for c in self.citations:
            citations.setdefault(numbers[c.n], replace(c, n=numbers[c.n]))
        return Comparison(self.year, list(self.indicators), list(self.documents), cells,
                          sorted(citations.values(), key=lambda c: c.n))

    def to_json(self) -> dict:
        return {
            "year": self.year,
            "indicators": [asdict(i) for i in self.indicators],
            "documents": [asdict(d) for d in self.documents],
            "cells": [{"indicator": c.indicator, "source": c.source, "text": c.value_text, "citation": c.citation,
                       "values": [asdict(v) for v in c.values], "section": c.section, "start": c.start, "end": c.end}
                      for c in self.cells.values()],
            "citations": [asdict(c) for c in self.citations],
            "markdown": self.markdown(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Comparison:
        cells = {}
        for c in data["cells"]:
            cells[(c["indicator"], c["source"])] = Cell(c["indicator"], c["source"], [Value(**v) for v in c["values"]],
                                                        c.get("section", ""), c.get("start"), c.get("end"))
        return cls(data["year"], [Indicator(**i) for i in data["indicators"]],
                   [DocumentColumn(**d) for d in data["documents"]], cells,
                   [TargetCitation(**c) for c in data["citations"]])


def build_comparison(targets: list[Target], year: int, sources: list[str] | None = None,
                     places: list[str] | None = None, *, documents: Mapping[str, dict] | None = None,
                     texts: Callable[[str], str] | Mapping[str, str] | None = None,
                     indicators: list[str] | None = None) -> Comparison:
    """Targets for ``year`` side by side: indicators × documents, every value cited.

    ``sources`` keeps those documents only, ``places`` the documents about those places
    ("Cà Mau"), ``indicators`` those rows only. ``documents`` (the index manifest: source →
    title, metadata) names the columns and adds a document the filter names that sets no
    target at all (so "Cà Mau và Quảng Nam" shows Quảng Nam as NO_TARGET rather than
    dropping it). ``texts`` (source → the document's text) makes each citation's passage
    the exact text[start:end]; without it the passage is its quotes joined.
    """
    documents = documents or {}

    def named(title: str, place: str) -> bool:
        return not places or any(q in place or q in title for q in places)

    in_scope = [t for t in targets if (not sources or t.source in sources) and named("", t.place)]
    columns: dict[str, DocumentColumn] = {}

    def add(source: str, title: str, place: str) -> None:
        meta = documents.get(source, {}).get("metadata", {})
        short = meta.get("short_title") or title
        columns[source] = DocumentColumn(source, title, short, place, place.split(",")[0].strip() or short)

    for t in in_scope:  # every document with targets (of any year or indicator)
        if t.source not in columns:
            add(t.source, documents.get(t.source, {}).get("title") or t.title, t.place)
    if sources or places:  # and every document the question or the filter names
        for source, d in documents.items():
            meta = d.get("metadata", {})
            if source in columns or (sources and source not in sources) or meta.get("kind", "").lower() in _RULES:
                continue  # (laws, decrees and circulars state rules, not a plan's targets)
            if named(d.get("title", ""), meta.get("place", "")):
                add(source, d.get("title", source), meta.get("place", ""))
    labels = [c.label for c in columns.values()]
    for c in columns.values():  # two documents of one place: their short titles tell them apart
        if labels.count(c.label) > 1:
            c.label = c.short_title
    chosen = [t for t in in_scope if t.year == year and (not indicators or t.indicator in indicators)]
    names = list(dict.fromkeys(t.indicator for t in chosen))
    if not chosen:
        return Comparison(year, [], list(columns.values()), {}, [])

    # one citation per (document, section): the passage from its first to its last target
    groups: dict[tuple[str, str], list[Target]] = {}
    for t in chosen:
        groups.setdefault((t.source, t.section), []).append(t)
    text_of = texts.get if isinstance(texts, Mapping) else texts
    numbers: dict[tuple[str, str], int] = {}
    citations: list[TargetCitation] = []

    def cite(t: Target) -> int:
        key = (t.source, t.section)
        if key not in numbers:
            members = groups[key]
            start, end = min(m.start for m in members), max(m.end for m in members)
            quotes = list(dict.fromkeys(m.passage for m in sorted(members, key=lambda m: m.start)))
            text = text_of(t.source) if text_of else None
            passage = text[start:end] if text else "\n".join(quotes)
            numbers[key] = len(citations) + 1
            citations.append(TargetCitation(numbers[key], t.source, columns[t.source].title, t.place, t.section,
                                            start, end, passage, quotes))
        return numbers[key]

    cells: dict[tuple[str, str], Cell] = {}
    for name in names:
        for column in columns.values():
            found = [t for t in chosen if t.indicator == name and t.source == column.source]
            if found:
                cells[(name, column.source)] = Cell(
                    name, column.source, [Value(t.value, t.low, t.high, cite(t)) for t in found], found[0].section,
                    min(t.start for t in found), max(t.end for t in found))
    return Comparison(year, [Indicator(n, unit_of(n)) for n in names], list(columns.values()), cells, citations)


def corpus_comparison(corpus, year: int, sources: list[str] | None = None, places: list[str] | None = None,
                      indicators: list[str] | None = None) -> Comparison:
    """:func:`build_comparison` over a loaded corpus (bot.corpus.Corpus, e.g.
    ``assistant.corpus``): its targets, document names and texts."""
    return build_comparison(corpus.targets, year, sources, places, documents=corpus.documents,
                            texts=lambda source: corpus.records[source]["text"], indicators=indicators)


def available(targets: list[Target], sources: list[str] | None = None) -> dict[int, list[str]]:
    """Year → the indicators some document sets for it (for a year / indicator chooser)."""
    out: dict[int, list[str]] = {}
    for t in targets:
        if not sources or t.source in sources:
            names = out.setdefault(t.year, [])
            if t.indicator not in names:
                names.append(t.indicator)
    return dict(sorted(out.items()))


def markdown_table(targets: list[Target], year: int, sources: list[str] | None = None,
                   places: list[str] | None = None, documents: Mapping[str, dict] | None = None,
                   texts: Callable[[str], str] | Mapping[str, str] | None = None) -> tuple[str, list[TargetCitation]]:
    """The comparison as Markdown (indicators × documents, each value with its [n]) and its
    citations in order (``citations[n - 1]`` is [n]; each has ``.passage``); ("", []) when
    no document sets a target for ``year``."""
    comparison = build_comparison(targets, year, sources, places, documents=documents, texts=texts)
    return (comparison.markdown(), comparison.citations) if not comparison.empty else ("", [])


# ------------------------------------------------------------------------ chart --

@dataclass
class ChartBar:
    """One bar (or one labelled gap) of the chart, as plotted."""

    indicator: str
    unit: str
    source: str
    label: str  # the document's column header
    text: str  # the value as written (the table's cell), or NO_TARGET for a gap
    low: float | None
    high: float | None
    height: float | None  # None: a gap (the document sets no such target)
    citation: int | None


def chart_values(comparison: Comparison | dict, indicator: str | list[str] | None = None) -> list[ChartBar]:
    """What :func:`chart_png` plots, bar by bar: per indicator (all, the one named, or
    those listed), per document, each value of the cell — or a gap labelled NO_TARGET."""
    comp = comparison if isinstance(comparison, Comparison) else Comparison.from_json(comparison)
    wanted = [indicator] if isinstance(indicator, str) else indicator
    names = [i for i in comp.indicators if wanted is None or i.name in wanted]
    bars = []
    for ind in names:
        for d in comp.documents:
            cell = comp.cell(ind.name, d.source)
            if not cell.values:
                bars.append(ChartBar(ind.name, ind.unit, d.source, d.label, NO_TARGET, None, None, None, None))
            for v in cell.values:
                bars.append(ChartBar(ind.name, ind.unit, d.source, d.label, v.text, v.low, v.high, v.height, v.citation))
    return bars


CHART_FONT = "DejaVu Sans"  # ships with matplotlib; has every Vietnamese letter


def chart_png(comparison: Comparison | dict, indicator: str | list[str] | None = None, dpi: int = 150,
              columns: int = 3) -> bytes:
    """A grouped bar chart of the comparison as PNG: one panel per indicator (its unit on
    the axis), one bar per document in it, each labelled with the value as written and its
    [n]; a range is drawn solid to its low end and hatched to its high end; a document
    without such a target is a gap labelled NO_TARGET. The sources of [n] are listed under
    the panels (``columns`` panels a row). ``comparison`` may be its ``to_json()`` (as on
    an Answer). Raises ValueError when there is nothing to plot."""
    import math
    import textwrap

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    comp = comparison if isinstance(comparison, Comparison) else Comparison.from_json(comparison)
    bars = chart_values(comp, indicator)
    names = list(dict.fromkeys(b.indicator for b in bars))
    if not names:
        raise ValueError(f"Không có chỉ tiêu nào để vẽ cho năm {comp.year}.")
    font = {"fontfamily": CHART_FONT}
    used = sorted({b.citation for b in bars if b.citation})
    by_source = {d.source: d for d in comp.documents}
    footer = [textwrap.shorten(f"[{n}] {by_source[c.source].short_title} — {c.section or 'phần mở đầu'}", 150,
                               placeholder="…")
              for n in used for c in [comp.citation(n)]]
    ncols = 1 if len(names) == 1 else min(columns, len(names))
    nrows = math.ceil(len(names) / ncols)
    panel_w, panel_h = (9.0, 5.0) if len(names) == 1 else (4.8, 3.8)
    footer_h = 0.25 + 0.18 * len(footer)
    height = panel_h * nrows + 0.7 + footer_h
    fig = Figure(figsize=(panel_w * ncols, height), dpi=dpi)
    FigureCanvasAgg(fig)
    palette = matplotlib.colormaps["tab10"]
    colour = {d.source: palette(i % 10) for i, d in enumerate(comp.documents)}
    for k, name in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        panel = [b for b in bars if b.indicator == name]
        unit = panel[0].unit
        top = max(max(b.height or 0, b.high or 0) for b in panel) or 1.0
        ymax = 118.0 if unit == "%" and top <= 100 else top * 1.35
        for i, d in enumerate(comp.documents):
            slot = [b for b in panel if b.source == d.source]
            width = 0.8 / len(slot)
            for j, b in enumerate(slot):
                x = i + (j - (len(slot) - 1) / 2) * width
                if b.height is None:  # a labelled gap
                    ax.bar(x, ymax * 0.22, width * 0.9, fill=False, edgecolor="#c0c0c0", linestyle=":", linewidth=0.8)
                    ax.text(x, ymax * 0.11, "không đặt\nchỉ tiêu", ha="center", va="center", fontsize=7.5,
                            color="#707070", style="italic", **font)
                    continue
                ax.bar(x, b.height, width * 0.9, color=colour[d.source])
                reach = b.height
                if b.high is not None and b.high > b.height:  # a range: hatched up to its high end
                    ax.bar(x, b.high - b.height, width * 0.9, bottom=b.height, color=colour[d.source], alpha=0.35,
                           hatch="//", edgecolor=colour[d.source])
                    reach = b.high
                label = textwrap.fill(b.text, 12 if len(slot) == 1 else 8) + f" [{b.citation}]"
                ax.text(x, reach + ymax * 0.015, label, ha="center", va="bottom", fontsize=8 if len(slot) == 1 else 7,
                        **font)
        ax.set_xlim(-0.6, len(comp.documents) - 0.4)
        ax.set_ylim(0, ymax)
        if unit != "%":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(range(len(comp.documents)), [textwrap.fill(d.label, 14) for d in comp.documents],
                      fontsize=8.5, **font)
        for tick in ax.get_yticklabels():
            tick.set_fontfamily(CHART_FONT)
        if len(names) > 1:
            ax.set_title(name, fontsize=10.5, **font)
        ax.set_ylabel("Tỷ lệ (%)" if unit == "%" else f"Số lượng ({unit})" if unit else "Giá trị", fontsize=9, **font)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", alpha=0.25)
        ax.set_axisbelow(True)
    what = names[0] if len(names) == 1 else "Chỉ tiêu"
    fig.suptitle(f"{what} đến năm {comp.year} theo các văn bản — [n]: nguồn trích dẫn", fontsize=13, **font)
    fig.text(0.01, 0.01, "\n".join(["Nguồn:"] + footer), fontsize=7.5, va="bottom", ha="left", color="#333333",
             **font)
    fig.tight_layout(rect=(0, (footer_h + 0.1) / height, 1, 1 - 0.55 / height))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_targets(targets: list[Target], path) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for t in targets:
            f.write(json.dumps(asdict(t), ensure_ascii=False) + "\n")


def load_targets(path) -> list[Target]:
    import json

    with open(path, encoding="utf-8") as f:
        return [Target(**json.loads(line)) for line in f if line.strip()]
