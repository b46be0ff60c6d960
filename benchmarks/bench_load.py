"""Load: N concurrent chat users, each asking Q questions through gradio_client.

Starts the app (``python app.py``) on a free loopback port over the built index, unless
``--url`` points at a running one. Each simulated user has its own address, sent as
X-Forwarded-For (the server believes it from loopback, as from a reverse proxy), so the
per-client rate limit applies per user as it would in production.

Prints, per N: completed answers, errors (exceptions or timeouts), polite refusals
("busy" or "too fast"), throughput, and p50/p95 of the time to the final answer.

    python benchmarks/bench_load.py                  # 20, 100, 300 users × 3 questions
    python benchmarks/bench_load.py --users 50 --questions 2 --url http://127.0.0.1:7860/
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Thành lập hợp tác xã cần ít nhất bao nhiêu thành viên?",
    "Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?",
    "Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?",
    "Mục tiêu đến năm 2030 của Cà Mau về số lượng hợp tác xã là gì?",
    "Giá vàng hôm nay bao nhiêu?",
    "hop tac xa duoc nha nuoc ho tro dat dai nhu the nao",
]
BUSY_MARK, FAST_MARK = "đang bận", "quá nhanh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env_extra: dict[str, str]) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="bench-load-", suffix=".log")[1])
    env = {**os.environ, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1", "HF_HUB_OFFLINE": "1",
           "BOT_FEEDBACK_LOG": str(log.with_suffix(".jsonl")), **env_extra}
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, log
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the app did not start: " + log.read_text()[-2000:])


def run_users(url: str, users: int, questions: int, timeout: float) -> dict:
    from gradio_client import Client

    results: list[tuple[str, float]] = []  # (kind, seconds)
    lock = threading.Lock()
    barrier = threading.Barrier(users)

    def user(i: int) -> None:
        address = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
        try:
            # a browser waits for a slow server far longer than httpx's 5 s default
            client = Client(url, verbose=False, headers={"X-Forwarded-For": address},
                            httpx_kwargs={"timeout": timeout})
        except Exception as exc:  # cannot even connect: every question fails
            barrier.wait()
            with lock:
                results.extend(("error:connect-" + exc.__class__.__name__, 0.0) for _ in range(questions))
            return
        barrier.wait()  # all users start asking together
        for q in range(questions):
            question = QUESTIONS[(i + q) % len(QUESTIONS)]
            started = time.perf_counter()
            try:
                history = client.submit(question, [], api_name="/chat").result(timeout=timeout)[0]
                text = json.dumps(history[-1]["content"], ensure_ascii=False)
                kind = "busy" if BUSY_MARK in text else "too-fast" if FAST_MARK in text else "answered"
            except Exception as exc:
                kind = "error:" + exc.__class__.__name__
            with lock:
                results.append((kind, time.perf_counter() - started))

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 120)
    wall = time.perf_counter() - started
    answered = [s for k, s in results if k == "answered"]
    refused = [s for k, s in results if k in ("busy", "too-fast")]
    errors = [k for k, _ in results if k.startswith("error")]

    def pct(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) >= 2 else (values[0] if values else 0.0)

    return {"users": users, "asked": users * questions, "completed": len(answered), "errors": len(errors),
            "error_kinds": sorted(set(errors)), "rejected_politely": len(refused),
            "busy": sum(k == "busy" for k, _ in results), "too_fast": sum(k == "too-fast" for k, _ in results),
            "throughput_per_s": round(len(answered) / wall, 1), "wall_s": round(wall, 1),
            "p50_s": round(pct(answered, 50), 2), "p95_s": round(pct(answered, 95), 2),
            "refusal_p95_s": round(pct(refused, 95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="*", default=[20, 100, 300])
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a user waits for one answer")
    parser.add_argument("--url", help="a running app (default: start one)")
    args = parser.parse_args()
    proc = None
    if args.url:
        url = args.url
    else:
        proc, url, log = start_app({})
        print(f"app: {url} (log {log})", flush=True)
    try:
        from bot.config import get_settings

        s = get_settings()
        print(f"settings: concurrency {s.concurrency}, max waiting {s.max_waiting}, rate limit {s.rate_limit}/min, "
              f"{os.cpu_count()} CPU", flush=True)
        print("| users | asked | completed | errors | rejected politely (busy / too fast) | answers/s | "
              "p50 s | p95 s | refusal p95 s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for n in args.users:
            r = run_users(url, n, args.questions, args.timeout)
            print(f"| {r['users']} | {r['asked']} | {r['completed']} | {r['errors']} {' '.join(r['error_kinds'])} | "
                  f"{r['rejected_politely']} ({r['busy']} / {r['too_fast']}) | {r['throughput_per_s']} | "
                  f"{r['p50_s']} | {r['p95_s']} | {r['refusal_p95_s']} |", flush=True)
            time.sleep(3)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
