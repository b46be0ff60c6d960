"""The document view (``/van-ban``) and the page chrome, without a browser: what a
citation's link shows, and what Gradio's HTML shell becomes."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.chrome import HEAD, SITE_TITLE, rewrite_page
from bot.viewer import render_document, view_url


@pytest.mark.slow
def test_a_citation_link_shows_its_document_with_exactly_the_passage_marked(assistant):
    answer = assistant.ask("Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?")
    citation = answer.citations[0]
    url = urlsplit(view_url(citation.source, citation.start, citation.end))
    args = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "van-ban" and url.fragment == "doan" and args["nguon"] == citation.source
    corpus = assistant.corpus
    status, page = render_document(corpus.documents, corpus.records, args["nguon"], args["tu"], args["den"])
    assert status == 200 and '<html lang="vi">' in page and "<script" not in page
    marked = page.split('<mark id="doan" tabindex="-1">', 1)[1].split("</mark>", 1)[0]
    assert html.unescape(marked) == citation.text  # the passage the answer quotes, no more, no less


@pytest.mark.slow
def test_only_documents_of_the_index_are_shown_and_bad_offsets_mark_nothing(assistant):
    corpus = assistant.corpus
    for source in ("../../../etc/passwd", "/etc/passwd", "", "documents/catalog.yaml"):
        status, page = render_document(corpus.documents, corpus.records, source)
        assert status == 404 and "Không tìm thấy văn bản" in page and "root:" not in page
    source = next(iter(corpus.documents))
    for start, end in (("x", "y"), (-5, 10), (10, 5), (0, 10**9), (None, None)):
        status, page = render_document(corpus.documents, corpus.records, source, start, end)
        assert status == 200 and "<mark" not in page


def test_gradio_shell_becomes_vietnamese_and_names_no_outside_host():
    import gradio

    template = (Path(gradio.__file__).parent / "templates" / "frontend" / "index.html").read_text(encoding="utf-8")
    assert 'lang="en"' in template and "raw.githubusercontent.com" in template  # what Gradio ships
    page = rewrite_page(template)
    assert '<html\n\tlang="vi"' in page or 'lang="vi"' in page.split(">", 1)[0]
    assert "githubusercontent" not in page and 'content="Gradio"' not in page and "Click to try" not in page
    assert f'<meta property="og:title" content="{SITE_TITLE}" />' in page and HEAD in page
    login = rewrite_page("<html lang=\"en\"><head></head><body></body></html>")  # a page without a title
    assert f"<title>{SITE_TITLE}</title>" in login
