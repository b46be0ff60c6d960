"""The chat page in a real headless Chromium (Debian's package, driven by Playwright),
and the named API endpoint through gradio_client.

The app runs as ``python app.py`` in a subprocess on a free loopback port, over a copy of
the session's index and documents (the upload test adds a document to them). Screenshots
of the main states go to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import DOCUMENTS, MODEL_CACHE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(corpus_index, tmp_path_factory):
    settings, _, _ = corpus_index
    work = tmp_path_factory.mktemp("ui")
    shutil.copytree(settings.index_dir, work / "index", ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(DOCUMENTS, work / "documents")
    port = _free_port()
    env = {**os.environ, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1", "BOT_INDEX_DIR": str(work / "index"),
           "BOT_DOCUMENTS_DIR": str(work / "documents"), "BOT_MODEL_CACHE": str(MODEL_CACHE),
           "BOT_FEEDBACK_LOG": str(work / "feedback.jsonl")}
    log = (work / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((work / "app.log").read_text()[-3000:])
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("the app did not start: " + (work / "app.log").read_text()[-3000:])
    yield {"url": url, "work": work}
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install chromium (make test does it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
    page = context.new_page()
    page.goto(app["url"])
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    context.close()


def _ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.click("#send")


def _last_bot(page):
    return page.locator("#chat .message-row.bot-row, #chat [data-testid='bot']").last


def test_example_question_answer_with_citation_and_source(page):
    page.get_by_text("Phòng Tài chính – Kế hoạch thành phố Cam Ranh").first.click()
    page.wait_for_function("document.querySelector('#question textarea').value.length > 10")
    page.click("#send")
    page.wait_for_selector("#chat .tl-source", timeout=60_000)
    chat = page.locator("#chat")
    assert "[1]" in chat.inner_text()
    ref = page.locator("#chat .tl-ref").first
    assert "Phòng Tài chính – Kế hoạch" in ref.get_attribute("title")  # hover shows the source
    page.screenshot(path=str(ARTIFACTS / "1-answer.png"), full_page=True)
    passage = page.locator("#chat .tl-passage").first
    assert not passage.is_visible()
    page.locator("#chat .tl-source summary").first.click()  # open the source
    assert passage.is_visible()
    assert "Giải quyết thủ tục hành chính thuộc lĩnh vực thành lập" in passage.inner_text()
    assert page.locator("#chat .tl-passage mark").count() >= 3  # the quoted sentences are highlighted
    assert "Giải quyết thủ tục hành chính" in page.locator("#sources").inner_text()
    page.screenshot(path=str(ARTIFACTS / "2-source-open.png"), full_page=True)


def test_unanswerable_question_is_refused_visibly(page):
    _ask(page, "Giá vàng hôm nay bao nhiêu?")
    page.wait_for_selector("#chat .tl-abstain", timeout=60_000)
    refusal = page.locator("#chat .tl-abstain").last
    assert "không đề cập" in refusal.inner_text() and "[1]" not in refusal.inner_text()
    assert page.locator("#chat .tl-source").count() == 0
    page.screenshot(path=str(ARTIFACTS / "3-refusal.png"), full_page=True)


def test_markup_in_a_question_stays_text_and_long_questions_are_refused(page):
    _ask(page, '<img src=x onerror="window.__pwned=1"> **đậm** <script>window.__pwned=2</script> Giá vàng?')
    page.wait_for_selector("#chat .tl-abstain", timeout=60_000)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#chat img, #chat script").count() == 0
    assert "<img src=x" in page.locator("#chat").inner_text()
    _ask(page, "hợp tác xã " * 500)
    page.wait_for_function("document.querySelectorAll('#chat .tl-abstain').length >= 2", timeout=60_000)
    assert "quá dài" in page.locator("#chat .tl-abstain").last.inner_text()


def test_follow_up_and_feedback_log(page, app):
    _ask(page, "Cam Ranh đặt mục tiêu bao nhiêu phần trăm sản phẩm chủ lực bán qua thương mại điện tử năm 2030?")
    page.wait_for_selector("#chat .tl-source", timeout=60_000)
    _ask(page, "Còn năm 2045 thì sao?")
    page.wait_for_function("document.querySelectorAll('#chat details.tl-source').length >= 2", timeout=60_000)
    assert "30%" in page.locator("#chat").inner_text()

    page.get_by_label("Góp ý (không bắt buộc)", exact=False).fill("Rất rõ ràng")
    page.locator("#chat button[aria-label='Like']").last.click()
    log = app["work"] / "feedback.jsonl"
    deadline = time.time() + 30
    while time.time() < deadline and not (log.exists() and log.read_text().strip()):
        time.sleep(0.3)
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["liked"] is True and entry["comment"] == "Rất rõ ràng"
    assert entry["question"] == "Còn năm 2045 thì sao?" and entry["sources"]


def test_upload_a_document_and_ask_about_it(page, app, tmp_path):
    doc = tmp_path / "Hướng dẫn HTX Sao Mai (bản nháp).md"
    doc.write_text("# Hướng dẫn của Hợp tác xã Sao Mai\n\n1. Quy mô\n\n- Hợp tác xã Sao Mai có 37 thành viên "
                   "chính thức, chuyên trồng thanh long ruột đỏ ở xã Phước Lộc.\n", encoding="utf-8")
    page.get_by_role("tab", name="Tài liệu", exact=True).click()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    page.wait_for_timeout(1000)
    page.click("#add-docs")
    page.wait_for_function("document.querySelector('#upload-status').innerText.includes('Đã thêm')", timeout=180_000)
    status = page.locator("#upload-status").inner_text()
    assert "nhúng mới" in status
    saved = [p.name for p in (app["work"] / "documents").iterdir()]
    assert "Hướng-dẫn-HTX-Sao-Mai-bản-nháp.md" in saved  # sanitised name, inside documents/
    page.screenshot(path=str(ARTIFACTS / "4-upload.png"), full_page=True)
    page.get_by_role("tab", name="Hỏi đáp").click()
    page.wait_for_selector("#question textarea", state="visible", timeout=30_000)
    _ask(page, "Hợp tác xã Sao Mai có bao nhiêu thành viên chính thức?")
    try:  # an answer or a refusal, whichever comes: the assertion below then says which
        page.wait_for_selector("#chat .tl-source, #chat .tl-abstain", timeout=120_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "5-ask-uploaded.png"), full_page=True)
    chat = page.locator("#chat").inner_text()
    assert "37 thành viên" in chat and "Sao Mai" in chat, chat[-1500:]
    assert page.locator("#chat .tl-source").count() >= 1


def test_gradio_client_named_endpoint_streams(app):
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    job = client.submit("Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?", [], [], [], api_name="/chat")
    history, panel, box = job.result(timeout=120)  # session state is not part of the API output
    assert len(job.outputs()) > 2  # streamed in steps
    content = history[-1]["content"]
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    assert "[1]" in text and "tổng kết 20 năm" in text
    assert "quang-nam_cong-van-2651-ubnd-ktn_2020.txt" in html.unescape(panel) and box == ""


def test_duties_tab_lists_every_task_and_exports_csv(page):
    page.get_by_role("tab", name="Tra cứu nhiệm vụ").click()
    page.locator("#agency input").fill("Sở Kế hoạch và Đầu tư Quảng Nam")
    page.keyboard.press("Escape")
    page.click("#lookup")
    page.wait_for_function("document.querySelector('#duty-status').innerText.includes('nhiệm vụ trong')",
                           timeout=60_000)
    assert "4 nhiệm vụ trong 1 văn bản" in page.locator("#duty-status").inner_text()
    assert "tổng kết 20 năm" in page.locator("#duty-table").inner_text()
    with page.expect_download() as download:
        page.click("#export")
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("Cơ quan,Địa bàn,Vai trò") and len(rows) >= 5
    page.screenshot(path=str(ARTIFACTS / "6-duties.png"), full_page=True)


def test_briefing_tab_previews_and_downloads_docx(page):
    page.get_by_role("tab", name="Soạn tài liệu").click()
    page.fill("#topic textarea", "chuyển đổi số trong hợp tác xã")
    page.click("#make-brief")
    page.wait_for_function("document.querySelector('#brief-preview').innerText.includes('Nguồn')", timeout=120_000)
    preview = page.locator("#brief-preview").inner_text()
    assert "Tài liệu tập huấn: chuyển đổi số trong hợp tác xã" in preview and "[1]" in preview
    with page.expect_download() as download:
        page.click("#brief-docx")
    import docx

    text = "\n".join(p.text for p in docx.Document(download.value.path()).paragraphs)
    assert "chuyển đổi số" in text and "[1]" in text
    page.screenshot(path=str(ARTIFACTS / "7-briefing.png"), full_page=True)
