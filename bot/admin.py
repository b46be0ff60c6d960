"""Document management: upload, remove, re-index, read the feedback log.

Only the admin page (``/quan-tri``, behind a login when a password is set) and the CLI
reach these. Indexing runs in one background thread, off every request path: an upload
returns at once, the page polls the indexer's status, and chat and feedback never wait
for it. The published index switches in one step (see :mod:`bot.index`), so a reader
sees the old version or the new one, never half of either; an upload is copied into
``documents/`` atomically and only after it was read successfully, and a restart
catches up with any file the index has not seen (a crash mid-build loses nothing).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings
from .documents import SUPPORTED, UnreadableError, load_file
from .index import build_index, current_version, open_index

log = logging.getLogger("bot")
REMOVED = ".removed"


def safe_filename(name: str) -> str:
    """A file name that cannot escape the documents folder or hide itself."""
    import re
    import unicodedata

    base = Path(unicodedata.normalize("NFC", name.replace("\\", "/"))).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.\- ]+", "-", stem).strip(" .-_")[:100] or "tai-lieu"
    stem = re.sub(r"[-\s]+", "-", stem)
    return f"{stem}{suffix}"


@dataclass
class Intake:
    """What an upload did: files added to ``documents/`` and files refused, with reasons."""

    added: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def accept_uploads(settings: Settings, paths: list[Path]) -> Intake:
    """Copy the readable files among ``paths`` into the documents folder.

    Each file is read with the same reader the indexer uses *before* it is copied, so an
    unreadable file (a ZIP named .pdf, an empty file, a DOCX bomb) is refused and never
    lands in the folder; the copy goes through a hidden temporary name and one rename.
    """
    folder = settings.documents_dir
    folder.mkdir(parents=True, exist_ok=True)
    intake = Intake()
    for path in paths:
        shown = path.name
        name = safe_filename(shown)
        suffix = Path(name).suffix
        if suffix not in SUPPORTED:
            intake.refused.append((shown, f"định dạng {suffix or '(không có)'} không được hỗ trợ"))
            continue
        try:  # the indexer's reader, with its size and expansion limits
            load_file(path, name, None, int(settings.max_file_mb * 1_000_000), int(settings.max_unzipped_mb * 1e6))
        except UnreadableError as exc:
            intake.refused.append((shown, str(exc)))
            continue
        except OSError as exc:
            intake.refused.append((shown, f"không đọc được ({exc.strerror or exc})"))
            continue
        target = folder / name
        n = 1
        while target.exists() and target.read_bytes() != path.read_bytes():
            target = folder / f"{Path(name).stem}-{n}{suffix}"
            n += 1
        staging = folder / f".tai-len-{os.getpid()}-{threading.get_ident()}{suffix}"
        shutil.copyfile(path, staging)
        os.replace(staging, target)
        intake.added.append(target.name)
    return intake


def remove_document(settings: Settings, name: str) -> Path:
    """Move a document out of the index's reach into ``documents/.removed/`` (kept, not
    deleted: removing is undone by moving it back). ``name`` is a path relative to the
    documents folder or a source id (``file#instrument`` removes the whole file)."""
    folder = settings.documents_dir.resolve()
    relative = name.split("#", 1)[0].strip()
    target = (folder / relative).resolve()
    if folder not in target.parents or any(p.startswith(".") for p in target.relative_to(folder).parts):
        raise ValueError(f"«{name}» không phải một tài liệu trong thư mục tài liệu")
    if not target.is_file():
        raise FileNotFoundError(f"không có tài liệu «{relative}»")
    keep = folder / REMOVED / f"{time.strftime('%Y%m%d-%H%M%S')}-{target.name}"
    keep.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, keep)
    return keep


@dataclass
class IndexStatus:
    running: bool = False
    message: str = "Chỉ mục sẵn sàng."
    done: int = 0
    total: int = 0
    current: str = ""  # the stage (embedding, writing)
    stage_started: float = 0.0
    finished: float = 0.0  # time.time() of the last completed run


class Indexer:
    """One thread that re-indexes whenever asked, coalescing requests that arrive while
    it works; after a run that changed anything it hands a fresh assistant to
    ``on_published``. Chat requests never take its lock."""

    def __init__(self, settings: Settings, embeddings, on_published):
        self.settings, self.embeddings, self.on_published = settings, embeddings, on_published
        self.status = IndexStatus()
        self._requests: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="indexer", daemon=True)
        self._thread.start()

    def submit(self, reason: str) -> None:
        self._requests.put(reason)

    def idle(self) -> bool:
        return not self.status.running and self._requests.empty()

    def _work(self) -> None:
        while True:
            reasons = [self._requests.get()]
            while not self._requests.empty():
                reasons.append(self._requests.get_nowait())
            self.status.running, self.status.done, self.status.total = True, 0, 0
            self.status.message = "Đang lập chỉ mục…"
            try:
                before = current_version(self.settings.index_dir)
                summary = build_index(self.settings, progress=self._progress, embeddings=self.embeddings)
                if before is None or summary.version != before.name:
                    self.on_published(open_index(self.settings))
                lines = [f"Chỉ mục đã cập nhật ({', '.join(dict.fromkeys(reasons))}): {summary.documents} tài liệu, "
                         f"{summary.chunks} đoạn, nhúng mới {summary.embedded} đoạn, xóa {summary.deleted} "
                         f"({summary.seconds:.1f} giây)."]
                lines += [f"Bỏ qua {s.source}: {s.reason}" for s in summary.skipped]
                self.status.message = "\n".join(lines)
            except Exception:  # the previous version keeps serving; the admin sees that it failed
                log.exception("indexing failed")
                self.status.message = "Lập chỉ mục thất bại; chỉ mục trước vẫn đang dùng. Chi tiết trong nhật ký máy chủ."
            finally:
                self.status.running, self.status.current = False, ""
                self.status.finished = time.time()

    def _progress(self, stage: str, done: int, total: int) -> None:
        if stage != self.status.current:
            self.status.stage_started = time.time()
        self.status.done, self.status.total, self.status.current = done, total, stage


def progress_line(status: IndexStatus, now: float | None = None) -> str:
    """"Đang lập chỉ mục — Nhúng: 1.200/5.000 · 19,5/giây · còn khoảng 3 phút 0 giây":
    what the terminal's bar says, for the page."""
    if not status.current:
        return "⏳ Đang lập chỉ mục…"
    line = f"⏳ Đang lập chỉ mục — {status.current}: {status.done:,}/{max(status.total, status.done):,}".replace(",", ".")
    elapsed = (now or time.time()) - status.stage_started
    if status.done and elapsed > 0:
        rate = status.done / elapsed
        left = int((status.total - status.done) / rate) if rate else 0
        line += f" · {rate:.1f}/giây".replace(".", ",")
        line += f" · còn khoảng {left // 60} phút {left % 60} giây" if left >= 60 else f" · còn khoảng {left} giây"
    return line


def feedback_rows(settings: Settings, limit: int = 200) -> list[list]:
    """The newest feedback entries, newest first, as table rows."""
    path = settings.feedback_log
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            liked = {True: "Thích", False: "Không thích"}.get(e.get("liked"), "—")
            rows.append([e.get("time", ""), liked, e.get("question", ""), e.get("comment", ""),
                         "; ".join(s.get("source", "") for s in e.get("sources", []))])
    return rows[::-1][:limit]


def document_files(settings: Settings) -> list[str]:
    """Files in the documents folder (relative paths), hidden ones aside."""
    folder = settings.documents_dir
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def build_admin(service, indexer: Indexer):
    """The document-management page: status of the index, upload, remove, re-index and
    the feedback log. Every action only queues indexing; the status line follows it."""
    import gradio as gr

    from .ui import CACHE_PURGE, esc

    settings = service.settings

    def status_text() -> str:
        s = indexer.status
        if s.running:
            return esc(progress_line(s))
        return "\n\n".join(esc(line) for line in s.message.split("\n"))

    def on_upload(paths):
        if not paths:
            return "Chưa chọn tệp nào.", status_text()
        items = [Path(p if isinstance(p, str) else getattr(p, "name", str(p))) for p in paths]
        intake = accept_uploads(settings, items)
        lines = []
        if intake.added:
            indexer.submit("thêm " + ", ".join(intake.added))
            lines.append(f"Đã nhận: {', '.join(esc(a) for a in intake.added)} — đang lập chỉ mục, xem trạng thái bên dưới.")
        lines += [f"Không thêm {esc(name)}: {esc(reason)}" for name, reason in intake.refused]
        return "\n\n".join(lines), status_text()

    def on_remove(name):
        if not name:
            return "Chọn một tài liệu để gỡ.", status_text()
        try:
            kept = remove_document(settings, name)
        except (ValueError, FileNotFoundError) as exc:
            return esc(str(exc)), status_text()
        indexer.submit("gỡ " + name)
        return (f"Đã gỡ {esc(name)} (bản lưu: {esc(kept.relative_to(settings.documents_dir).as_posix())}) — "
                "đang cập nhật chỉ mục."), status_text()

    def on_feedback_file():
        path = settings.feedback_log
        if not path.exists():
            return gr.update(value=None, visible=False)
        copy = service.export_file("gop-y-", ".jsonl")
        shutil.copyfile(path, copy)
        return gr.update(value=str(copy), visible=True)

    with gr.Blocks(title="Quản trị — Trợ lý chính sách kinh tế tập thể", delete_cache=CACHE_PURGE) as page:
        gr.Markdown("## Quản trị tài liệu\nThêm, gỡ tài liệu và lập lại chỉ mục; đọc góp ý của người dùng. "
                    "Việc lập chỉ mục chạy nền: hỏi đáp vẫn phục vụ bằng chỉ mục hiện tại cho tới khi bản mới sẵn sàng.")
        status = gr.Markdown(status_text(), elem_id="index-status")
        timer = gr.Timer(1.5)
        with gr.Tab("Tài liệu"):
            files_list = gr.Dropdown(choices=document_files(settings), value=None, label="Tài liệu trong thư mục",
                                     elem_id="doc-file")
            with gr.Row():
                remove = gr.Button("Gỡ tài liệu đã chọn", variant="stop", elem_id="remove-doc")
                reindex = gr.Button("Lập lại chỉ mục", elem_id="reindex")
            action = gr.Markdown("", elem_id="admin-action")
            if settings.allow_upload:
                files = gr.File(label=f"Thêm tài liệu ({', '.join(sorted(SUPPORTED))}; tối đa "
                                      f"{settings.max_file_mb:g} MB mỗi tệp)",
                                file_count="multiple", file_types=sorted(SUPPORTED), elem_id="upload")
                add = gr.Button("Thêm và lập chỉ mục", variant="primary", elem_id="add-docs")
                add.click(on_upload, [files], [action, status], api_visibility="private")
            else:
                gr.Markdown("Tải tài liệu lên đã bị tắt trên máy chủ này (BOT_ALLOW_UPLOAD=0).")
        with gr.Tab("Góp ý"):
            feedback = gr.Dataframe(headers=["Thời gian", "Đánh giá", "Câu hỏi", "Góp ý", "Nguồn"], value=[],
                                    interactive=False, wrap=True, elem_id="feedback-table")
            with gr.Row():
                refresh = gr.Button("Tải lại", elem_id="feedback-refresh")
                download = gr.DownloadButton("Tải sổ góp ý (.jsonl)", visible=False, elem_id="feedback-file")
            refresh.click(lambda: (feedback_rows(settings), on_feedback_file()), None, [feedback, download],
                          api_visibility="private")
        remove.click(on_remove, [files_list], [action, status], api_visibility="private")
        reindex.click(lambda: (indexer.submit("yêu cầu của quản trị viên"), "Đã yêu cầu lập lại chỉ mục.")[1], None,
                      [action], api_visibility="private")
        timer.tick(lambda: (status_text(), gr.update(choices=document_files(settings))), None, [status, files_list],
                   api_visibility="private", queue=False, show_progress="hidden")
        page.load(lambda: (feedback_rows(settings), on_feedback_file()), None, [feedback, download],
                  api_visibility="private")
    return page
