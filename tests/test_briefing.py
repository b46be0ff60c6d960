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
