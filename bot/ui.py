"""Stage 6 — ui: the Gradio chat, a thin layer over :class:`bot.answer.Assistant`.

Everything shown that comes from a document or a question is escaped (HTML and the
Markdown the chat renders), so a passage or a question can never become live markup.
Answers stream; each [n] shows its source on hover, and every cited passage is one click
away under the answer (document, issuer, date, heading path, the quoted sentences
highlighted) and in the sources panel. Refusals look different from answers.
"""


import html
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from .answer import Answer, Assistant, legal_facts
from .config import Settings, quiet_libraries
from .guard import BUSY, FAILED, Admission, RateLimit, clean_text, csv_cell, too_fast

log = logging.getLogger("bot")

EXAMPLES = {
    "Người dân": [
        "Thành lập hợp tác xã cần ít nhất bao nhiêu thành viên?",
        "Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?",
        "Nhà nước hỗ trợ hợp tác xã về đất đai như thế nào?",
    ],
    "Cán bộ": [
        "Phòng Tài chính – Kế hoạch thành phố Cam Ranh có nhiệm vụ gì?",
        "Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?",
        "Ban Tuyên giáo Tỉnh ủy Kon Tum chủ trì nhiệm vụ gì?",
    ],
    "Giảng viên": [
        "Mục tiêu đến năm 2030 của Cà Mau về số lượng hợp tác xã là gì?",
        "Kon Tum phấn đấu thành lập mới bao nhiêu tổ hợp tác và hợp tác xã đến năm 2030?",
        "Cam Ranh đặt mục tiêu bao nhiêu phần trăm sản phẩm chủ lực bán qua thương mại điện tử năm 2030?",
    ],
}
UI_MAX_QUESTION = 2000

CSS = """
.tl-abstain {border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; padding: 8px 12px; border-radius: 6px;}
.tl-ref {color: #1d4ed8; font-weight: 600; cursor: help;}
.tl-source {margin-top: 6px; border: 1px solid #e5e7eb; border-radius: 6px; padding: 4px 8px;}
.tl-source summary {cursor: pointer; font-weight: 600; font-size: 0.9em;}
.tl-passage {white-space: pre-line; font-size: 0.92em; margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid #cbd5e1;}
.tl-passage mark {background: #fde68a;}
.tl-meta {color: #6b7280; font-size: 0.85em;}
.tl-table {border-collapse: collapse; font-size: 0.9em;}
.tl-table th, .tl-table td {border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left;}
"""

# Characters the chat's Markdown renderer would interpret: written as entities instead.
_MD_SPECIAL = {"*": "&#42;", "_": "&#95;", "`": "&#96;", "[": "&#91;", "]": "&#93;", "#": "&#35;",
               "~": "&#126;", "|": "&#124;", "$": "&#36;", "\\": "&#92;", "!": "&#33;"}


def esc(text: str) -> str:
    """Escape for HTML *and* for the Markdown renderer: plain text stays plain text.
    Quotes are left alone in text (the renderer showed an escaped apostrophe as "&#x27;");
    :func:`attr` escapes them for attribute values."""
    out = html.escape(text, quote=False)
    return "".join(_MD_SPECIAL.get(ch, ch) for ch in out)


def attr(text: str) -> str:
    """A value for a double-quoted HTML attribute."""
    return esc(text).replace('"', "&quot;")


def _highlight(passage: str, quotes: list[str]) -> str:
    """The passage, escaped, with the quoted sentences wrapped in <mark>."""
    spans = []
    for quote in quotes:
        for part in quote.split("\n"):
            i = passage.find(part)
            if part and i >= 0:
                spans.append((i, i + len(part)))
    spans.sort()
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(esc(passage[pos:start]))
        out.append(f"<mark>{esc(passage[start:end])}</mark>")
        pos = end
    out.append(esc(passage[pos:]))
    return "".join(out)


def _meta(assistant: Assistant, source: str) -> str:
    meta = assistant.documents.get(source, {}).get("metadata", {})
    parts = [meta.get("issuer"), meta.get("number"), meta.get("date")]
    return " · ".join(esc(p) for p in parts if p)


def render_sources(answer: Answer, assistant: Assistant, turn: int, open_: bool = False) -> str:
    blocks = []
    for c in answer.citations:
        where = f" — {esc(c.section)}" if c.section else ""
        page = f"trang {c.page}" if c.page else ""
        legal = [esc(x) for x in legal_facts(c)]
        status = f'<div class="tl-meta tl-status">Lưu ý: điều này {esc(c.extra["status"])}</div>' \
            if c.extra.get("status") else ""
        file = c.source.split("#", 1)[0]
        blocks.append(
            f'<details class="tl-source" id="nguon-{turn}-{c.id}"{" open" if open_ else ""}>'
            f"<summary>Nguồn [{c.id}]: {esc(c.title)}{where}</summary>"
            f'<div class="tl-meta">{" · ".join(x for x in (_meta(assistant, c.source), *legal, page, "tệp " + esc(file)) if x)}'
            "</div>"
            f'{status}<div class="tl-passage">{_highlight(c.text, c.quotes)}</div></details>'
        )
    return "".join(blocks)


def _lines_html(text: str, tooltips: dict[int, str]) -> str:
    """Answer text → HTML: lead-ins as paragraphs, items as a list, [n] with a hover title."""

    def refs(escaped: str) -> str:
        # only markers of this answer's citations become chips; any other stays plain text
        return re.sub(r"&#91;(\d+)&#93;", lambda m: (
            f'<span class="tl-ref" title="{tooltips[int(m.group(1))]}">[{m.group(1)}]</span>'
            if int(m.group(1)) in tooltips else m.group(0)), escaped)

    out, items, rows = [], [], []

    def flush_table() -> None:
        if rows:
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows if not set(r) <= set("|-: ")]
            head = "".join(f"<th>{esc(c)}</th>" for c in cells[0])
            body = "".join("<tr>" + "".join(f"<td>{refs(esc(c))}</td>" for c in r) + "</tr>" for r in cells[1:])
            out.append(f'<table class="tl-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
            rows.clear()

    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("|"):
            rows.append(line)
            continue
        flush_table()
        if line.startswith(("- ", "+ ", "* ")):
            items.append(f"<li>{refs(esc(line[2:]))}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        out.append(f"<p>{refs(esc(line))}</p>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    flush_table()
    return "".join(out)


def render_answer(answer: Answer, assistant: Assistant, turn: int) -> str:
    """The final assistant message: answer (or refusal) and its sources, one click away."""
    if answer.abstained:
        related = ""
        if answer.related:
            items = "".join(f"<li>{esc(r['title'])} — {esc(r['section'] or 'phần mở đầu')}</li>" for r in answer.related)
            related = f'<p class="tl-meta">Đoạn gần nhất (không đủ căn cứ để trả lời):</p><ul>{items}</ul>'
        return f'<div class="tl-abstain">⚠️ {esc(answer.answer)}{related}</div>'
    tooltips = {c.id: attr(f"{c.title} — {c.section}"[:300]) for c in answer.citations}
    note = f'<p class="tl-meta">{esc(answer.error)}</p>' if answer.error else ""
    return f"<div>{_lines_html(answer.answer, tooltips)}{note}{render_sources(answer, assistant, turn)}</div>"


def render_partial(text: str) -> str:
    return f"<div>{_lines_html(text, {})}</div>"


MAX_HISTORY = 24  # messages kept in the chat (12 turns): the page sends them all back with every question
CONTEXT_TURNS = 3  # earlier questions read to resolve a follow-up
# Gradio's copies of exported files (CSV, briefings) are deleted an hour after they were made.
CACHE_PURGE = (600, 3600)
EMPTY_PANEL = '<p class="tl-meta">Nguồn của câu trả lời sẽ hiện ở đây.</p>'


def _notice(text: str) -> str:
    return f'<div class="tl-abstain">⚠️ {esc(text)}</div>'


def _append(history: list[dict], turns: list[dict], *messages: dict) -> tuple[list[dict], list[dict]]:
    """The chat with ``messages`` added, cut to its last :data:`MAX_HISTORY` messages; the
    answers' feedback records (``turns``) follow the messages they point at."""
    combined = history + list(messages)
    drop = max(0, len(combined) - MAX_HISTORY)
    return combined[drop:], [{**t, "index": t["index"] - drop} for t in turns if t["index"] >= drop]


def _sources(value: object) -> list[str] | None:
    """A document filter as sent: a list of source ids, anything else means no filter."""
    return value if isinstance(value, list) and value and all(isinstance(s, str) for s in value) else None


def _history(value: object) -> list[dict]:
    """The session's chat, kept to well-formed messages and the last :data:`MAX_HISTORY`
    (defensive: it is server-side state, but a state survives code changes)."""
    if not isinstance(value, list):
        return []
    out = [m for m in value[-MAX_HISTORY:] if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    return [{"role": m["role"], "content": m.get("content") if isinstance(m.get("content"), (str, list, dict)) else ""}
            for m in out]


class ChatService:
    """Holds the assistant (swapped after re-indexing) and does what the page asks.

    Every entry point takes the client's key (its address) for the rate limit, cleans
    its text inputs, and turns any failure into a plain Vietnamese message; the details
    go to the server log only.
    """

    def __init__(self, settings: Settings, assistant: Assistant):
        self.settings = settings
        self.assistant = assistant
        self.admission = Admission(settings.concurrency, settings.max_waiting)
        self.limit = RateLimit(settings.rate_limit)
        self._feedback_lock = threading.Lock()
        self._publishing = threading.Lock()
        self.exports = Path(tempfile.gettempdir()) / f"tro-ly-kttt-{os.getuid()}-{os.getpid()}"

    def publish(self, handle) -> None:
        """A new index version was built (here or by another process): answer from it from
        the next question on, once what the first questions need is read."""
        with self._publishing:
            if handle.version.name == self.version():
                return
            assistant = Assistant(self.settings, handle, self.assistant.embeddings)
            assistant.corpus.warm()
            self.assistant = assistant

    def version(self) -> str:
        """The index version answers come from."""
        return self.assistant.handle.version.name

    # ---------------------------------------------------------------- chat --

    async def respond(self, message: object, history: object, sources: object, turns: list[dict], client: str):
        """Stream one answer into the chat. Yields (history, sources panel, textbox, turns).

        ``history`` is the session's own record, kept on the server: what the page shows
        is output only, so a client cannot forge earlier turns or grow them without bound.

        A question that cannot be taken now (busy, too fast) is answered with a notice and
        left in the textbox, so nothing typed is lost.
        """
        history = _history(history)
        # lone surrogates replaced (they cannot be sent back); the assistant says what else is wrong
        question = clean_text(message, keep_controls=True)
        if question is None:
            question = message  # not text: the assistant answers that a question must be text
        shown = question if isinstance(question, str) else "…"
        wait = self.limit.wait_for(client)
        if wait or not self.admission.try_enter():
            history, turns = _append(history, turns, {"role": "user", "content": esc(shown[:300])},
                                     {"role": "assistant", "content": _notice(too_fast(wait) if wait else BUSY)})
            yield history, gr_skip(), question if isinstance(question, str) else "", turns
            return
        async with self.admission:
            try:
                async for update in self._answer(question, history, sources, turns):
                    yield update
            except Exception:
                log.exception("chat failed")
                history, turns = _append(history, turns, {"role": "user", "content": esc(shown[:300])},
                                         {"role": "assistant", "content": _notice(FAILED)})
                yield history, gr_skip(), question if isinstance(question, str) else "", turns

    async def _answer(self, question, history: list[dict], sources: object, turns: list[dict]):
        import anyio

        assistant = self.assistant
        context = [{"role": "user", "content": clean_text(html.unescape(_plain(m["content"])), UI_MAX_QUESTION) or ""}
                   for m in history if m["role"] == "user"][-CONTEXT_TURNS:]
        shown = question if isinstance(question, str) else ""
        shown = shown if len(shown) <= 300 else shown[:300] + "…"
        history, turns = _append(history, turns, {"role": "user", "content": esc(shown) or "…"},
                                 {"role": "assistant", "content": ""})
        turn = turns[-1]["turn"] + 1 if turns else 0  # numbers the source blocks' element ids
        steps = assistant.stream(question, context, _sources(sources))
        # Only a model's answer is worth streaming: the extractive one is ready in ~40 ms, and
        # every intermediate update costs the server a full render and diff of the chat.
        streaming = assistant.llm is not None
        if streaming:
            yield history, "", "", turns
        final: Answer | None = None
        while True:
            step = await anyio.to_thread.run_sync(next, steps, None)
            if step is None:
                break
            text, done = step
            if done is None:
                if streaming:
                    history[-1]["content"] = render_partial(text)
                    yield history, "", "", turns
            else:
                final = done
        assert final is not None
        history[-1]["content"] = render_answer(final, assistant, turn)
        turns = list(turns) + [{"index": len(history) - 1, "turn": turn, "answer": final.to_json()}]
        panel = render_sources(final, assistant, turn, open_=True) if final.citations else (
            '<p class="tl-meta">Không có nguồn: câu hỏi này không được trả lời từ văn bản.</p>')
        yield history, panel, "", turns

    # ------------------------------------------------------------ feedback --

    def feedback(self, liked: object, index: object, comment: object, turns: list[dict], client: str) -> str:
        """One validated line in the feedback log: a like/dislike (or its removal) of an
        answer this session was given, and an optional comment of at most 2,000 characters."""
        if not any(liked is v for v in (True, False, None)) or isinstance(index, bool) or not isinstance(index, int):
            return "Đánh giá không hợp lệ."
        comment = clean_text(comment, 2000)
        if comment is None:
            return "Góp ý phải là văn bản."
        turn = next((t for t in turns if t["index"] == index), None)
        if turn is None:
            return "Chỉ đánh giá được câu trả lời của trợ lý."
        wait = self.limit.wait_for("feedback:" + client)
        if wait:
            return too_fast(wait)
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "liked": liked, "comment": comment.strip(),
            "question": turn["answer"]["question"], "answer": turn["answer"]["answer"],
            "abstained": turn["answer"]["abstained"],
            "sources": [{k: c[k] for k in ("id", "source", "section")} for c in turn["answer"]["citations"]],
        }
        self._append_feedback(json.dumps(entry, ensure_ascii=False) + "\n")
        return "Cảm ơn góp ý của bạn — đã ghi lại." if liked is not None else "Đã bỏ đánh giá."

    def _append_feedback(self, line: str) -> None:
        """One write of one whole line, under a thread lock and an exclusive file lock, so
        concurrent sessions (and processes) never interleave; a full log is renamed with a
        timestamp and a new one started (nothing is deleted)."""
        import fcntl

        path = self.settings.feedback_log
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._feedback_lock:
            if path.exists() and path.stat().st_size > self.settings.feedback_max_mb * 1_000_000:
                path.rename(path.with_name(f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"))
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    # -------------------------------------------------------------- duties --

    DUTY_HEADERS = ["Cơ quan", "Địa bàn", "Vai trò", "Nhiệm vụ (nguyên văn)", "Thời hạn", "Văn bản", "Mục"]

    def agency_choices(self) -> list[str]:
        return [f"{name} — {place}" for name, place, _ in self.assistant.directory.agencies()]

    def export_file(self, prefix: str, suffix: str) -> Path:
        """A fresh file in this process's export folder; exports older than an hour are
        purged first (Gradio serves its own copy, so ours is only needed briefly)."""
        self.exports.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - 3600
        for old in self.exports.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old) if old.is_dir() else old.unlink()
            except OSError:
                pass
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.exports)) / f"{prefix.rstrip('-')}{suffix}"

    def duties(self, query: object, sources: object, client: str = "") -> tuple[str, list[list], str | None]:
        """Status line, table rows and a CSV file for the agency asked about."""
        import csv

        query = clean_text(query, 300)
        if query is None:
            return "Tên cơ quan phải là văn bản.", [], None
        query = query.replace(" — ", " ").strip()
        if not query:
            return "Chọn hoặc gõ tên cơ quan.", [], None
        wait = self.limit.wait_for(client) if client else 0
        if wait:
            return too_fast(wait), [], None
        matches, duties = self.assistant.directory.find(query, _sources(sources))
        if not duties:
            return f"Các văn bản hiện có không giao nhiệm vụ nào cho «{esc(query)}».", [], None
        rows = [[d.agency, d.place, d.role, d.task, d.deadline or "", d.title, d.section] for d in duties]
        path = self.export_file("nhiem-vu-", ".csv")
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.DUTY_HEADERS + ["Tệp"])
            for d, row in zip(duties, rows):
                writer.writerow([csv_cell(v) for v in row + [d.source]])
        docs = len({d.source for d in duties})
        return f"{len(duties)} nhiệm vụ trong {docs} văn bản.", rows, str(path)

    # ------------------------------------------------------------ briefing --

    def brief(self, topic: object, sources: object, client: str = "") -> tuple[str, str | None, str | None]:
        """Markdown preview (escaped) and the .md / .docx files of a briefing."""
        from .briefing import build_briefing

        topic = clean_text(topic, UI_MAX_QUESTION)
        if topic is None:
            return _notice("Chủ đề phải là văn bản."), None, None
        wait = self.limit.wait_for(client) if client else 0
        if wait:
            return _notice(too_fast(wait)), None, None
        briefing = build_briefing(self.assistant, topic, _sources(sources))
        text = briefing.markdown()
        if not briefing.covered:
            return _notice(briefing.message), None, None
        md = self.export_file("tai-lieu-tap-huan-", ".md")
        docx_path = md.with_suffix(".docx")
        md.write_text(text, encoding="utf-8")
        docx_path.write_bytes(briefing.docx())
        return _briefing_html(text), str(md), str(docx_path)

    # ----------------------------------------------------------- documents --

    def documents_table(self) -> list[list]:
        rows = []
        for source, d in self.assistant.documents.items():
            m = d.get("metadata", {})
            date = m.get("date", "") + (f" (hiệu lực {m['effective']})" if m.get("effective") else "")
            rows.append([d["title"], m.get("issuer", ""), m.get("number", ""), date, d["chunks"], source])
        return rows

    def choices(self) -> list[tuple[str, str]]:
        return [(d.get("metadata", {}).get("short_title") or d["title"], s) for s, d in self.assistant.documents.items()]


def gr_skip():
    import gradio as gr

    return gr.skip()


def _briefing_html(markdown: str) -> str:
    """The briefing's Markdown shown safely: headings and bullets, everything else escaped."""
    out, items = [], []
    for line in markdown.split("\n"):
        if line.startswith("- ") or re.match(r"^\[\d+\] ", line):
            items.append(f"<li>{esc(line[2:] if line.startswith('- ') else line)}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            level = len(m.group(1)) + 2
            out.append(f"<h{level}>{esc(m.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{esc(line)}</p>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "<div>" + "".join(out) + "</div>"


def _plain(content) -> str:
    """Text of a chat message as stored by the page (a string, or Gradio's content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_plain(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return str(content)


def build_ui(service: ChatService):
    """The page: chat with sources and feedback, and a documents tab."""
    quiet_libraries()
    import gradio as gr

    with gr.Blocks(title="Trợ lý chính sách kinh tế tập thể", delete_cache=CACHE_PURGE) as demo:
        gr.Markdown("## Trợ lý chính sách kinh tế tập thể\nHỏi về hợp tác xã, kinh tế tập thể: câu trả lời chỉ lấy "
                    "từ các văn bản đã nạp, mỗi ý kèm trích dẫn [n] — bấm vào *Nguồn* để xem nguyên văn.")
        turns = gr.State([])  # the session's answers (for feedback), on the server
        chat_log = gr.State([])  # the session's chat, on the server: the page's copy is display only
        with gr.Tab("Hỏi đáp"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Hội thoại", height=520, sanitize_html=True, render_markdown=True,
                                         feedback_options=["Like", "Dislike"], elem_id="chat")
                    with gr.Row():
                        box = gr.Textbox(placeholder="Nhập câu hỏi, ví dụ: Hồ sơ thành lập hợp tác xã gồm những gì?",
                                         show_label=False, scale=5, max_lines=6, elem_id="question")
                        send = gr.Button("Gửi", variant="primary", scale=1, elem_id="send")
                    with gr.Row():
                        doc_filter = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                                 label="Chỉ tìm trong văn bản (để trống: tất cả)", scale=4)
                        clear = gr.Button("Cuộc hội thoại mới", scale=1)
                    for group, questions in EXAMPLES.items():
                        gr.Examples(examples=[[q] for q in questions], inputs=[box], label=f"Ví dụ — {group}")
                with gr.Column(scale=2):
                    gr.Markdown("### Nguồn trích dẫn")
                    # Markdown, not gr.HTML: Gradio 6's HTML component compiles templates with
                    # eval, which the page's Content-Security-Policy forbids
                    panel = gr.Markdown(EMPTY_PANEL, sanitize_html=True, elem_id="sources")
                    comment = gr.Textbox(label="Góp ý (không bắt buộc) — rồi bấm Thích / Không thích dưới câu trả lời", lines=2)
                    feedback_status = gr.Markdown("")

        with gr.Tab("Tra cứu nhiệm vụ"):
            gr.Markdown("Mọi nhiệm vụ các văn bản giao cho một cơ quan, nguyên văn, kèm văn bản và mục.")
            with gr.Row():
                agency = gr.Dropdown(choices=service.agency_choices(), value=None, allow_custom_value=True,
                                     label="Cơ quan (chọn hoặc gõ, ví dụ: Sở Kế hoạch và Đầu tư Quảng Nam)",
                                     scale=3, elem_id="agency")
                duty_docs = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                        label="Chỉ trong văn bản", scale=2)
                lookup = gr.Button("Tra cứu", variant="primary", scale=1, elem_id="lookup")
            duty_status = gr.Markdown("", elem_id="duty-status")
            duty_table = gr.Dataframe(headers=service.DUTY_HEADERS, interactive=False, wrap=True, elem_id="duty-table")
            export = gr.DownloadButton("Tải CSV", value=None, visible=False, elem_id="export")

            def on_lookup(query, sources, request: gr.Request):
                try:
                    status, rows, path = service.duties(query, sources, client_key(request))
                except Exception:
                    log.exception("duties failed")
                    status, rows, path = FAILED, [], None
                return status, rows, gr.update(value=path, visible=path is not None)

            lookup.click(on_lookup, [agency, duty_docs], [duty_status, duty_table, export], api_name="duties")
            agency.select(on_lookup, [agency, duty_docs], [duty_status, duty_table, export], api_visibility="private")

        with gr.Tab("Soạn tài liệu"):
            gr.Markdown("Đề cương tập huấn về một chủ đề, ghép từ các đoạn văn bản, mỗi ý kèm trích dẫn và "
                        "danh sách nguồn ở cuối. Tải về dạng Markdown hoặc Word.")
            with gr.Row():
                topic = gr.Textbox(label="Chủ đề", placeholder="ví dụ: chuyển đổi số trong hợp tác xã", scale=3,
                                   elem_id="topic")
                brief_docs = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                         label="Chỉ dùng văn bản", scale=2)
                make = gr.Button("Soạn", variant="primary", scale=1, elem_id="make-brief")
            with gr.Row():
                md_file = gr.DownloadButton("Tải Markdown", value=None, visible=False, elem_id="brief-md")
                docx_file = gr.DownloadButton("Tải Word (.docx)", value=None, visible=False, elem_id="brief-docx")
            preview = gr.Markdown("", sanitize_html=True, elem_id="brief-preview")

            def on_brief(topic_text, sources, request: gr.Request):
                try:
                    html_text, md_path, docx_path = service.brief(topic_text, sources, client_key(request))
                except Exception:
                    log.exception("briefing failed")
                    html_text, md_path, docx_path = _notice(FAILED), None, None
                return (html_text, gr.update(value=md_path, visible=md_path is not None),
                        gr.update(value=docx_path, visible=docx_path is not None))

            make.click(on_brief, [topic, brief_docs], [preview, md_file, docx_file], api_name="brief")

        with gr.Tab("Tài liệu"):
            table = gr.Dataframe(value=service.documents_table(), interactive=False, wrap=True,
                                 headers=["Văn bản", "Cơ quan ban hành", "Số", "Ngày", "Số đoạn", "Tệp"])
        # a session opened before an upload sees the new documents when it opens a list
        for dropdown in (doc_filter, duty_docs, brief_docs):
            dropdown.focus(lambda: gr.update(choices=service.choices()), None, dropdown, api_visibility="private",
                           queue=False)
        agency.focus(lambda: gr.update(choices=service.agency_choices()), None, agency, api_visibility="private",
                     queue=False)
        demo.load(service.documents_table, None, table, api_visibility="private", queue=False)

        async def on_submit(message, sources, history, turns_, request: gr.Request):
            async for shown, panel_html, box_text, new_turns in service.respond(message, history, sources, turns_,
                                                                                client_key(request)):
                yield shown, shown, panel_html, box_text, new_turns

        # No Gradio concurrency limit on the chat: the service admits a bounded number
        # itself and tells everyone beyond it, at once, that the system is busy. Inputs
        # arrive unprocessed so that wrong types get the service's message, not a
        # validation error from inside Gradio.
        chat = ([box, doc_filter, chat_log, turns], [chatbot, chat_log, panel, box, turns])
        send.click(on_submit, *chat, api_name="chat", concurrency_limit=None, preprocess=False)
        box.submit(on_submit, *chat, api_visibility="private", concurrency_limit=None, preprocess=False)
        clear.click(lambda: ([], [], EMPTY_PANEL, []), None, [chatbot, chat_log, panel, turns], api_visibility="private")

        def on_like(data: gr.LikeData, comment_text, turns_, request: gr.Request):
            index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            try:
                return service.feedback(data.liked, index, comment_text, turns_, client_key(request)), ""
            except Exception:
                log.exception("feedback failed")
                return FAILED, gr.skip()

        chatbot.like(on_like, [comment, turns], [feedback_status, comment], api_visibility="private")
    return demo


def client_key(request) -> str:
    """The client's address (a trusted proxy's X-Forwarded-For already applied by the server)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "?"
