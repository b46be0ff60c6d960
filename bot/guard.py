"""What stands between a public address and the assistant: input cleaning, admission
(a bounded number of answers running and waiting), a per-client rate limit, request-size
limits, blocked routes and security headers.

The chat answers in ~40 ms of CPU, so overload is not slowness but an unbounded queue:
past a fixed number of waiting questions the user is told at once, in Vietnamese, that
the system is busy, instead of watching a spinner for half a minute.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import defaultdict, deque

from .vietnamese import nfc

log = logging.getLogger("bot")

BUSY = "Hệ thống đang bận trả lời nhiều người cùng lúc. Vui lòng thử lại sau ít phút."
FAILED = "Xin lỗi, đã có lỗi khi xử lý yêu cầu này. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo quản trị viên."
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, limit: int | None = None, keep_controls: bool = False) -> str | None:
    """A user's text made safe to process and to send back: NFC, no lone surrogates (they
    cannot be encoded as UTF-8 and used to surface as a TypeError), no control characters
    (unless ``keep_controls``: the question checker names them). ``None`` when the value is
    not text at all (an API client sent a number or a list); cut to ``limit`` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    text = _SURROGATES.sub("\ufffd", value)
    text = nfc(text if keep_controls else _CONTROLS.sub(" ", text))
    return text[:limit] if limit is not None else text


def csv_cell(value: object) -> object:
    """A spreadsheet cell that cannot run as a formula (OWASP's CSV-injection advice): text
    opening with = + - @ or a tab/CR gets a leading apostrophe, which Excel and LibreOffice
    show as text. Numbers pass unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class RateLimit:
    """At most ``per_minute`` events per client key in any 60 s window (0 = no limit).
    Thread-safe: feedback runs in worker threads, the chat on the event loop."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.per_minute, self.window = per_minute, window
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait_for(self, key: str) -> float:
        """0 if the event may go ahead (and counts it), else seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return self.window - (now - seen[0])
            seen.append(now)
            if len(self._seen) > 100_000:  # forget idle clients, not the busy ones
                for k in [k for k, v in self._seen.items() if not v][:50_000]:
                    del self._seen[k]
            return 0.0


def too_fast(seconds: float) -> str:
    return f"Bạn gửi yêu cầu quá nhanh. Vui lòng đợi khoảng {max(1, round(seconds))} giây rồi thử lại."


class Admission:
    """``slots`` answers run at once, at most ``waiting`` more wait for a slot; anyone
    beyond is refused immediately. Lives on the server's event loop (no lock needed):
    ``if admission.try_enter(): async with admission: …``."""

    def __init__(self, slots: int, waiting: int):
        self.slots, self.waiting = max(1, slots), max(0, waiting)
        self.inside = 0
        self._semaphore = asyncio.Semaphore(self.slots)  # bound to a loop on first use (3.10+)

    def try_enter(self) -> bool:
        if self.inside >= self.slots + self.waiting:
            return False
        self.inside += 1
        return True

    async def __aenter__(self):
        """Wait for a slot (after :meth:`try_enter` succeeded)."""
        await self._semaphore.acquire()
        return self

    async def __aexit__(self, *exc):
        self._semaphore.release()
        self.inside -= 1
        return False


# ---------------------------------------------------------------- HTTP layer ----

CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
       "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
# Gradio routes the public page never needs: file uploads (the chat has no file input),
# recordings, the run-history page and the "vibe" editor.
PUBLIC_BLOCKED = re.compile(r"^/gradio_api/(?:upload|upload_progress|process_recording|run-history|runs|vibe)"
                            r"|^/(?:vibe-|undo-vibe|gradio_api/vibe)")


class Shield:
    """ASGI middleware: security headers on every response; the public mount's upload and
    editor routes refused; request bodies over ``max_body`` bytes refused (413) except on
    the admin's upload route, whose size Gradio's ``max_file_size`` bounds; login attempts
    limited per client address; a queue request
    naming an event that does not exist refused (400) before Gradio answers it with a 500.
    ``events`` maps a mount's prefix ("" for the public page) to its event ids."""

    def __init__(self, app, max_body: int, admin_prefix: str | None, admin_uploads: bool,
                 events: dict[str, set[int]] | None = None, logins_per_minute: int = 10):
        self.app, self.max_body = app, max_body
        self.admin_prefix, self.admin_uploads = admin_prefix, admin_uploads
        self.events = events
        # Gradio's login form has no attempt limit: password guessing is slowed here
        self.logins = RateLimit(logins_per_minute)

    def _valid_join(self, path: str, body: bytes) -> bool:
        import json

        prefix = path[: -len("/gradio_api/queue/join")]
        try:
            payload = json.loads(body)
        except ValueError:
            return False
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            return False
        fn = payload.get("fn_index")
        known = (self.events or {}).get(prefix)
        return known is None or (isinstance(fn, int) and not isinstance(fn, bool) and fn in known)

    def _refused(self, path: str) -> bool:
        if self._upload(path):  # the admin's own uploads
            return False
        if self.admin_prefix and (path == self.admin_prefix or path.startswith(self.admin_prefix + "/")):
            path = path[len(self.admin_prefix):]
        return bool(PUBLIC_BLOCKED.match(path))

    def _upload(self, path: str) -> bool:
        return bool(self.admin_prefix and self.admin_uploads and path.startswith(self.admin_prefix + "/gradio_api/upload"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in names]
            await send(message)

        if self._refused(path):
            return await _plain(send_with_headers, 403, "Không được phép.")
        if scope.get("method") == "POST" and path.endswith("/login"):
            wait = self.logins.wait_for((scope.get("client") or ("?",))[0])
            if wait:
                return await _plain(send_with_headers, 429, too_fast(wait))
        if self._upload(path):
            return await self.app(scope, receive, send_with_headers)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return await _plain(send_with_headers, 413, "Yêu cầu quá lớn.")
        seen = 0

        async def bounded_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge()
            return message

        receive_next = bounded_receive
        if scope.get("method") == "POST" and path.endswith("/gradio_api/queue/join") and self.events is not None:
            try:
                body = await _read_body(bounded_receive)
            except _TooLarge:
                return await _plain(send_with_headers, 413, "Yêu cầu quá lớn.")
            if not self._valid_join(path, body):
                return await _plain(send_with_headers, 400, "Yêu cầu không hợp lệ.")
            replayed = False

            async def receive_next():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

        try:
            await self.app(scope, receive_next, send_with_headers)
        except _TooLarge:
            await _plain(send_with_headers, 413, "Yêu cầu quá lớn.")


class _TooLarge(Exception):
    pass


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")

