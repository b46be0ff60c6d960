"""Stage 6 — ui: the Gradio chat, a thin layer over :class:`bot.answer.Assistant`.

Everything shown that comes from a document or a question is escaped (HTML and the
Markdown the chat renders), so a passage or a question can never become live markup.
Answers stream; each [n] is a link that opens its source under the answer (tap, click or
keyboard), every cited passage is shown there (document, issuer, date, heading path, the
quoted sentences highlighted) with a link to the whole document, and on a desktop also in
the side panel. Refusals look different from answers. Page-wide chrome (theme, styles,
Vietnamese labels, the page script) is in :mod:`bot.chrome`.
"""


import functools
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
from .chrome import SITE_DESCRIPTION, SITE_TITLE
from .config import Settings, quiet_libraries
from .documents import document_facts, known
from .guard import BUSY, FAILED, Admission, RateLimit, clean_text, csv_cell, too_fast
from .viewer import view_url

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
    return " · ".join(esc(f) for f in document_facts(assistant.documents.get(source, {}).get("metadata", {})))


def render_sources(answer: Answer, assistant: Assistant, turn: int, open_: bool = False, prefix: str = "nguon") -> str:
    """Each cited passage as a disclosure: title and heading path, the document's facts,
    the passage with the quoted sentences marked, and a link to the whole document."""
    blocks = []
    for c in answer.citations:
        where = f" — {esc(c.section)}" if c.section else ""
        page = f"trang {c.page}" if c.page else ""
        legal = [esc(x) for x in legal_facts(c)]
        status = f'<div class="tl-meta tl-status">Lưu ý: điều này {esc(c.extra["status"])}</div>' \
            if c.extra.get("status") else ""
        link = (f'<a class="tl-open" href="{attr(view_url(c.source, c.start, c.end))}" target="_blank" '
                f'rel="noopener">Mở toàn văn, đến đoạn này</a>')
        blocks.append(
            f'<details class="tl-source" id="{prefix}-{turn}-{c.id}"{" open" if open_ else ""}>'
            f"<summary>Nguồn [{c.id}]: {esc(c.title)}{where}</summary>"
            f'<div class="tl-meta">{" · ".join(x for x in (_meta(assistant, c.source), *legal, page) if x)}'
            "</div>"
            f'{status}<div class="tl-passage">{_highlight(c.text, c.quotes)}</div><p class="tl-meta">{link}</p></details>'
        )
    return "".join(blocks)


def _lines_html(text: str, tooltips: dict[int, str], turn: int = 0) -> str:
    """Answer text → HTML: lead-ins as paragraphs, items as a list, tables as tables; each
    [n] a link to its source under the answer (the page's script opens it), titled."""

    def refs(escaped: str) -> str:
        # only markers of this answer's citations become links; any other stays plain text
        return re.sub(r"&#91;(\d+)&#93;", lambda m: (
            f'<a class="tl-ref" href="#nguon-{turn}-{m.group(1)}" title="{tooltips[int(m.group(1))]}" '
            f'aria-label="Nguồn {m.group(1)}: {tooltips[int(m.group(1))]}">[{m.group(1)}]</a>'
            if int(m.group(1)) in tooltips else m.group(0)), escaped)

    out, items, rows = [], [], []

    def flush_table() -> None:
        if rows:
            out.append(_table_html(rows, refs))
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


def _table_html(lines: list[str], refs=lambda escaped: escaped) -> str:
    """Markdown table lines → an HTML table (scrolls sideways if wider than the screen)."""
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in lines if not set(r) <= set("|-: ")]
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in cells[0])
    body = "".join("<tr>" + "".join(f"<td>{refs(esc(c))}</td>" for c in r) + "</tr>" for r in cells[1:])
    return f'<div class="tl-wide"><table class="tl-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def render_answer(answer: Answer, assistant: Assistant, turn: int, chart: str = "") -> str:
    """The final assistant message: answer (or refusal), a comparison's chart (``chart``,
    made by :func:`chart_html`), and its sources, one tap away."""
    if answer.abstained:
        related = ""
        if answer.related:
            items = "".join(f"<li>{esc(r['title'])} — {esc(r['section'] or 'phần mở đầu')}</li>" for r in answer.related)
            related = f'<p class="tl-meta">Đoạn gần nhất (không đủ căn cứ để trả lời):</p><ul>{items}</ul>'
        return f'<div class="tl-abstain tl-answer" id="tra-loi-{turn}">⚠️ {esc(answer.answer)}{related}</div>'
    tooltips = {c.id: attr(f"{c.title} — {c.section}"[:300]) for c in answer.citations}
    note = f'<p class="tl-meta">{esc(answer.error)}</p>' if answer.error else ""
    return (f'<div class="tl-answer" id="tra-loi-{turn}">{_lines_html(answer.answer, tooltips, turn)}{note}'
            f"{chart}{render_sources(answer, assistant, turn)}</div>")


def draw_chart(comparison: dict, dpi: int) -> bytes | None:
    """A comparison's chart as PNG (None when there is nothing to plot). Drawing takes
    ~0.7 s at the chat's 100 dpi, ~1.4 s at the download's 150: each is drawn once."""
    return _chart(json.dumps(comparison, ensure_ascii=False, sort_keys=True), dpi)


@functools.lru_cache(maxsize=32)
def _chart(comparison_json: str, dpi: int) -> bytes | None:
    from .targets import chart_png

    try:
        return chart_png(json.loads(comparison_json), dpi=dpi)
    except ValueError:
        return None


def chart_html(comparison: dict | None) -> str:
    """A comparison's chart as an image under the answer (its values are the table's cells,
    each bar labelled with the table's [n]); nothing when there is nothing to plot."""
    import base64

    png = draw_chart(comparison, dpi=100) if comparison else None
    if png is None:
        return ""
    year = comparison.get("year", "")
    alt = attr(f"Biểu đồ so sánh chỉ tiêu đến năm {year} giữa các văn bản; số liệu như trong bảng trên.")
    return (f'<div class="tl-chart"><img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
            f'alt="{alt}"></div>')


def render_partial(text: str) -> str:
    return f"<div>{_lines_html(text, {})}</div>"


MAX_HISTORY = 24  # messages kept in the chat (12 turns): the page sends them all back with every question
CONTEXT_TURNS = 3  # earlier questions read to resolve a follow-up
# Gradio's copies of exported files (CSV, briefings) are deleted an hour after they were made.
CACHE_PURGE = (600, 3600)
EMPTY_PANEL = '<p class="tl-meta">Nguồn của câu trả lời sẽ hiện ở đây.</p>'
EMPTY_QUESTION = "Bạn chưa nhập câu hỏi. Hãy gõ câu hỏi vào ô bên dưới (hoặc chọn một câu hỏi mẫu) rồi bấm Gửi."


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
        if isinstance(question, str) and not question.strip():
            # nothing to send: say so, and add nothing to the conversation
            history, turns = _append(history, turns, {"role": "assistant", "content": _notice(EMPTY_QUESTION)})
            yield history, gr_skip(), question, turns
            return
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
        panel = render_sources(final, assistant, turn, open_=True, prefix="ben") if final.citations else (
            '<p class="tl-meta">Không có nguồn: câu hỏi này không được trả lời từ văn bản.</p>')
        # a question refused for what it is (too long, not text…) stays in the box to edit
        keep = question if final.error and isinstance(question, str) else ""
        yield history, panel, keep, turns
        if final.comparison:  # the answer is read while its chart is drawn (off the event loop)
            chart = await anyio.to_thread.run_sync(chart_html, final.comparison)
            if chart:
                history[-1]["content"] = render_answer(final, assistant, turn, chart)
                yield history, panel, keep, turns

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

    def agency_choices(self) -> list[tuple[str, str]]:
        """The register's agencies for the dropdown: grouped (Ủy ban nhân dân, Sở, ngành, …),
        sorted, each with its number of tasks; non-agencies are not in the register."""
        directory = self.assistant.directory
        labels = dict((value, label) for label, value in directory.agency_options())
        return [(f"{group}: {labels.get(name, name)}", name) for group, names in directory.groups() for name in names]

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

    def duties(self, query: object, sources: object, client: str = "") -> tuple[str, list, list[list]]:
        """Status line, the duties found (records) and their table rows, for the agency asked
        about; with no result, the status suggests the nearest agencies of the register."""
        query = clean_text(query, 300)
        if query is None:
            return "Tên cơ quan phải là văn bản.", [], []
        query = re.sub(r"\s+\(\d+ nhiệm vụ\)$", "", query.replace(" — ", " ")).strip()
        if not query:
            return "Chọn hoặc gõ tên cơ quan.", [], []
        wait = self.limit.wait_for(client) if client else 0
        if wait:
            return too_fast(wait), [], []
        directory = self.assistant.directory
        _, duties = directory.find(query, _sources(sources))
        if not duties:
            near = directory.suggest(query)
            hint = (" Có thể bạn muốn tìm: " + "; ".join(f"«{esc(n)}»" for n in near) + ".") if near else ""
            return f"Các văn bản hiện có không giao nhiệm vụ nào cho «{esc(query)}».{hint}", [], []
        rows = [[d.canonical or d.agency, d.place, d.role, d.task, " · ".join(x for x in (d.deadline, d.frequency) if x),
                 d.title, d.section] for d in duties]
        docs = len({d.source for d in duties})
        return f"{len(duties)} nhiệm vụ trong {docs} văn bản.", duties, rows

    def duties_view(self, query: object, sources: object, client: str = "") -> tuple[str, str, str | None, str | None]:
        """What the duties tab shows: status, a table (cards on a phone) with each task's
        document linked at the cited passage, and CSV and Excel files when there is a result."""
        status, duties, rows = self.duties(query, sources, client)
        if not duties:
            return status, "", None, None
        headers = self.DUTY_HEADERS[:6]  # the document and its section in one column, linked
        shown = [[r[0], r[1], r[2], r[3], r[4], f"{r[5]} — {where}" if (where := _section_above(r[6], r[3])) else r[5]]
                 for r in rows]
        links = [view_url(d.source, d.start, d.end) for d in duties]
        table = records_html(headers, shown, links, long_col=3)
        exported = [row + [d.source] for d, row in zip(duties, rows)]
        return status, table, self.export_table("nhiem-vu", self.DUTY_HEADERS + ["Tệp"], exported, ".csv"), \
            self.export_table("nhiem-vu", self.DUTY_HEADERS + ["Tệp"], exported, ".xlsx")

    def export_table(self, stem: str, headers: list[str], rows: list[list], suffix: str) -> str:
        """The rows as a CSV (UTF-8 with BOM, for Excel) or an .xlsx file; every cell
        neutralised against formula injection."""
        path = self.export_file(stem + "-", suffix)
        cells = [[csv_cell(str(v)) for v in row] for row in rows]
        if suffix == ".xlsx":
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = stem[:31]
            sheet.append(headers)
            for row in cells:
                sheet.append(row)
            book.save(path)
        else:
            import csv

            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(headers)
                writer.writerows(cells)
        return str(path)

    # ------------------------------------------------------------ briefing --

    def brief(self, topic: object, sources: object, client: str = "") -> tuple[str, dict[str, str]]:
        """Preview (escaped) and the briefing's files by extension (.docx, .pptx, .md),
        named after the topic."""
        from .briefing import build_briefing

        topic = clean_text(topic, UI_MAX_QUESTION)
        if topic is None:
            return _notice("Chủ đề phải là văn bản."), {}
        if not topic.strip():
            return _notice("Hãy nhập chủ đề của tài liệu tập huấn."), {}
        wait = self.limit.wait_for(client) if client else 0
        if wait:
            return _notice(too_fast(wait)), {}
        briefing = build_briefing(self.assistant, topic, _sources(sources))
        text = briefing.markdown()
        if not briefing.covered:
            return _notice(briefing.message), {}
        folder = self.export_file("tai-lieu-", "").parent
        files = {}
        for suffix, make in ((".md", lambda: text.encode("utf-8")), (".docx", briefing.docx), (".pptx", briefing.pptx)):
            path = folder / briefing.filename(suffix.lstrip("."))
            path.write_bytes(make())
            files[suffix] = str(path)
        return _briefing_html(text), files

    # ------------------------------------------------------------- targets --

    def target_years(self) -> list[int]:
        from .targets import available

        return sorted(available(self.assistant.corpus.targets))

    def target_indicators(self, year: object) -> list[str]:
        from .targets import available

        return available(self.assistant.corpus.targets).get(year if isinstance(year, int) else -1, [])

    def targets_view(self, year: object, indicators: object, sources: object,
                     client: str = "") -> tuple[str, str | None, str | None]:
        """The targets compared for one year: a table (one [n] per document section, linked
        below to the cited passage; "không đặt chỉ tiêu" where a document sets none) and
        the same cells as a chart, as an image and a PNG file."""
        from .targets import corpus_comparison

        if isinstance(year, str) and year.isdigit():
            year = int(year)
        if not isinstance(year, int) or isinstance(year, bool):
            return _notice("Chọn năm của chỉ tiêu."), None, None
        wait = self.limit.wait_for(client) if client else 0
        if wait:
            return _notice(too_fast(wait)), None, None
        chosen = [i for i in indicators if isinstance(i, str)] if isinstance(indicators, list) else []
        comparison = corpus_comparison(self.assistant.corpus, year, _sources(sources), None, chosen or None)
        if comparison.empty:
            return _notice(f"Các văn bản hiện có không đặt chỉ tiêu nào đến năm {year}."), None, None
        table = records_html(comparison.header(), comparison.rows())
        cited = "".join(
            f'<li>[{c.n}] <a class="tl-open" href="{attr(view_url(c.source, c.start, c.end))}" target="_blank" '
            f'rel="noopener">{esc(c.title)}{" — " + esc(c.section) if c.section else ""}</a></li>'
            for c in comparison.citations)
        shown = f'<div>{table}<p class="tl-meta">Nguồn:</p><ul>{cited}</ul></div>'
        png = draw_chart(comparison.to_json(), dpi=150)
        if png is None:  # nothing numeric to draw
            return shown, None, None
        path = self.export_file(f"chi-tieu-{year}-", ".png")
        path.write_bytes(png)
        return shown, str(path), str(path)

    # ----------------------------------------------------------- documents --

    def documents_html(self) -> str:
        """The documents the assistant answers from, each linked to its whole text."""
        rows, links = [], []
        for source, d in self.assistant.documents.items():
            m = {k: known(v) for k, v in d.get("metadata", {}).items() if known(v)}
            date = m.get("date", "") + (f" (hiệu lực {m['effective']})" if m.get("effective") else "")
            rows.append([d["title"], m.get("issuer", ""), m.get("number", ""), date, str(d["chunks"]), source])
            links.append(view_url(source))
        return records_html(["Văn bản", "Cơ quan ban hành", "Số", "Ngày", "Số đoạn", "Tệp"], rows, links,
                            caption=f"{len(rows)} văn bản", link_col=0, long_col=0)

    def choices(self) -> list[tuple[str, str]]:
        return [(d.get("metadata", {}).get("short_title") or d["title"], s) for s, d in self.assistant.documents.items()]


def _section_above(section: str, task: str) -> str:
    """A task's heading path without its last step when that step is the task itself (a
    task that is a heading of its own would otherwise be shown twice)."""
    steps = section.split(" › ")
    last = steps[-1].rstrip("…").strip()
    if last and task.strip().startswith(last[:60]):
        steps = steps[:-1]
    return " › ".join(steps)


def gr_skip():
    import gradio as gr

    return gr.skip()


def _briefing_html(markdown: str) -> str:
    """The briefing's Markdown shown safely: headings, bullets and tables, everything else escaped."""
    out, items, rows = [], [], []

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items.clear()
        if rows:
            out.append(_table_html(rows))
            rows.clear()

    for line in markdown.split("\n"):
        if line.startswith("|"):
            rows.append(line)
            continue
        if line.startswith("- ") or re.match(r"^\[\d+\] ", line):
            items.append(f"<li>{esc(line[2:] if line.startswith('- ') else line)}</li>")
            continue
        flush()
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            level = len(m.group(1)) + 2
            out.append(f"<h{level}>{esc(m.group(2))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{esc(line)}</p>")
    flush()
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


def records_html(headers: list[str], rows: list[list[str]], links: list[str | None] | None = None,
                 caption: str = "", link_col: int = -1, long_col: int | None = None) -> str:
    """Rows as a table that is columns on a desktop and cards on a phone (each cell labelled
    with its column there); cells are escaped; ``links`` (one per row) make column
    ``link_col`` a link to the document view; column ``long_col`` (a task, a title) gets
    the width the short ones leave."""
    link_col %= len(headers)
    long = lambda j: ' class="tl-long"' if j == long_col else ""
    head = "".join(f'<th scope="col"{long(j)}>{esc(h)}</th>' for j, h in enumerate(headers))
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, (h, value) in enumerate(zip(headers, row)):
            text = esc(str(value))
            if links and links[i] and j == link_col:
                text = f'<a class="tl-open" href="{attr(links[i])}" target="_blank" rel="noopener">{text}</a>'
            # the column's name, shown before the value only where rows become cards (a phone);
            # a span, since the page's sanitiser drops data- attributes
            cells.append(f'<td{long(j)}><span class="tl-label">{esc(h)}: </span>{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption class=\"tl-meta\">{esc(caption)}</caption>" if caption else ""
    return (f'<div class="tl-wide"><table class="tl-table tl-records">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def theme():
    """Gradio's default theme with AA-contrast colours and system fonts (nothing fetched)."""
    import gradio as gr

    system = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Arial", "sans-serif"]
    return gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=system,
                             font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"]).set(
        button_primary_background_fill="#1d4ed8", button_primary_background_fill_hover="#1e40af",
        button_primary_text_color="#ffffff", button_primary_border_color="#1d4ed8",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_hover="#991b1b",
        button_cancel_text_color="#ffffff", button_cancel_border_color="#b91c1c",
        color_accent="#1d4ed8", color_accent_soft="#dbeafe", link_text_color="#1d4ed8",
        body_text_color_subdued="#4b5563", block_info_text_color="#374151", block_label_text_color="#374151",
        input_placeholder_color="#4b5563",
    )


def build_ui(service: ChatService):
    """The page: five tabs, one per task — ask (everyone), duties (officials), targets and
    briefings (trainers), the documents. Phone first: see :mod:`bot.chrome`."""
    quiet_libraries()
    import gradio as gr

    with gr.Blocks(title=SITE_TITLE, delete_cache=CACHE_PURGE) as demo:
        gr.Markdown(f'<div class="tl-intro"><h1>{SITE_TITLE}</h1><p>{SITE_DESCRIPTION} Bấm vào [1], [2]… '
                    "để xem nguyên văn.</p></div>", sanitize_html=True)
        turns = gr.State([])  # the session's answers (for feedback), on the server
        chat_log = gr.State([])  # the session's chat, on the server: the page's copy is display only
        with gr.Tab("Hỏi đáp", elem_id="tab-hoi-dap"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(label="Cuộc hội thoại", show_label=False, height="70vh", autoscroll=False,
                                         sanitize_html=True, render_markdown=True, buttons=["copy"],
                                         feedback_options=["Like", "Dislike"], elem_id="chat",
                                         placeholder="Câu trả lời và nguồn trích dẫn sẽ hiện ở đây.")
                    box = gr.Textbox(label="Câu hỏi của bạn", show_label=False, max_length=UI_MAX_QUESTION,
                                     placeholder="Nhập câu hỏi, ví dụ: Hồ sơ thành lập hợp tác xã gồm những gì?",
                                     lines=2, max_lines=6, elem_id="question")
                    gr.Markdown(f"0/{UI_MAX_QUESTION} ký tự", elem_id="question-count")
                    with gr.Row():
                        send = gr.Button("Gửi câu hỏi", variant="primary", elem_id="send", min_width=120)
                        clear = gr.Button("Cuộc hội thoại mới", elem_id="new-chat", min_width=120)
                    with gr.Accordion("Câu hỏi mẫu", open=True):
                        examples = []
                        for group, questions in EXAMPLES.items():
                            gr.Markdown(f"**{group}**")
                            for q in questions:
                                examples.append((gr.Button(q, size="sm", elem_classes=["tl-examples"]), q))
                    with gr.Accordion("Chỉ tìm trong một số văn bản", open=False):
                        doc_filter = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                                 label="Văn bản (để trống: tất cả)")
                    with gr.Accordion("Góp ý về câu trả lời", open=False):
                        comment = gr.Textbox(label="Góp ý (không bắt buộc) — rồi bấm nút Thích hoặc Không thích "
                                                   "dưới câu trả lời", lines=2, max_length=2000)
                        feedback_status = gr.Markdown("")
                with gr.Column(scale=2, min_width=280, elem_id="side"):
                    gr.Markdown("## Nguồn trích dẫn")
                    # Markdown, not gr.HTML: Gradio 6's HTML component compiles templates with
                    # eval, which the page's Content-Security-Policy forbids
                    panel = gr.Markdown(EMPTY_PANEL, sanitize_html=True, elem_id="sources")

        with gr.Tab("Nhiệm vụ", elem_id="tab-nhiem-vu"):
            gr.Markdown("**Tra cứu nhiệm vụ của một cơ quan**: mọi nhiệm vụ các văn bản giao, nguyên văn, kèm vai trò "
                        "(chủ trì, phối hợp), thời hạn, văn bản và mục.")
            with gr.Row():
                agency = gr.Dropdown(choices=service.agency_choices(), value=None, allow_custom_value=True,
                                     label="Cơ quan (chọn hoặc gõ, có dấu hay không dấu)", scale=3, min_width=280,
                                     elem_id="agency")
                duty_docs = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                        label="Chỉ trong văn bản", scale=2, min_width=280)
            lookup = gr.Button("Tra cứu", variant="primary", elem_id="lookup")
            duty_status = gr.Markdown("", elem_id="duty-status")
            with gr.Row():
                export = gr.DownloadButton("Tải CSV", value=None, visible=False, elem_id="export")
                export_xlsx = gr.DownloadButton("Tải Excel", value=None, visible=False, elem_id="export-xlsx")
            duty_table = gr.Markdown("", sanitize_html=True, elem_id="duty-table")

            def on_lookup(query, sources, request: gr.Request):
                try:
                    status, table, csv_path, xlsx_path = service.duties_view(query, sources, client_key(request))
                except Exception:
                    log.exception("duties failed")
                    status, table, csv_path, xlsx_path = FAILED, "", None, None
                return (status, table, gr.update(value=csv_path, visible=csv_path is not None),
                        gr.update(value=xlsx_path, visible=xlsx_path is not None))

            duty_outputs = [duty_status, duty_table, export, export_xlsx]
            lookup.click(on_lookup, [agency, duty_docs], duty_outputs, api_name="duties")
            agency.select(on_lookup, [agency, duty_docs], duty_outputs, api_visibility="private")

        with gr.Tab("Tập huấn", elem_id="tab-tap-huan"):
            gr.Markdown("**So sánh chỉ tiêu** giữa các văn bản: bảng và biểu đồ, mỗi số liệu kèm trích dẫn.")
            years = service.target_years()
            first_year = 2030 if 2030 in years else (years[0] if years else None)
            with gr.Row():
                target_year = gr.Dropdown(choices=years, value=first_year, label="Chỉ tiêu đến năm", scale=1,
                                          min_width=140, elem_id="target-year")
                target_kinds = gr.Dropdown(choices=service.target_indicators(first_year), value=[], multiselect=True,
                                           label="Chỉ tiêu (để trống: tất cả)", scale=3, min_width=280,
                                           elem_id="target-kinds")
            compare = gr.Button("So sánh", variant="primary", elem_id="compare")
            target_table = gr.Markdown("", sanitize_html=True, elem_id="target-table")
            target_chart = gr.Image(label="Biểu đồ so sánh chỉ tiêu", type="filepath", interactive=False, visible=False,
                                    buttons=[], elem_id="target-chart",
                                    alt_text="Biểu đồ so sánh chỉ tiêu giữa các văn bản; số liệu như trong bảng.")
            chart_file = gr.DownloadButton("Tải biểu đồ (PNG)", value=None, visible=False, elem_id="chart-png")

            def on_compare(year_value, kinds, request: gr.Request):
                try:
                    table_html, image, png = service.targets_view(year_value, kinds, None, client_key(request))
                except Exception:
                    log.exception("targets failed")
                    table_html, image, png = _notice(FAILED), None, None
                return (table_html, gr.update(value=image, visible=image is not None),
                        gr.update(value=png, visible=png is not None))

            compare.click(on_compare, [target_year, target_kinds], [target_table, target_chart, chart_file],
                          api_name="targets")
            target_year.change(lambda y: gr.update(choices=service.target_indicators(y), value=[]), target_year,
                               target_kinds, api_visibility="private", queue=False)

            gr.Markdown("**Soạn tài liệu tập huấn** về một chủ đề: ý chính, rồi các đoạn văn bản liên quan, mỗi ý kèm "
                        "trích dẫn và danh sách nguồn. Tải về dạng Word, PowerPoint hoặc Markdown.")
            with gr.Row():
                topic = gr.Textbox(label="Chủ đề", placeholder="ví dụ: chuyển đổi số trong hợp tác xã", scale=3,
                                   max_length=UI_MAX_QUESTION, min_width=280, elem_id="topic")
                brief_docs = gr.Dropdown(choices=service.choices(), value=[], multiselect=True,
                                         label="Chỉ dùng văn bản", scale=2, min_width=280)
            make = gr.Button("Soạn tài liệu", variant="primary", elem_id="make-brief")
            with gr.Row():
                docx_file = gr.DownloadButton("Tải Word (.docx)", value=None, visible=False, elem_id="brief-docx")
                pptx_file = gr.DownloadButton("Tải PowerPoint (.pptx)", value=None, visible=False, elem_id="brief-pptx")
                md_file = gr.DownloadButton("Tải Markdown", value=None, visible=False, elem_id="brief-md")
            preview = gr.Markdown("", sanitize_html=True, elem_id="brief-preview")

            def on_brief(topic_text, sources, request: gr.Request):
                try:
                    html_text, files = service.brief(topic_text, sources, client_key(request))
                except Exception:
                    log.exception("briefing failed")
                    html_text, files = _notice(FAILED), {}
                return (html_text, *(gr.update(value=files.get(k), visible=k in files) for k in (".docx", ".pptx", ".md")))

            make.click(on_brief, [topic, brief_docs], [preview, docx_file, pptx_file, md_file], api_name="brief")

        with gr.Tab("Văn bản", elem_id="tab-van-ban"):
            gr.Markdown("**Các văn bản trợ lý dùng để trả lời.** Bấm tên tệp để đọc toàn văn.")
            table = gr.Markdown(service.documents_html(), sanitize_html=True, elem_id="documents")
        # a session opened before an upload sees the new documents when it opens a list
        for dropdown in (doc_filter, duty_docs, brief_docs):
            dropdown.focus(lambda: gr.update(choices=service.choices()), None, dropdown, api_visibility="private",
                           queue=False)
        agency.focus(lambda: gr.update(choices=service.agency_choices()), None, agency, api_visibility="private",
                     queue=False)
        demo.load(service.documents_html, None, table, api_visibility="private", queue=False)

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
        for button, question in examples:
            button.click(lambda q=question: q, None, box, api_visibility="private", queue=False)
        clear.click(lambda: ([], [], EMPTY_PANEL, []), None, [chatbot, chat_log, panel, turns], api_visibility="private")
        # the chat's own clear button empties the session's record too
        chatbot.clear(lambda: ([], EMPTY_PANEL, []), None, [chat_log, panel, turns], api_visibility="private")

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
