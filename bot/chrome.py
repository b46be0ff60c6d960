"""Stage 6 — ui: what every page of the site wears — theme, styles, head, Vietnamese.

Gradio's page is built for English readers on a desktop. What this module changes,
and why each piece lives here rather than in the components:

- **Language.** ``<html lang="vi">`` and a Vietnamese title and link preview (Gradio's
  template hard-codes ``lang="en"``, "Gradio" and an image from GitHub): the served HTML
  is rewritten by :class:`VietnamesePage`. Gradio's own labels (many hard-coded in its
  components, not in its i18n tables) are translated in the page by :data:`HEAD`'s script
  from one table, :data:`UI_TEXT`; a browser test fails on any English label left.
- **Phone first.** Styles for 360–430 px: tabs that fit, answers full width, the side
  panel hidden (every answer carries its own sources under it), wrapped examples.
- **Accessible.** A theme whose colours pass WCAG AA (4.5:1), a visible focus ring on
  every control, citations that open on tap and by keyboard.
- **No eval.** The site's Content-Security-Policy forbids ``eval``; Gradio's ``js=``
  hooks are compiled with it, so page behaviour is one inline script of event listeners.
"""

from __future__ import annotations

import json
import re

SITE_TITLE = "Trợ lý chính sách kinh tế tập thể"
SITE_DESCRIPTION = ("Hỏi đáp về hợp tác xã, kinh tế tập thể: câu trả lời chỉ lấy từ văn bản chính sách, "
                    "mỗi ý kèm trích dẫn nguồn.")

# Gradio's English texts (labels, tooltips, aria-labels) → Vietnamese, matched whole.
UI_TEXT = {
    "More tabs": "Các thẻ khác",
    "Clear": "Xóa",
    "Copy conversation": "Sao chép cuộc hội thoại",
    "chatbot conversation": "Cuộc hội thoại",
    "Copy message": "Sao chép câu trả lời",
    "Copied message": "Đã sao chép",
    "Copy": "Sao chép",
    "Copied!": "Đã sao chép",
    "Like": "Thích",
    "Dislike": "Không thích",
    "Retry": "Hỏi lại",
    "Undo": "Hoàn tác",
    "Edit": "Sửa",
    "Scroll down": "Cuộn xuống",
    "Scroll to bottom": "Cuộn xuống cuối",
    "Fullscreen": "Toàn màn hình",
    "Exit fullscreen": "Thoát toàn màn hình",
    "Exit fullscreen mode": "Thoát toàn màn hình",
    "Download": "Tải về",
    "Download All": "Tải tất cả",
    "Share": "Chia sẻ",
    "Remove": "Gỡ bỏ",
    "Loading": "Đang tải",
    "Loading...": "Đang tải…",
    "processing": "đang xử lý",
    "Error": "Lỗi",
    "Close": "Đóng",
    "Submit": "Gửi",
    "Cancel": "Hủy",
    "Textbox": "Ô nhập",
    "Dropdown": "Danh sách chọn",
    "Drop File Here": "Thả tệp vào đây",
    "Click to Upload": "Bấm để chọn tệp",
    "- or -": "– hoặc –",
    "or": "hoặc",
    "Uploading...": "Đang tải lên…",
    "Click to upload or drop files": "Bấm để chọn tệp hoặc thả tệp vào đây",
    "File upload": "Tải tệp lên",
    "Empty": "Trống",
    "Sort column": "Sắp xếp cột",
    "Sort ascending": "Sắp xếp tăng dần",
    "Sort descending": "Sắp xếp giảm dần",
    "Clear sort": "Bỏ sắp xếp",
    "Filter": "Lọc",
    "Clear filters": "Bỏ lọc",
    "Search": "Tìm",
    "Select all": "Chọn tất cả",
    "Remove All": "Bỏ chọn tất cả",
    "Remove all": "Bỏ chọn tất cả",
    "Remove Item": "Bỏ mục này",
    "remove": "bỏ",
    "Login": "Đăng nhập",
    "username": "tên đăng nhập",
    "password": "mật khẩu",
    "Incorrect Credentials": "Sai tên đăng nhập hoặc mật khẩu",
    "Lost connection due to leaving page. Rejoining queue...": "Mất kết nối do rời trang. Đang kết nối lại…",
    "Connection errored out.": "Mất kết nối tới máy chủ.",
    "Image": "Hình",
    "Plot": "Biểu đồ",
    "Label": "Nhãn",
    "File": "Tệp",
}

# Gradio's English texts that carry numbers ("processing | 0.1/0.2s", "In queue: 1 of 2"):
# (JavaScript regular expression, replacement), applied to a text that matches from its start.
UI_PATTERNS = [
    (r"^processing\b", "đang xử lý"),
    (r"^queue:", "hàng đợi:"),
    (r"^In queue: (\d+) of (\d+)", "Đang chờ: $1/$2"),
]

CSS = """
/* ---- readable, AA-contrast text; visible focus on every control ---- */
.gradio-container {max-width: 1400px !important;}
textarea::placeholder, input::placeholder {color: #4b5563 !important; opacity: 1;}
*:focus-visible {outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important;}
.tl-intro {margin: 0 0 4px 0;}
.tl-intro h1 {font-size: 1.35rem !important; margin: 0 !important;}
.tl-intro p {margin: 2px 0 0 0; color: #374151;}
.tl-abstain {border-left: 4px solid #b45309; background: #fffbeb; color: #5b2c06; padding: 8px 12px; border-radius: 6px;}
.tl-answer p {margin: 0 0 8px 0;}
.tl-ref {color: #1d4ed8; font-weight: 600; text-decoration: underline; cursor: pointer; padding: 0 1px;}
.tl-source {margin-top: 6px; border: 1px solid #cbd5e1; border-radius: 6px; padding: 4px 8px;}
.tl-source summary {cursor: pointer; font-weight: 600; font-size: 0.95em; min-height: 24px;}
.tl-source[open] {background: #f8fafc;}
.tl-passage {white-space: pre-line; font-size: 0.95em; margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid #94a3b8;}
.tl-passage mark {background: #fde68a; color: #111827;}
.tl-meta {color: #374151; font-size: 0.9em;}
.tl-open {color: #1d4ed8; text-decoration: underline;}
.tl-table {border-collapse: collapse; font-size: 0.95em; width: 100%;}
.tl-table th, .tl-table td {border: 1px solid #cbd5e1; padding: 4px 8px; text-align: left; vertical-align: top;}
.tl-table th {background: #f1f5f9;}
.tl-wide {overflow-x: auto;}
.tl-chart img {max-width: 100%; height: auto;}
#question-count {font-size: 0.9em; color: #374151; text-align: right; margin-top: -6px;}
#question-count p {margin: 0;}
/* a component being updated is dimmed by Gradio to 60 %, which takes its text below 4.5:1 */
.loading {opacity: 0.85 !important;}
/* a block's floating label (file upload) sits above its content, not over it */
label.float[data-testid="block-label"] {position: static !important;}
/* chat: no scroll inside the page's scroll on small screens; answers use the full width */
#chat .bot-row {max-width: 100% !important; margin-right: 0 !important;}
#chat .message-row .message, #chat .bot-row .message {max-width: 100% !important;}
.tl-examples {white-space: normal !important; text-align: left !important; justify-content: flex-start !important; height: auto !important;}
/* tables of records (duties, documents): columns on a desktop, cards on a phone */
.tl-label {display: none;}
/* short columns keep whole words; the long text (a task, a title) takes what is left */
.tl-table th, .tl-table td {overflow-wrap: normal; word-break: normal; hyphens: manual;}
.tl-records th, .tl-records td {min-width: 6.5em;}
.tl-records .tl-long {min-width: 16em;}
@media (max-width: 640px) {
  .gradio-container .main.app {padding-left: 8px !important; padding-right: 8px !important;}
  #chat .bot-row {margin-left: 0 !important;}
  #chat .user-row {margin-left: 24px !important; margin-right: 4px !important;}
  .tl-intro h1 {font-size: 1.15rem !important;}
  .tl-intro p {font-size: 0.92em;}
  #side {display: none !important;}
  #chat {height: auto !important; max-height: none !important; min-height: 320px;}
  #chat .bubble-wrap {height: auto !important; max-height: none !important; overflow: visible !important;}
  .tab-container button {padding-left: 7px !important; padding-right: 7px !important; font-size: 0.95rem !important;}
  .tl-records thead {display: none;}
  .tl-records, .tl-records tbody, .tl-records tr, .tl-records td {display: block; width: 100%;}
  .tl-records tr {border: 1px solid #cbd5e1; border-radius: 6px; margin-bottom: 8px; padding: 4px 0;}
  .tl-records td {border: none !important; padding: 2px 8px !important;}
  .tl-records .tl-label {display: inline; font-weight: 600; color: #374151;}
}
"""

_SCRIPT = r"""
(() => {
  const TEXT = __UI_TEXT__;
  const ATTRS = ["aria-label", "title", "placeholder", "alt"];
  const PATTERNS = __UI_PATTERNS__.map(([p, r]) => [new RegExp(p), r]);
  // Gradio sets <html lang> from the browser's locale (English when it has no Vietnamese table)
  const keepLang = () => { if (document.documentElement.lang !== "vi") document.documentElement.lang = "vi"; };
  new MutationObserver(keepLang).observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
  keepLang();
  const translate = (root) => {
    if (root.nodeType === Node.TEXT_NODE) root = root.parentNode;
    if (!root || root.nodeType !== Node.ELEMENT_NODE) return;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
      const t = n.textContent.trim();
      if (!t) continue;
      if (TEXT[t] !== undefined) { n.textContent = n.textContent.replace(t, TEXT[t]); continue; }
      for (const [pattern, replacement] of PATTERNS)
        if (pattern.test(t)) { n.textContent = n.textContent.replace(t, t.replace(pattern, replacement)); break; }
    }
    const els = [root, ...root.querySelectorAll("[aria-label],[title],[placeholder],[alt]")];
    for (const el of els) for (const a of ATTRS) {
      const v = el.getAttribute(a);
      if (v && TEXT[v.trim()] !== undefined) el.setAttribute(a, TEXT[v.trim()]);
    }
  };
  // in the observer's callback itself (a microtask): no moment where the English text is on screen
  const changed = (records) => {
    for (const r of records) {
      if (r.type === "childList") r.addedNodes.forEach(translate);
      else translate(r.target);
    }
  };
  const start = () => {
    translate(document.body);
    new MutationObserver(changed).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                          attributes: true, attributeFilter: ATTRS});
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);

  // A citation [n] opens its source under the answer: by tap, click or keyboard (it is a link).
  document.addEventListener("click", (ev) => {
    const ref = ev.target.closest && ev.target.closest("a.tl-ref");
    if (!ref) return;
    const id = (ref.getAttribute("href") || "").replace(/^#/, "");
    const target = id && document.getElementById(id);
    if (!target) return;
    ev.preventDefault();
    ev.stopPropagation();
    target.open = true;
    target.scrollIntoView({block: "nearest", behavior: "smooth"});
    const summary = target.querySelector("summary");
    if (summary) summary.focus({preventScroll: true});
  }, true);

  // A new answer is shown from its first line (the chat would scroll to its end).
  const seen = new Set();
  const showNew = () => {
    const answers = document.querySelectorAll("#chat .tl-answer");
    if (!answers.length) { seen.clear(); return; }
    const last = answers[answers.length - 1];
    const key = last.id;  // "tra-loi-<turn>" (the sanitiser keeps ids, not data- attributes)
    if (key && !seen.has(key)) {
      seen.add(key);
      const row = last.closest(".message-row") || last;
      // after the chat's own scrolling on render, which would show the answer's end
      setTimeout(() => row.scrollIntoView({block: "start"}), 150);
    }
  };
  const watchChat = () => {
    const chat = document.getElementById("chat");
    if (!chat) { setTimeout(watchChat, 300); return; }
    new MutationObserver(showNew).observe(chat, {subtree: true, childList: true});
  };
  watchChat();

  // Characters typed against the question's limit, read out politely to screen readers.
  // On every keystroke, and on a timer for changes made by the page (an example chosen, a sent question).
  const count = () => {
    const box = document.querySelector("#question textarea");
    const out = document.querySelector("#question-count p") || document.querySelector("#question-count");
    if (!box || !out) return;
    const max = box.getAttribute("maxlength") || "";
    const text = `${box.value.length}/${max} ký tự`;
    if (out.textContent !== text) out.textContent = text;
  };
  document.addEventListener("input", (ev) => { if (ev.target.closest && ev.target.closest("#question")) count(); });
  setInterval(count, 400);
})();
"""

# In the head, not Gradio's ``css=``: Gradio scopes that to its content, and the page's
# own padding (around the content) is what a phone most needs back.
_PAGE_SCRIPT = (_SCRIPT.replace("__UI_TEXT__", json.dumps(UI_TEXT, ensure_ascii=False))
                .replace("__UI_PATTERNS__", json.dumps(UI_PATTERNS, ensure_ascii=False)))
HEAD = (f'<meta name="description" content="{SITE_DESCRIPTION}"><style>{CSS}</style>'
        f"<script>{_PAGE_SCRIPT}</script>")

# Gradio's template: its link preview names Gradio and loads an image from GitHub.
_PREVIEW_META = re.compile(r'\s*<meta\s+(?:property="og:[a-z:]+"|name="twitter:[a-z:]+")\s+content="[^"]*"\s*/?>', re.S)


def rewrite_page(page: str) -> str:
    """Gradio's HTML shell, in Vietnamese: ``lang="vi"``, our link preview and no reference
    to an outside host, and :data:`HEAD` (styles, the page script) — in every page Gradio
    serves, its login page included, which Blocks' own ``head=`` does not reach."""
    page = page.replace('lang="en"', 'lang="vi"', 1)
    if "<title>" not in page:  # Gradio's login page has none
        page = page.replace("</head>", f"<title>{SITE_TITLE}</title></head>", 1)
    page = _PREVIEW_META.sub("", page)
    preview = (f'<meta property="og:title" content="{SITE_TITLE}" />'
               f'<meta property="og:description" content="{SITE_DESCRIPTION}" />'
               '<meta property="og:type" content="website" /><meta property="og:locale" content="vi_VN" />')
    return page.replace("</head>", preview + HEAD + "</head>", 1)


class VietnamesePage:
    """ASGI middleware: the HTML pages Gradio serves go through :func:`rewrite_page`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"text/html") or b"content-encoding" in headers:
                    start["pass"] = True
                    await send(message)
                    return
                start["message"] = message
                return
            if start.get("pass"):
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                body = rewrite_page(b"".join(chunks).decode("utf-8")).encode("utf-8")
                head = start["message"]
                headers = [(k, v) for k, v in head.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**head, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
