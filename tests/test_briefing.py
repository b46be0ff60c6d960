"""Briefings: a cited outline on a topic, as Markdown and as a Word document."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import docx
import pytest

from bot.briefing import build_briefing

from .conftest import MODEL_CACHE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def briefing(assistant):
    return build_briefing(assistant, "chuyển đổi số trong hợp tác xã")


def test_every_point_is_verbatim_in_its_cited_source(assistant, briefing):
    texts = {s: d["text"] for s, d in assistant.handle.documents().items()}
    assert briefing.covered and len(briefing.sources) >= 2
    by_ref = {s.ref: s for s in briefing.sources}
    points = [p for themes in briefing.outline.values() for ps in themes.values() for p in ps]
    assert points
    for p in points:
        source = by_ref[p.ref]
        assert p.text in source.text and source.text in texts[source.source]
    assert any("chuyển đổi số" in p.text for p in points)
    md = briefing.markdown()
    assert md.startswith("# Tài liệu tập huấn: chuyển đổi số trong hợp tác xã") and "\n## Nguồn\n" in md
    for n in map(int, re.findall(r"\[(\d+)\]", md)):
        assert n in by_ref
    assert "Quốc hội, 17/2023/QH15" in md  # issuer and number in the sources list


def test_docx_opens_and_contains_the_cited_points(briefing):
    document = docx.Document(io.BytesIO(briefing.docx()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Tài liệu tập huấn: chuyển đổi số trong hợp tác xã" in text
    first = next(p for themes in briefing.outline.values() for ps in themes.values() for p in ps)
    assert first.text.lstrip("-+* ")[:60] in text and f"[{first.ref}]" in text
    assert "Nguồn" in text and "hợp tác xã" in text  # Vietnamese typography intact


def test_uncovered_topic_gets_no_briefing(assistant):
    b = build_briefing(assistant, "cách nấu phở bò ngon")
    assert not b.covered and "không đề cập" in b.markdown() and not b.sources


def test_a_topic_given_as_a_term_is_covered(assistant):
    """A trainer's topic is a term, not a question: the plans' own phrase gets a briefing."""
    b = build_briefing(assistant, "liên kết chuỗi giá trị")
    assert b.covered and any("chuỗi giá trị" in p.text for themes in b.outline.values() for ps in themes.values() for p in ps)


def test_cli_writes_docx(corpus_index, tmp_path):
    settings, _, _ = corpus_index
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_MODEL_CACHE": str(MODEL_CACHE)}
    out = tmp_path / "thanh-lap.docx"
    run = subprocess.run([sys.executable, "-m", "bot", "brief", "thành lập hợp tác xã", "--format", "docx",
                          "-o", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "Giấy đề nghị đăng ký thành lập" in text or "hội nghị thành lập" in text.lower()


# ------------------------------------------------------------------------------------------
# key points, targets, DOCX layout and metadata, slides

from bot.briefing import AUTHOR, Briefing  # noqa: E402
from bot.documents import known  # noqa: E402

from .test_targets import assert_chart_is_the_table, parse_table  # noqa: E402

UNKNOWN = "không ghi trong văn bản"


@pytest.fixture(scope="module")
def targets_briefing(assistant):
    return build_briefing(assistant, "mục tiêu phát triển hợp tác xã đến năm 2030")


def _document_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_key_points_are_short_verbatim_cited_and_spread(assistant, briefing, targets_briefing):
    texts = {s: d["text"] for s, d in assistant.handle.documents().items()}
    for b in (briefing, targets_briefing):
        by_ref = {s.ref: s for s in b.sources}
        assert 3 <= len(b.key_points) <= 7
        for p in b.key_points:
            source = by_ref[p.ref]  # the citation resolves
            assert p.text in source.text and source.text == texts[source.source][source.start:source.end]
            assert len(p.text.split()) <= 40 and "\n" not in p.text
        assert len({p.ref for p in b.key_points}) >= 3  # different sections
        md = b.markdown()
        first_document = next(iter(b.outline))
        assert md.index("## Điểm chính") < md.index(f"## {first_document}")
        for p in b.key_points:
            assert f"- {p.text} [{p.ref}]" in md
    assert any("chuyển đổi số" in p.text for p in briefing.key_points)
    assert len({by.source for by in briefing.sources if by.ref in {p.ref for p in briefing.key_points}}) >= 2


def test_no_two_sources_quote_one_section(briefing, targets_briefing):
    for b in (briefing, targets_briefing):
        sections = [(s.source, s.section) for s in b.sources]
        assert len(sections) == len(set(sections))
        assert [s.ref for s in b.sources] == list(range(1, len(b.sources) + 1))


def test_sources_say_only_what_is_known(briefing, targets_briefing):
    assert known("không ghi trong văn bản") == "" and known("năm 2023 (không ghi trong văn bản)") == "năm 2023"
    assert known("07/10/2022") == "07/10/2022" and known(None) == ""
    for b in (briefing, targets_briefing):
        for text in (b.markdown(), _document_text(b.docx())):
            assert UNKNOWN not in text and ", ," not in text
    ca_mau = next(s for s in targets_briefing.sources if s.source == "ca-mau_ke-hoach-kinh-te-tap-the.txt")
    assert " — UBND tỉnh Cà Mau, đầu năm 2023 — " in ca_mau.line()  # number not printed: left out
    kon_tum = next(s for s in targets_briefing.sources if s.source.startswith("kon-tum"))
    assert " — Tỉnh ủy Kon Tum, 41-CTr/TU, 07/10/2022 — " in kon_tum.line()


def test_docx_is_a4_titled_and_named_after_the_topic(briefing):
    document = docx.Document(io.BytesIO(briefing.docx()))
    section = document.sections[0]
    assert abs(section.page_width - docx.shared.Mm(210)) < docx.shared.Mm(0.5)
    assert abs(section.page_height - docx.shared.Mm(297)) < docx.shared.Mm(0.5)
    assert docx.shared.Mm(15) <= section.left_margin <= docx.shared.Mm(35)
    props = document.core_properties
    assert props.title == "Tài liệu tập huấn: chuyển đổi số trong hợp tác xã"
    assert props.author == AUTHOR != "python-docx" and props.language == "vi-VN"
    assert briefing.filename() == "tai-lieu-tap-huan-chuyen-doi-so-trong-hop-tac-xa.docx"
    assert briefing.filename("pptx").endswith(".pptx")
    text = "\n".join(p.text for p in document.paragraphs)
    assert text.index("Điểm chính") < text.index(next(iter(briefing.outline)))


def test_file_names_are_bounded_ascii():
    long = Briefing(topic="Đổi mới, phát triển và nâng cao hiệu quả kinh tế tập thể " * 5, covered=False)
    name = long.filename()
    assert name.startswith("tai-lieu-tap-huan-doi-moi-phat-trien-va-nang-cao") and name.endswith(".docx")
    assert len(name) <= len("tai-lieu-tap-huan-") + 60 + len(".docx") and name.isascii() and "--" not in name
    assert Briefing(topic="???", covered=False).filename() == "tai-lieu-tap-huan.docx"


def test_a_targets_topic_gets_the_table_and_the_chart(assistant, targets_briefing):
    b = targets_briefing
    comparison = b.targets
    assert comparison is not None and comparison.year == 2030
    md = b.markdown()
    table = md.split("## Chỉ tiêu đến năm 2030\n\n", 1)[1].split("\n\n", 1)[0]
    header, cells = parse_table(table)
    assert header == ["Chỉ tiêu đến năm 2030", "Cà Mau", "Cam Ranh", "Kon Tum"]
    assert_chart_is_the_table(comparison, table)
    # the table's [n] are the briefing's sources, and each value is in its source
    by_ref = {s.ref: s for s in b.sources}
    for cell in comparison.cells.values():
        for v in cell.values:
            assert by_ref[v.citation].source == cell.source and v.text in by_ref[v.citation].text
    document = docx.Document(io.BytesIO(b.docx()))
    [grid] = document.tables
    assert [c.text for c in grid.rows[0].cells] == comparison.header()
    assert [[c.text for c in row.cells] for row in grid.rows[1:]] == comparison.rows()
    assert len(document.inline_shapes) == 1
    blob = document.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    assert document.part.related_parts[blob].blob[:4] == b"\x89PNG"


def test_slides_one_per_section_continued_not_overflowing(briefing, targets_briefing):
    from pptx import Presentation
    from pptx.util import Inches

    from bot.briefing import SLIDE_CHARS, SLIDE_ITEMS

    for b in (briefing, targets_briefing):
        plan = b.slides()
        deck = Presentation(io.BytesIO(b.pptx()))
        assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))  # 16:9
        assert abs(deck.slide_width / deck.slide_height - 16 / 9) < 0.01
        assert deck.core_properties.title == b.title and deck.core_properties.author == AUTHOR
        assert len(deck.slides) == len(plan)
        kinds = [s.kind for s in plan]
        assert kinds[0] == "title" and kinds[1] == "key_points" and kinds[-1] == "sources"
        for slide, step in zip(deck.slides, plan):
            texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
            assert step.title in texts
            if step.kind in ("key_points", "section"):
                body = "\n".join(texts)
                assert all(item in body for item in step.items)
            if step.kind == "chart":
                assert any(shape.shape_type == 13 for shape in slide.shapes)  # a picture
        # every section of the briefing starts on a slide of its own; continuations follow it,
        # titled "… (tiếp)", each within the SLIDE_ITEMS / SLIDE_CHARS rule
        sections = [s for s in plan if s.kind == "section"]
        starts = [(s.document, s.title) for s in sections if not s.title.endswith(" (tiếp)")]
        assert starts == [(title, theme) for title, theme, _ in b.sections()]
        for previous, current in zip(sections, sections[1:]):
            if current.title.endswith(" (tiếp)"):
                assert current.document == previous.document
                assert current.title == previous.title.removesuffix(" (tiếp)") + " (tiếp)"
        for s in sections:
            assert 1 <= len(s.items) <= SLIDE_ITEMS
            assert len(s.items) == 1 or sum(len(i) for i in s.items) <= SLIDE_CHARS
        for title, theme, points in b.sections():
            shown = " ".join(i for s in sections if s.document == title and s.title.removesuffix(" (tiếp)") == theme
                             for i in s.items)
            for p in points:
                for sentence in re.split(r"(?<=[.;])\s+", p.text.lstrip("-+* ")):
                    assert sentence.strip() in shown
    kinds = [s.kind for s in targets_briefing.slides()]
    at = kinds.index("targets_table")  # after the key points: the table, then the chart (6 panels a slide)
    assert kinds[at - 1] == "key_points" and kinds[at + 1:at + 3] == ["chart", "chart"] and kinds[at + 3] == "section"


def test_an_uncovered_topic_still_makes_files(assistant):
    from pptx import Presentation

    b = build_briefing(assistant, "cách nấu phở bò ngon")
    assert len(Presentation(io.BytesIO(b.pptx())).slides) == 2
    assert "không đề cập" in _document_text(b.docx()) and not b.key_points and b.targets is None
