"""A briefing as a 16:9 slide deck (python-pptx): the slides of ``Briefing.slides()``.

Each slide is drawn on the blank layout with its own text boxes (the default template's
placeholders are laid out for 4:3). Bullets carry their [n]; the speaker notes of a slide
list the sources its bullets cite, so a trainer can answer "where does this come from?".
"""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.util import Emu, Inches, Pt

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
MARGIN = Inches(0.6)
FONT = "Arial"  # in every PowerPoint and LibreOffice; has the Vietnamese letters
NAVY = RGBColor(0x1F, 0x2A, 0x44)
GREY = RGBColor(0x55, 0x5F, 0x6D)


def render(briefing) -> bytes:
    """The deck of ``briefing.slides()`` as PPTX bytes."""
    from .briefing import AUTHOR

    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    props = deck.core_properties
    props.title, props.subject, props.author, props.last_modified_by = briefing.title, briefing.topic, AUTHOR, AUTHOR
    props.language = "vi-VN"
    props.keywords = "tập huấn; kinh tế tập thể; hợp tác xã"
    props.revision = 1
    blank = deck.slide_layouts[6]
    by_ref = {s.ref: s for s in briefing.sources}
    for plan in briefing.slides():
        slide = deck.slides.add_slide(blank)
        if plan.kind == "title":
            _text(slide, plan.title, MARGIN, Inches(2.2), WIDTH - 2 * MARGIN, Inches(2.0), 36, bold=True, colour=NAVY)
            _bullets(slide, plan.items, MARGIN, Inches(4.4), WIDTH - 2 * MARGIN, Inches(1.5), 16, bullet=False,
                     colour=GREY)
            continue
        _title(slide, plan)
        top = Inches(1.45)
        body_h = HEIGHT - top - Inches(0.45)
        if plan.kind == "targets_table":
            _table(slide, briefing.targets.header(), [row.split("\t") for row in plan.items], top, body_h)
        elif plan.kind == "chart":
            from .targets import chart_png

            _picture(slide, chart_png(briefing.targets, plan.items), top, body_h)
        else:
            size = 13 if plan.kind == "sources" else _font_size(plan.items)
            _bullets(slide, plan.items, MARGIN, top, WIDTH - 2 * MARGIN, body_h, size, bullet=plan.kind != "sources")
        if plan.refs and plan.kind != "sources":
            notes = slide.notes_slide.notes_text_frame
            notes.text = "Nguồn:\n" + "\n".join(by_ref[n].line() for n in plan.refs if n in by_ref)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _font_size(items: list[str]) -> int:
    """20 pt for a light slide down to 14 pt for one long sentence (the slide rule in
    bot/briefing.py keeps a slide within SLIDE_CHARS otherwise)."""
    chars = sum(len(t) for t in items)
    return 20 if chars <= 300 else 18 if chars <= 450 else 16 if chars <= 720 else 14


def _title(slide, plan) -> None:
    if plan.document:  # a section slide names its document above the theme
        _text(slide, plan.document, MARGIN, Inches(0.3), WIDTH - 2 * MARGIN, Inches(0.4), 13, colour=GREY)
    _text(slide, plan.title, MARGIN, Inches(0.65), WIDTH - 2 * MARGIN, Inches(0.75), 26, bold=True, colour=NAVY)


def _text(slide, text: str, left, top, width, height, size: int, bold: bool = False, colour=None):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    _font(run, size, bold, colour)
    return box


def _bullets(slide, items: list[str], left, top, width, height, size: int, bullet: bool = True, colour=None) -> None:
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE  # a safety net: the slide rule keeps text inside
    for i, item in enumerate(items):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.space_after = Pt(size * 0.5)
        run = paragraph.add_run()
        run.text = f"• {item}" if bullet else item
        _font(run, size, False, colour)


def _font(run, size: int, bold: bool, colour) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour


def _table(slide, header: list[str], rows: list[list[str]], top, height) -> None:
    width = WIDTH - 2 * MARGIN
    row_h = min(Inches(0.45), int(height / (len(rows) + 1)))
    shape = slide.shapes.add_table(len(rows) + 1, len(header), MARGIN, top, width, row_h * (len(rows) + 1))
    table = shape.table
    first = int(width * (0.3 if len(header) > 2 else 0.5))
    table.columns[0].width = first
    for c in range(1, len(header)):
        table.columns[c].width = int((width - first) / (len(header) - 1))
    for r, values in enumerate([header] + rows):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text = value
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    _font(run, 12, r == 0, None)


def _picture(slide, png: bytes, top, height) -> None:
    """The chart, as large as the slide allows, centred."""
    px_w, px_h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    box_w = WIDTH - 2 * MARGIN
    scale = min(box_w / px_w, height / px_h)
    w, h = Emu(int(px_w * scale)), Emu(int(px_h * scale))
    slide.shapes.add_picture(io.BytesIO(png), int((WIDTH - w) / 2), top, w, h)
