"""Input cleaning, rate limit, admission and the HTTP shield, on a real ASGI app."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.guard import Admission, RateLimit, Shield, clean_text, csv_cell, loopback


def test_clean_text_replaces_lone_surrogates_and_rejects_non_text():
    cleaned = clean_text("hợp tác xã \ud800 là gì\x00?")
    assert cleaned == "hợp tác xã \ufffd là gì ?"
    cleaned.encode("utf-8")  # would raise on a lone surrogate
    assert clean_text(None) == "" and clean_text(123) is None and clean_text(["x"]) is None
    assert clean_text("a" * 50, limit=10) == "a" * 10
    assert clean_text("Ho\u0300a") == "Hòa"  # NFC


def test_csv_cells_cannot_be_formulas():
    assert csv_cell('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert [csv_cell(v) for v in ("+1", "-1", "@SUM(A1)", "\tx")] == ["'+1", "'-1", "'@SUM(A1)", "'\tx"]
    assert csv_cell("Sở Tài chính") == "Sở Tài chính" and csv_cell(5) == 5


def test_rate_limit_counts_per_client_in_a_window():
    limit = RateLimit(3, window=0.5)
    assert [limit.wait_for("a") for _ in range(3)] == [0, 0, 0]
    assert limit.wait_for("a") > 0 and limit.wait_for("b") == 0
    import time

    time.sleep(0.55)
    assert limit.wait_for("a") == 0
    assert RateLimit(0).wait_for("a") == 0  # 0 = no limit


def test_admission_refuses_beyond_slots_plus_waiting():
    async def scenario():
        admission = Admission(slots=1, waiting=1)
        order = []

        async def ask(name: str, hold: float):
            if not admission.try_enter():
                order.append(f"{name}:busy")
                return
            async with admission:
                order.append(f"{name}:start")
                await asyncio.sleep(hold)

        await asyncio.gather(ask("a", 0.1), ask("b", 0.0), ask("c", 0.0))
        assert admission.inside == 0
        await ask("d", 0.0)  # room again once the others are done
        return order

    order = asyncio.run(scenario())
    assert sorted(order[:3]) == ["a:start", "b:start", "c:busy"] and order[-1] == "d:start"
    assert order.index("a:start") < order.index("b:start")  # b waited for a's slot


def _client(admin_uploads: bool = True) -> TestClient:
    app = FastAPI()

    @app.post("/gradio_api/queue/join")
    async def join(payload: dict):
        return {"ok": len(str(payload))}

    @app.post("/gradio_api/upload")
    async def upload():
        return {"uploaded": True}

    @app.post("/quan-tri/gradio_api/upload")
    async def admin_upload():
        return {"uploaded": True}

    return TestClient(Shield(app, max_body=1000, admin_prefix="/quan-tri", admin_uploads=admin_uploads))


def test_shield_headers_blocked_routes_and_body_limit():
    client = _client()
    ok = client.post("/gradio_api/queue/join", json={"q": "x"})
    assert ok.status_code == 200
    assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
    assert ok.headers["x-frame-options"] == "DENY" and ok.headers["x-content-type-options"] == "nosniff"
    assert client.post("/gradio_api/upload", content=b"x").status_code == 403  # public: no uploads
    assert client.post("/quan-tri/gradio_api/upload", content=b"x" * 5000).status_code == 200  # admin: bounded by Gradio
    assert client.post("/gradio_api/queue/join", json={"q": "x" * 5000}).status_code == 413
    assert _client(admin_uploads=False).post("/quan-tri/gradio_api/upload", content=b"x").status_code == 403
    assert client.get("/quan-tri/gradio_api/runs").status_code == 403  # only uploads are the admin's own
    assert client.post("/vibe-edit/").status_code == 403


def test_loopback_addresses():
    assert loopback("127.0.0.1") and loopback("localhost") and loopback("::1")
    assert not loopback("0.0.0.0") and not loopback("10.0.0.5")


def test_shield_refuses_queue_requests_for_unknown_events():
    app = FastAPI()

    @app.post("/gradio_api/queue/join")
    async def join(payload: dict):
        return {"event": payload["fn_index"]}

    client = TestClient(Shield(app, max_body=10_000, admin_prefix=None, admin_uploads=False, events={"": {3, 4}}))
    assert client.post("/gradio_api/queue/join", json={"data": [], "fn_index": 3}).json() == {"event": 3}
    for bad in ({"data": [], "fn_index": 99}, {"data": [], "fn_index": "3"}, {"data": "x", "fn_index": 3}, [1]):
        refused = client.post("/gradio_api/queue/join", json=bad)
        assert refused.status_code == 400 and refused.text == "Yêu cầu không hợp lệ."
    assert client.post("/gradio_api/queue/join", content=b"{not json").status_code == 400


def test_shield_slows_password_guessing():
    app = FastAPI()

    @app.post("/quan-tri/login")
    async def login():
        return {"ok": False}

    client = TestClient(Shield(app, max_body=10_000, admin_prefix="/quan-tri", admin_uploads=True,
                               logins_per_minute=3))
    codes = [client.post("/quan-tri/login", data={"username": "a", "password": str(i)}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
