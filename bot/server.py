"""The web server: the public chat at ``/`` and document management at ``/quan-tri``,
one FastAPI app behind :class:`bot.guard.Shield`, served by uvicorn.

Two roles: anyone may ask, read sources and give feedback; only an administrator may
change what the assistant knows. Binding to a public address with uploads on and no admin
password is refused at start-up, because one anonymous upload would be quoted to
everyone afterwards.
"""

from __future__ import annotations

import hmac
import logging
import sys
import threading

from .config import Settings, quiet_libraries
from .guard import Shield, loopback

ADMIN_PATH = "/quan-tri"
log = logging.getLogger("bot")


def startup_problem(settings: Settings) -> str | None:
    """Why the server must not start with these settings (None: it may)."""
    if not loopback(settings.host) and settings.allow_upload and not settings.admin_password:
        return (f"Từ chối khởi động: BOT_HOST={settings.host} mở trang cho mọi người, tải tài liệu lên đang bật "
                "nhưng chưa đặt mật khẩu quản trị. Đặt BOT_ADMIN_PASSWORD (hoặc BOT_ADMIN_PASSWORD_FILE), "
                "hoặc tắt tải lên bằng BOT_ALLOW_UPLOAD=0.")
    return None


def admin_enabled(settings: Settings) -> bool:
    """The admin page exists behind a password, or without one on a loopback-only server
    (one person on their own machine); never open on a public address."""
    return bool(settings.admin_password) or loopback(settings.host)


def _check_login(settings: Settings):
    def check(username: str, password: str) -> bool:
        user_ok = hmac.compare_digest(username.encode(), settings.admin_user.encode())
        return hmac.compare_digest(password.encode(), settings.admin_password.encode()) and user_ok

    return check


def add_document_view(app, service) -> None:
    """``/van-ban``: a cited document of the current index, the passage highlighted."""
    from fastapi.responses import HTMLResponse

    from .viewer import VIEW_PATH, render_document

    @app.get(VIEW_PATH, include_in_schema=False)
    def view(nguon: str = "", tu: str | None = None, den: str | None = None) -> HTMLResponse:
        corpus = service.assistant.corpus
        status, page = render_document(corpus.documents, corpus.records, nguon, tu, den)
        return HTMLResponse(page, status_code=status)


def create_app(settings: Settings):
    """(ASGI app, chat service, indexer), the index built first if missing; returned,
    not run, so a deployment's own ASGI server can serve the app."""
    quiet_libraries()
    import gradio as gr
    from fastapi import FastAPI

    from .admin import Indexer, build_admin
    from .answer import Assistant
    from .index import ensure_index, watch_versions
    from .chrome import VietnamesePage
    from .ui import ChatService, build_ui, theme

    handle = ensure_index(settings)
    service = ChatService(settings, Assistant(settings, handle))
    threading.Thread(target=service.assistant.corpus.warm, name="warm", daemon=True).start()
    indexer = Indexer(settings, service.assistant.embeddings, service.publish)
    # versions published by another replica or a separate `bot index` job
    watch_versions(settings, service.version, service.publish, settings.follow_seconds)
    # catch up with files added while the server was down (or mid-build when it was killed)
    indexer.submit("khởi động")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_document_view(app, service)
    common = dict(show_error=False, footer_links=[], run_history=False, ssr_mode=False,
                  theme=theme())
    with_admin = admin_enabled(settings)
    if with_admin:
        admin = build_admin(service, indexer)
        admin.queue(default_concurrency_limit=1, max_size=20)
        gr.mount_gradio_app(app, admin, ADMIN_PATH, max_file_size=f"{settings.max_file_mb:g}mb",
                            auth=_check_login(settings) if settings.admin_password else None,
                            auth_message="Trang quản trị: đăng nhập bằng tài khoản quản trị viên.", **common)
    public = build_ui(service)
    # Gradio hands at most ``max_threads`` events to handlers at once and queues the rest
    # silently; with room for everyone the service admits, the busy message is reached.
    public.max_threads = 1000
    public.queue(default_concurrency_limit=settings.concurrency, max_size=4 * settings.max_waiting + 256)
    gr.mount_gradio_app(app, public, "/", max_file_size="1kb", **common)
    events = {"": set(public.fns)} | ({ADMIN_PATH: set(admin.fns)} if with_admin else {})
    return Shield(VietnamesePage(app), max_body=settings.max_request_kb * 1024, admin_prefix=ADMIN_PATH if with_admin else None,
                  admin_uploads=with_admin and settings.allow_upload, events=events), service, indexer


def main(settings: Settings) -> int:
    """Check the settings, build the index if missing (progress in the terminal), serve."""
    quiet_libraries()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problem = startup_problem(settings)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    import uvicorn

    app, _, _ = create_app(settings)
    print(f"Mở trình duyệt: http://{settings.host}:{settings.port}", flush=True)
    if admin_enabled(settings):
        login = "đăng nhập " + settings.admin_user if settings.admin_password else "không cần đăng nhập (chỉ máy này)"
        print(f"Quản trị tài liệu: http://{settings.host}:{settings.port}{ADMIN_PATH} — {login}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=settings.trusted_proxies, timeout_keep_alive=5)
    return 0
