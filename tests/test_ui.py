"""The chat page in a real headless Chromium (Debian's package, driven by Playwright),
and the named API endpoint through gradio_client.

The app runs as ``python app.py`` in a subprocess on a free loopback port, over a copy of
the session's index and documents (the upload test adds a document to them). Screenshots
of the main states go to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import html
import re
import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import copy_corpus, running_app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def app(corpus_index, tmp_path_factory):
    work = copy_corpus(corpus_index, tmp_path_factory.mktemp("ui"))
    with running_app(work) as url:
        yield {"url": url, "work": work}


@pytest.fixture
def page(browser, app):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
    page = context.new_page()
    violations = []  # the page must work under its own Content-Security-Policy
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(app["url"])
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    context.close()
    assert not violations, violations[:3]


def _ask(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.click("#send")


def _last_bot(page):
    return page.locator("#chat .message-row.bot-row, #chat [data-testid='bot']").last


def test_example_question_answer_with_citation_and_source(page):
    page.get_by_text("Phòng Tài chính – Kế hoạch thành phố Cam Ranh").first.click()
    expect(page.locator("#question textarea")).to_have_value(re.compile(".{10,}"))
    page.click("#send")
    page.wait_for_selector("#chat .tl-source", timeout=60_000)
    chat = page.locator("#chat")
    assert "[1]" in chat.inner_text()
    ref = page.locator("#chat .tl-ref").first
    assert "Phòng Tài chính – Kế hoạch" in ref.get_attribute("title")  # hover names the source
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
    # the box holds at most the page's limit; a longer question sent anyway (the API, a
    # script) is refused with the reason and stays in the box to edit
    assert page.locator("#question textarea").get_attribute("maxlength") == "2000"
    long_question = "hợp tác xã " * 500
    page.locator("#question textarea").evaluate("(el, v) => { el.removeAttribute('maxlength'); }", None)
    _ask(page, long_question)
    expect(page.locator("#chat .tl-abstain")).to_have_count(2, timeout=60_000)
    assert "quá dài" in page.locator("#chat .tl-abstain").last.inner_text()
    assert page.locator("#question textarea").input_value() == long_question


def test_follow_up_and_feedback_log(page, app):
    _ask(page, "Cam Ranh đặt mục tiêu bao nhiêu phần trăm sản phẩm chủ lực bán qua thương mại điện tử năm 2030?")
    page.wait_for_selector("#chat .tl-source", timeout=60_000)
    _ask(page, "Còn năm 2045 thì sao?")
    expect(page.locator("#chat details.tl-source").nth(1)).to_be_attached(timeout=60_000)
    assert "30%" in page.locator("#chat").inner_text()

    page.get_by_role("button", name="Góp ý về câu trả lời").click()
    page.get_by_label("Góp ý (không bắt buộc)", exact=False).fill("Rất rõ ràng")
    page.locator("#chat button[aria-label='Thích']").last.click()
    log = app["work"] / "feedback.jsonl"
    deadline = time.time() + 30
    while time.time() < deadline and not (log.exists() and log.read_text().strip()):
        time.sleep(0.3)
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["liked"] is True and entry["comment"] == "Rất rõ ràng"
    assert entry["question"] == "Còn năm 2045 thì sao?" and entry["sources"]


def test_admin_upload_indexes_in_the_background_and_open_sessions_see_it(page, browser, app, tmp_path):
    doc = tmp_path / "Hướng dẫn HTX Sao Mai (bản nháp).md"
    doc.write_text("# Hướng dẫn của Hợp tác xã Sao Mai\n\n1. Quy mô\n\n- Hợp tác xã Sao Mai ('Sao Mai Farm') có 37 "
                   "thành viên chính thức, chuyên trồng thanh long ruột đỏ ở xã Phước Lộc.\n", encoding="utf-8")
    broken = tmp_path / "bao-cao.pdf"
    broken.write_bytes(b"PK\x03\x04 not a pdf")
    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN").new_page()
    admin.goto(app["url"] + "quan-tri/")  # loopback without a password: the admin page is open
    admin.locator("#upload input[type=file]").set_input_files([str(doc), str(broken)])
    admin.wait_for_timeout(1000)
    admin.click("#add-docs")
    expect(admin.locator("#admin-action")).to_contain_text("Đã nhận", timeout=60_000)
    assert "Không thêm bao-cao.pdf" in admin.locator("#admin-action").inner_text()  # refused, and not kept
    saved = [p.name for p in (app["work"] / "documents").iterdir()]
    assert "Hướng-dẫn-HTX-Sao-Mai-bản-nháp.md" in saved and "bao-cao.pdf" not in saved
    # the reply came at once; indexing runs in the background and the status follows it
    expect(admin.locator("#index-status")).to_contain_text("Chỉ mục đã cập nhật (thêm", timeout=180_000)
    admin.screenshot(path=str(ARTIFACTS / "4-admin-upload.png"), full_page=True)
    admin.context.close()
    # this page was opened before the upload: its document filter learns of the new file
    page.locator("#question").click()
    page.get_by_role("button", name="Chỉ tìm trong một số văn bản").click()
    page.get_by_label("Văn bản (để trống: tất cả)", exact=False).click()
    expect(page.get_by_role("option", name=re.compile("Sao Mai"))).to_be_visible(timeout=30_000)
    page.keyboard.press("Escape")
    _ask(page, "Hợp tác xã Sao Mai có bao nhiêu thành viên chính thức?")
    try:  # an answer or a refusal, whichever comes: the assertion below then says which
        page.wait_for_selector("#chat .tl-source, #chat .tl-abstain", timeout=120_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "5-ask-uploaded.png"), full_page=True)
    chat = page.locator("#chat").inner_text()
    assert "37 thành viên" in chat and "('Sao Mai Farm')" in chat, chat[-1500:]  # one escaping pass
    assert page.locator("#chat .tl-source").count() >= 1


def test_gradio_client_named_endpoint(app):
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    job = client.submit("Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?", [], api_name="/chat")
    history, panel, box = job.result(timeout=120)  # session state is not part of the API output
    assert len(job.outputs()) == 1  # extractive: one update (only a model's answer streams)
    content = history[-1]["content"]
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    assert "[1]" in text and "tổng kết 20 năm" in text
    assert "quang-nam_cong-van-2651-ubnd-ktn_2020.txt" in html.unescape(panel) and box == ""


def test_duties_tab_lists_every_task_and_exports_csv(page):
    page.get_by_role("tab", name="Nhiệm vụ").click()
    assert not page.locator("#export").is_visible()  # nothing to export before a lookup
    page.locator("#agency input").fill("Sở Kế hoạch và Đầu tư Quảng Nam")
    page.keyboard.press("Escape")
    page.click("#lookup")
    expect(page.locator("#duty-status")).to_contain_text("nhiệm vụ trong", timeout=60_000)
    assert "4 nhiệm vụ trong 1 văn bản" in page.locator("#duty-status").inner_text()
    assert "tổng kết 20 năm" in page.locator("#duty-table").inner_text()
    with page.expect_download() as download:
        page.click("#export")
    rows = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("Cơ quan,Địa bàn,Vai trò") and len(rows) >= 5
    page.screenshot(path=str(ARTIFACTS / "6-duties.png"), full_page=True)


def test_briefing_tab_previews_and_downloads_docx(page):
    page.get_by_role("tab", name="Tập huấn").click()
    page.fill("#topic textarea", "chuyển đổi số trong hợp tác xã")
    page.click("#make-brief")
    expect(page.locator("#brief-preview")).to_contain_text("Nguồn", timeout=120_000)
    preview = page.locator("#brief-preview").inner_text()
    assert "Tài liệu tập huấn: chuyển đổi số trong hợp tác xã" in preview and "[1]" in preview
    with page.expect_download() as download:
        page.click("#brief-docx")
    import docx

    text = "\n".join(p.text for p in docx.Document(download.value.path()).paragraphs)
    assert "chuyển đổi số" in text and "[1]" in text
    page.screenshot(path=str(ARTIFACTS / "7-briefing.png"), full_page=True)
