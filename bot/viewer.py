"""Stage 6 — ui: a cited document, whole, with the cited passage highlighted.

Every citation links here (``/van-ban?nguon=<source>&tu=<start>&den=<end>#doan``). The
text is the normalised text the index was built from — the text citations are verified
against — so the highlighted span is exactly the passage quoted. Only documents of the
current index are served (the source id is looked up, never used as a path), and the
page is static HTML: no script, so it works under the site's Content-Security-Policy.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from .documents import document_facts

VIEW_PATH = "/van-ban"
# Links are relative ("van-ban?…"), so they work under a proxy's path prefix too.
_LINK = VIEW_PATH.lstrip("/")

_STYLE = """
body {font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; margin: 0;
      color: #111827; background: #fff; line-height: 1.55;}
header {background: #f8fafc; border-bottom: 1px solid #cbd5e1; padding: 10px 16px;}
header h1 {font-size: 1.1rem; margin: 0 0 4px 0;}
header p {margin: 0; color: #374151; font-size: 0.95rem;}
header a {color: #1d4ed8;}
main {max-width: 54rem; margin: 0 auto; padding: 12px 16px 40vh 16px;}
.doc {white-space: pre-wrap; overflow-wrap: anywhere; font-size: 1rem;}
mark {background: #fde68a; color: #111827; box-shadow: -6px 0 0 #b45309; scroll-margin-top: 1rem;}
a:focus-visible, mark:focus-visible {outline: 3px solid #1d4ed8; outline-offset: 2px;}
"""


def view_url(source: str, start: int | None = None, end: int | None = None) -> str:
    """The link a citation carries (relative to the site's root)."""
    url = f"{_LINK}?nguon={quote(source, safe='')}"
    if start is not None and end is not None and end > start:
        url += f"&tu={int(start)}&den={int(end)}#doan"
    return url


def _meta_line(document: dict) -> str:
    return " · ".join(html.escape(f) for f in document_facts(document.get("metadata", {}), effective=True))


def render_document(documents: dict, records, source: str, start: object = None, end: object = None) -> tuple[int, str]:
    """(HTTP status, page) for one document of the index, the span [start, end) marked."""
    if source not in documents:
        return 404, _page("Không tìm thấy văn bản", "<p>Văn bản này không có trong bộ văn bản đang dùng.</p>")
    record = records[source]
    text: str = record["text"]
    document = documents[source]
    try:
        a, b = int(start), int(end)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        a = b = -1
    if 0 <= a < b <= len(text):
        body = (html.escape(text[:a]) + f'<mark id="doan" tabindex="-1">{html.escape(text[a:b])}</mark>'
                + html.escape(text[b:]))
        where = '<p><a href="#doan">Đến đoạn được trích dẫn</a></p>'
    else:
        body, where = html.escape(text), ""
    head = (f"<h1>{html.escape(document.get('title') or source)}</h1>"
            f"<p>{_meta_line(document)}</p>{where}")
    return 200, _page(document.get("title") or source, f'<div class="doc">{body}</div>', head)


def _page(title: str, main: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} — Trợ lý chính sách kinh tế tập thể</title><style>{_STYLE}</style></head>"
            f'<body><header>{head or "<h1>" + html.escape(title) + "</h1>"}'
            f'<p><a href="./">← Về trang hỏi đáp</a></p></header><main>{main}</main></body></html>')
