"""The page as a user meets it, in a real headless Chromium, at a phone (390×844) and a
desktop (1366×900) viewport: time until the question box is usable, time from "Gửi" to
the answer on screen, and for a comparison the time until its chart is under it.

Starts the app (``python app.py``) over the built index, without the per-client rate
limit (one browser asks every question), unless ``--url`` points at a running one.
Prints medians (and the slowest run) over ``--runs`` fresh page loads.

    python benchmarks/bench_ui.py
    python benchmarks/bench_ui.py --runs 10 --url http://127.0.0.1:7860/
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_load import start_app  # noqa: E402

VIEWPORTS = {"phone 390": (390, 844), "desktop 1366": (1366, 900)}
QUESTIONS = {
    "answer": "Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?",
    "answer (no diacritics)": "thanh lap hop tac xa can it nhat bao nhieu thanh vien",
    "comparison + chart": "So sánh mục tiêu 2030 của Cà Mau và Kon Tum",
}


def measure(browser, url: str, size: tuple[int, int], question: str, chart: bool) -> dict[str, float]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="vi-VN")
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    ready = time.perf_counter() - start
    page.fill("#question textarea", question)
    start = time.perf_counter()
    page.click("#send")
    page.wait_for_selector("#chat .tl-answer", timeout=60_000)
    answered = time.perf_counter() - start
    drawn = float("nan")
    if chart:
        page.wait_for_selector("#chat .tl-answer .tl-chart img", state="attached", timeout=60_000)
        drawn = time.perf_counter() - start
    context.close()
    return {"page ready": ready, "answer shown": answered, "chart shown": drawn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start one over the built index)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc = None
    url = args.url
    if not url:
        proc, url, _ = start_app({"BOT_RATE_LIMIT": "0"})  # one browser asks many questions
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
            # the first comparison draws its chart; later ones reuse the drawing (cached)
            cold = measure(browser, url, (1366, 900), QUESTIONS["comparison + chart"], True)
            print(f"first comparison after start: answer shown {cold['answer shown']:.2f} s, "
                  f"chart shown {cold['chart shown']:.2f} s (drawn)")
            print(f"{'viewport':<14} {'question':<24} {'page ready':>16} {'answer shown':>16} {'chart shown':>16}")
            for name, size in VIEWPORTS.items():
                for label, question in QUESTIONS.items():
                    runs = [measure(browser, url, size, question, label.startswith("comparison"))
                            for _ in range(args.runs)]
                    cells = []
                    for key in ("page ready", "answer shown", "chart shown"):
                        values = [r[key] for r in runs if r[key] == r[key]]
                        cells.append(f"{statistics.median(values):.2f} s (≤{max(values):.2f})" if values else "—")
                    print(f"{name:<14} {label:<24} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16}")
            browser.close()
    finally:
        if proc:
            proc.terminate()


if __name__ == "__main__":
    main()
