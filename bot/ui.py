"""Stage 6 — ui: the Gradio chat, a thin layer over :class:`bot.answer.Assistant`.

Everything shown that comes from a document or a question is escaped (HTML and the
Markdown the chat renders), so a passage or a question can never become live markup.
Answers stream; each [n] shows its source on hover, and every cited passage is one click
away under the answer (document, issuer, date, heading path, the quoted sentences
highlighted) and in the sources panel. Refusals look different from answers.
"""


import html
import json
import re
import shutil
import threading
import time
import unicodedata
from pathlib import Path

from .answer import Answer, Assistant, legal_facts
from .config import Settings, quiet_libraries
from .documents import SUPPORTED
from .index import build_index, ensure_index, open_index

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
    """Escape for HTML *and* for the Markdown renderer: plain text stays plain text."""
    out = html.escape(text, quote=True)
    return "".join(_MD_SPECIAL.get(ch, ch) for ch in out)


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
        return re.sub(r"&#91;(\d+)&#93;", lambda m: (
            f'<span class="tl-ref" title="{tooltips.get(int(m.group(1)), "")}">[{m.group(1)}]</span>'), escaped)

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
    tooltips = {c.id: esc(f"{c.title} — {c.section}")[:300] for c in answer.citations}
    note = f'<p class="tl-meta">{esc(answer.error)}</p>' if answer.error else ""
    return f"<div>{_lines_html(answer.answer, tooltips)}{note}{render_sources(answer, assistant, turn)}</div>"


def render_partial(text: str) -> str:
    return f"<div>{_lines_html(text, {})}</div>"


def safe_filename(name: str) -> str:
    """A file name that cannot escape the documents folder or hide itself."""
    base = Path(unicodedata.normalize("NFC", name.replace("\\", "/"))).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.\- ]+", "-", stem).strip(" .-_")[:100] or "tai-lieu"
    stem = re.sub(r"[-\s]+", "-", stem)
    return f"{stem}{suffix}"


class ChatService:
    """Holds the assistant (swapped after re-indexing) and does what the page asks."""

    def __init__(self, settings: Settings, assistant: Assistant):
        self.settings = settings
        self.assistant = assistant
        self.lock = threading.Lock()

    # ---------------------------------------------------------------- chat --

    def respond(self, message: str, history: list[dict], sources: list[str] | None, turns: list[dict]):
        """Stream one answer into the chat. Yields (history, sources panel, textbox, turns)."""
        history = list(history or [])
        message = message or ""
        assistant = self.assistant
        raw_history = [{"role": m["role"], "content": html.unescape(_plain(m["content"]))}
                       for m in history if m.get("role") == "user"]
        shown_question = message if len(message) <= 300 else message[:300] + "…"
        history.append({"role": "user", "content": esc(shown_question) or "…"})
        history.append({"role": "assistant", "content": ""})
        turn = len(turns)
        final: Answer | None = None
        for text, done in assistant.stream(message, raw_history, sources or None):
            if done is None:
                history[-1]["content"] = render_partial(text)
                yield history, "", "", turns
            else:
                final = done
        assert final is not None
        history[-1]["content"] = render_answer(final, assistant, turn)
        turns = list(turns) + [{"index": len(history) - 1, "answer": final.to_json()}]
        panel = render_sources(final, assistant, turn, open_=True) if final.citations else (
            '<p class="tl-meta">Không có nguồn: câu hỏi này không được trả lời từ văn bản.</p>')
        yield history, panel, "", turns

    # ------------------------------------------------------------ feedback --

    def feedback(self, liked: bool | None, index: int, comment: str, turns: list[dict]) -> str:
        turn = next((t for t in turns if t["index"] == index), None)
        if turn is None:
            return "Chỉ đánh giá được câu trả lời của trợ lý."
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "liked": liked, "comment": (comment or "").strip()[:2000],
            "question": turn["answer"]["question"], "answer": turn["answer"]["answer"],
            "abstained": turn["answer"]["abstained"],
            "sources": [{k: c[k] for k in ("id", "source", "section")} for c in turn["answer"]["citations"]],
        }
        path = self.settings.feedback_log
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock, path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return "Cảm ơn góp ý của bạn — đã ghi lại." if liked is not None else "Đã bỏ đánh giá."

    # -------------------------------------------------------------- duties --

    DUTY_HEADERS = ["Cơ quan", "Địa bàn", "Vai trò", "Nhiệm vụ (nguyên văn)", "Thời hạn", "Văn bản", "Mục"]

    def agency_choices(self) -> list[str]:
        return [f"{name} — {place}" for name, place, _ in self.assistant.directory.agencies()]

    def duties(self, query: str | None, sources: list[str] | None) -> tuple[str, list[list], str | None]:
        """Status line, table rows and a CSV file for the agency asked about."""
        import csv
        import tempfile

        query = (query or "").replace(" — ", " ").strip()
        if not query:
            return "Chọn hoặc gõ tên cơ quan.", [], None
        matches, duties = self.assistant.directory.find(query, sources or None)
        if not duties:
            return f"Các văn bản hiện có không giao nhiệm vụ nào cho «{esc(query)}».", [], None
        rows = [[d.agency, d.place, d.role, d.task, d.deadline or "", d.title, d.section] for d in duties]
        handle = tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="nhiem-vu-", delete=False,
                                             encoding="utf-8-sig", newline="")
        with handle:
            writer = csv.writer(handle)
            writer.writerow(self.DUTY_HEADERS + ["Tệp"])
            for d, row in zip(duties, rows):
                writer.writerow(row + [d.source])
        docs = len({d.source for d in duties})
        return f"{len(duties)} nhiệm vụ trong {docs} văn bản.", rows, handle.name

    # ------------------------------------------------------------ briefing --

    def brief(self, topic: str, sources: list[str] | None) -> tuple[str, str | None, str | None]:
        """Markdown preview (escaped) and the .md / .docx files of a briefing."""
        import tempfile

        from .briefing import build_briefing

        briefing = build_briefing(self.assistant, topic or "", sources or None)
        text = briefing.markdown()
        if not briefing.covered:
            return f'<div class="tl-abstain">⚠️ {esc(briefing.message)}</div>', None, None
        folder = Path(tempfile.mkdtemp(prefix="tai-lieu-"))
        md, docx_path = folder / "tai-lieu-tap-huan.md", folder / "tai-lieu-tap-huan.docx"
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

    def upload(self, files: list[str] | None, progress) -> str:
        """Copy allowed files into documents/ (sanitised names) and re-index incrementally."""
        if not self.settings.allow_upload:
            return "Tải lên đã bị tắt trên máy chủ này."
        if not files:
            return "Chưa chọn tệp nào."
        folder = self.settings.documents_dir
        added, refused = [], []
        for item in files:
            path = Path(item if isinstance(item, str) else getattr(item, "name", str(item)))
            name = safe_filename(path.name)
            suffix = Path(name).suffix
            if suffix not in SUPPORTED:
                refused.append(f"{esc(path.name)}: định dạng {esc(suffix or '(không có)')} không được hỗ trợ")
                continue
            size = path.stat().st_size
            if size > self.settings.max_file_mb * 1_000_000:
                refused.append(f"{esc(path.name)}: quá lớn ({size / 1e6:.1f} MB > {self.settings.max_file_mb:g} MB)")
                continue
            target = (folder / name).resolve()
            if folder.resolve() not in target.parents:
                refused.append(f"{esc(path.name)}: tên tệp không hợp lệ")
                continue
            n = 1
            while target.exists() and target.read_bytes() != path.read_bytes():
                target = folder / f"{Path(name).stem}-{n}{suffix}"
                n += 1
            shutil.copyfile(path, target)
            added.append(target.name)
        if not added:
            return "Không thêm được tệp nào. " + "; ".join(refused)

        def report(source: str, done: int, total: int) -> None:
            progress((done, max(total, 1)), desc=f"Lập chỉ mục {source}".strip(), unit="tài liệu")

        with self.lock:
            summary = build_index(self.settings, progress=report, embeddings=self.assistant.embeddings)
            self.assistant = Assistant(self.settings, open_index(self.settings), self.assistant.embeddings)
        lines = [f"Đã thêm: {', '.join(esc(a) for a in added)}.",
                 f"Chỉ mục: {summary.documents} tài liệu, {summary.chunks} đoạn, nhúng mới {summary.embedded} đoạn "
                 f"({summary.seconds:.1f} giây)."]
        lines += [f"Bỏ qua {esc(s.source)}: {esc(s.reason)}" for s in summary.skipped]
        lines += [f"Không thêm {r}" for r in refused]
        return "\n\n".join(lines)


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

    with gr.Blocks(title="Trợ lý chính sách kinh tế tập thể") as demo:
        gr.Markdown("## Trợ lý chính sách kinh tế tập thể\nHỏi về hợp tác xã, kinh tế tập thể: câu trả lời chỉ lấy "
                    "từ các văn bản đã nạp, mỗi ý kèm trích dẫn [n] — bấm vào *Nguồn* để xem nguyên văn.")
        turns = gr.State([])
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
                    panel = gr.HTML('<p class="tl-meta">Nguồn của câu trả lời sẽ hiện ở đây.</p>', elem_id="sources")
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
            export = gr.DownloadButton("Tải CSV", value=None, elem_id="export")

            def on_lookup(query, sources):
                status, rows, path = service.duties(query, sources)
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
            preview = gr.HTML("", elem_id="brief-preview")

            def on_brief(topic_text, sources):
                html_text, md_path, docx_path = service.brief(topic_text, sources)
                return (html_text, gr.update(value=md_path, visible=md_path is not None),
                        gr.update(value=docx_path, visible=docx_path is not None))

            make.click(on_brief, [topic, brief_docs], [preview, md_file, docx_file], api_name="brief")

        with gr.Tab("Tài liệu"):
            table = gr.Dataframe(value=service.documents_table(), interactive=False, wrap=True,
                                 headers=["Văn bản", "Cơ quan ban hành", "Số", "Ngày", "Số đoạn", "Tệp"])
            if service.settings.allow_upload:
                files = gr.File(label=f"Thêm tài liệu ({', '.join(sorted(SUPPORTED))}; tối đa "
                                      f"{service.settings.max_file_mb:g} MB mỗi tệp)",
                                file_count="multiple", file_types=sorted(SUPPORTED), elem_id="upload")
                add = gr.Button("Thêm và lập chỉ mục", elem_id="add-docs")
                upload_status = gr.Markdown("", elem_id="upload-status")

                def on_upload(paths, progress=gr.Progress()):
                    message = service.upload(paths, progress)
                    return (message, service.documents_table(), gr.update(choices=service.choices()),
                            gr.update(choices=service.agency_choices()))

                add.click(on_upload, [files], [upload_status, table, doc_filter, agency], api_visibility="private",
                          concurrency_limit=1)
            else:
                gr.Markdown("Tải tài liệu lên đã bị tắt trên máy chủ này.")

        def on_submit(message, history, sources, turns_):
            if not (message or "").strip():
                yield history, gr.update(), "", turns_
                return
            yield from service.respond(message, history, sources, turns_)

        send.click(on_submit, [box, chatbot, doc_filter, turns], [chatbot, panel, box, turns], api_name="chat",
                   concurrency_limit=service.settings.concurrency)
        box.submit(on_submit, [box, chatbot, doc_filter, turns], [chatbot, panel, box, turns],
                   api_visibility="private", concurrency_limit=service.settings.concurrency)
        clear.click(lambda: ([], '<p class="tl-meta">Nguồn của câu trả lời sẽ hiện ở đây.</p>', []), None,
                    [chatbot, panel, turns], api_visibility="private")

        def on_like(data: gr.LikeData, comment_text, turns_):
            index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            return service.feedback(data.liked, index, comment_text, turns_), ""

        chatbot.like(on_like, [comment, turns], [feedback_status, comment], api_visibility="private")
    return demo


def main(settings: Settings) -> None:
    """Build the index if missing (progress in the terminal), then serve the page."""
    quiet_libraries()
    handle = ensure_index(settings)
    service = ChatService(settings, Assistant(settings, handle))
    demo = build_ui(service)
    demo.queue(default_concurrency_limit=settings.concurrency)
    print(f"Mở trình duyệt: http://{settings.host}:{settings.port}", flush=True)
    demo.launch(server_name=settings.host, server_port=settings.port, css=CSS, ssr_mode=False, quiet=True,
                show_error=True, max_file_size=f"{settings.max_file_mb:g}mb")
