"""Each user group's walk-through in a real Chromium, at a phone (390×844) and a desktop
(1366×900) viewport, against the real app (``python app.py`` in a subprocess).

Every test also checks, for the whole session: no request to a non-local address, and no
Content-Security-Policy violation. Per screen: ``lang="vi"``, no English label of
Gradio's left, no overlapping elements (bounding boxes), and an axe-core audit with no
serious or critical violation. The main screen of each group is saved as a screenshot
(tests/artifacts/; the README's copies are in docs/).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from bot.chrome import UI_TEXT
from bot.ui import EMPTY_QUESTION

from .conftest import copy_corpus, running_app

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 900)}
TABS = ["Hỏi đáp", "Nhiệm vụ", "Tập huấn", "Văn bản"]
ADMIN_PASSWORD = "mat-khau-thu-nghiem"
# Words of Gradio's English interface (its labels, and the words they are made of)
ENGLISH_WORDS = {w.lower() for text in UI_TEXT for w in re.findall(r"[A-Za-z]{3,}", text)} | {
    "the", "of", "and", "here", "click", "drop", "upload", "files", "more", "use", "via", "built", "with",
    "settings", "processing", "open", "menu", "tab", "tabs", "chat", "message", "conversation", "button", "new",
    "run", "api", "gradio", "please", "wait", "queue", "show", "hide", "toggle", "send", "stop", "type", "select"}


@pytest.fixture(scope="module")
def app(corpus_index, tmp_path_factory):
    work = copy_corpus(corpus_index, tmp_path_factory.mktemp("groups"))
    with running_app(work, BOT_ADMIN_PASSWORD=ADMIN_PASSWORD) as url:
        yield url


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, app):
    ARTIFACTS.mkdir(exist_ok=True)
    width, height = VIEWPORTS[request.param]
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", is_mobile=phone,
                                  has_touch=phone)
    requests, violations = [], []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(app)
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.viewport_name = request.param
    yield page
    context.close()
    outside = [u for u in requests if not u.startswith(("data:", "blob:"))
               and urlsplit(u).hostname not in ("127.0.0.1", "localhost")]
    assert not outside, outside[:5]
    assert not violations, violations[:3]


def _tap(page, locator) -> None:
    """A tap on a phone, a click on a desktop."""
    if page.viewport_size["width"] < 600:
        locator.tap()
    else:
        locator.click()


def _open_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    expect(tab).to_be_visible()  # on the bar itself, not behind an overflow menu
    _tap(page, tab)
    expect(tab).to_have_attribute("aria-selected", "true")


def english_left(page) -> list[str]:
    """Visible texts and labels in English: Gradio's known ones, and any other text made
    only of ASCII letters (Vietnamese words almost always carry a diacritic)."""
    found = page.evaluate("""() => {
      const out = [];
      const visible = (el) => el && el.offsetParent !== null && getComputedStyle(el).visibility !== 'hidden';
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      let n;
      const typed = (el) => el.closest('.user-row, [data-testid=user]');  // what the user wrote is theirs
      while ((n = walker.nextNode())) {
        const t = n.textContent.trim(); if (t && visible(n.parentElement) && !typed(n.parentElement)) out.push(t); }
      for (const el of [...document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')].filter(e => !typed(e)))
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
          const v = el.getAttribute(a); if (v && v.trim()) out.push(v.trim()); }
      return out; }""")
    known = set(UI_TEXT)
    english = []
    for text in found:
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
        # unaccented Vietnamese ("Kon Tum", a question typed without diacritics) is not English,
        # nor is a file name
        if re.search(r"[_/#]|\.\w{2,4}$", text) and text not in known:
            continue
        if text in known or (not re.search(r"[^\x00-\x7f]", text) and words & ENGLISH_WORDS):
            english.append(text)
    return sorted(set(english))


def overlaps(page, scope: str) -> list[str]:
    """Pairs of visible elements inside ``scope`` whose boxes intersect, where neither
    contains the other: controls, labels, answer text, tables."""
    return page.evaluate("""(scope) => {
      const root = document.querySelector(scope);
      const sel = 'button, textarea, input, label, [role=tab], h1, h2, h3, p, li, td, th, summary, img, .tl-answer';
      const els = [...root.querySelectorAll(sel)].filter(e => {
        const r = e.getBoundingClientRect(); const cs = getComputedStyle(e);
        const empty = /^(P|LI|TD|TH|H1|H2|H3|LABEL)$/.test(e.tagName) && !e.innerText.trim();  // nothing to hide
        return r.width > 1 && r.height > 1 && cs.visibility !== 'hidden' && e.offsetParent !== null && !empty
               && !e.closest('.visually-hidden,[aria-hidden=true]'); });
      const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "'
                        + (e.innerText || e.getAttribute('aria-label') || '').slice(0, 30) + '"';
      const out = [];
      for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++) {
        const a = els[i], b = els[j];
        if (a.contains(b) || b.contains(a)) continue;
        const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
        const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
        const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        if (w > 2 && h > 2) out.push(name(a) + ' × ' + name(b));
      }
      return out; }""", scope)


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page).response
    return [f"{v['impact']} {v['id']}: {v['nodes'][0]['target']}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def check_screen(page, scope: str) -> None:
    """What every screen must hold, once it has settled: Gradio's progress overlay
    ("Đang tải…") lies over a component while an event updates it, by design."""
    page.wait_for_function("""() => ![...document.querySelectorAll('[data-testid=status-tracker]')]
        .some(e => e.offsetParent !== null && !e.classList.contains('hide') && e.innerText.trim())""", timeout=30_000)
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert (found := english_left(page)) == [], found
    assert (found := overlaps(page, scope)) == [], found
    assert (found := serious_violations(page)) == [], found


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.viewport_name}.png"), full_page=False)


# ---------------------------------------------------------------- everyone --

def test_every_tab_is_reachable_vietnamese_and_accessible(page):
    assert page.title() == "Trợ lý chính sách kinh tế tập thể"
    assert not page.get_by_role("button", name="Các thẻ khác").is_visible()  # no overflow menu
    for name in TABS:
        _open_tab(page, name)
        page.wait_for_timeout(300)
        check_screen(page, ".gradio-container")


# ---------------------------------------------------------------- citizens --

def test_citizen_asks_without_diacritics_taps_a_citation_and_opens_the_document(page):
    page.click("#send")  # nothing typed: a short message, nothing sent
    expect(page.locator("#chat .tl-abstain")).to_contain_text(EMPTY_QUESTION[:25])
    assert page.locator("#chat .message-row.user-row").count() == 0

    page.fill("#question textarea", "ho so dang ky thanh lap hop tac xa gom nhung gi")
    expect(page.locator("#question-count")).to_contain_text("47/2000 ký tự")
    _tap(page, page.locator("#send"))
    answer = page.locator("#chat .tl-answer:not(.tl-abstain)").last
    expect(answer).to_be_visible(timeout=60_000)
    page.wait_for_timeout(500)
    height = page.viewport_size["height"]
    top = answer.bounding_box()["y"]
    assert 0 <= top < height * 0.8, top  # shown from its first line, not scrolled to its end
    width = page.viewport_size["width"]
    if width < 600:  # phone: answers use the width; sources are under each answer, no side panel
        assert answer.bounding_box()["width"] >= 0.85 * width
        assert not page.locator("#side").is_visible()
    assert "Giấy đề nghị đăng ký thành lập" in answer.inner_text()
    check_screen(page, "#tab-hoi-dap")
    shot(page, "citizen")

    ref = answer.locator("a.tl-ref").first
    target = ref.get_attribute("href").lstrip("#")
    _tap(page, ref)
    source = page.locator(f"#chat [id='{target}']")
    expect(source).to_have_attribute("open", "")
    box = source.bounding_box()
    assert box["y"] < height and box["y"] + box["height"] > 0  # opened where the reader is
    passage = source.locator(".tl-passage").inner_text()
    with page.context.expect_page() as opened:
        source.locator("a.tl-open").click()
    document = opened.value
    document.wait_for_load_state()
    assert document.evaluate("document.documentElement.lang") == "vi"
    mark = document.locator("mark#doan")
    assert " ".join(mark.inner_text().split()) == " ".join(passage.split())
    box = mark.bounding_box()
    assert 0 <= box["y"] < document.viewport_size["height"]  # scrolled to the cited passage
    assert serious_violations(document) == []
    document.close()


def test_keyboard_opens_a_citation(page):
    page.fill("#question textarea", "Hợp tác xã có những quyền gì?")
    page.click("#send")
    answer = page.locator("#chat .tl-answer:not(.tl-abstain)").last
    expect(answer).to_be_visible(timeout=60_000)
    ref = answer.locator("a.tl-ref").first
    ref.focus()
    page.keyboard.press("Enter")
    target = ref.get_attribute("href").lstrip("#")
    expect(page.locator(f"#chat [id='{target}']")).to_have_attribute("open", "")


# --------------------------------------------------------------- officials --

def test_official_looks_up_the_district_level_in_any_wording(page):
    _open_tab(page, "Nhiệm vụ")
    assert not page.locator("#export").is_visible() and not page.locator("#export-xlsx").is_visible()
    counts = {}
    for wording in ("UBND cấp huyện", "uy ban nhan dan cac huyen, thi xa, thanh pho"):
        page.locator("#agency input").fill(wording)
        page.keyboard.press("Escape")
        _tap(page, page.locator("#lookup"))
        status = page.locator("#duty-status p")  # the text, not the progress shown while it is made
        expect(status).to_contain_text("nhiệm vụ trong", timeout=60_000)
        counts[wording] = status.inner_text()
    assert len(set(counts.values())) == 1, counts  # one agency, however it is written
    documents = int(re.search(r"trong (\d+) văn bản", counts["UBND cấp huyện"]).group(1))
    assert documents >= 2
    table = page.locator("#duty-table table")
    assert "chủ trì" in table.inner_text() or "phối hợp" in table.inner_text() or "thực hiện" in table.inner_text()
    assert table.bounding_box()["width"] <= page.viewport_size["width"]  # cards on a phone, columns on a desktop
    assert page.locator("#export").is_visible() and page.locator("#export-xlsx").is_visible()
    with page.expect_download() as download:
        _tap(page, page.locator("#export-xlsx"))
    from openpyxl import load_workbook

    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet.cell(1, 1).value == "Cơ quan" and sheet.max_row >= 3
    check_screen(page, "#tab-nhiem-vu")
    shot(page, "official")

    page.locator("#agency input").fill("So Ke hoac Dau tu")  # misspelt: the nearest agencies are offered
    page.keyboard.press("Escape")
    _tap(page, page.locator("#lookup"))
    expect(page.locator("#duty-status")).to_contain_text("Có thể bạn muốn tìm", timeout=60_000)
    assert "Sở Kế hoạch và Đầu tư" in page.locator("#duty-status").inner_text()
    assert not page.locator("#export").is_visible()


# ---------------------------------------------------------------- trainers --

def test_trainer_compares_targets_as_a_chart_and_downloads_a_briefing(page):
    page.fill("#question textarea", "Mục tiêu đến năm 2030 của Cà Mau và Kon Tum là gì?")
    _tap(page, page.locator("#send"))
    answer = page.locator("#chat .tl-answer").last
    expect(answer.locator("table")).to_contain_text("Kon Tum", timeout=60_000)
    chart = answer.locator(".tl-chart img")  # drawn after the answer is shown, from the same cells
    expect(chart).to_be_attached(timeout=60_000)
    assert "Biểu đồ so sánh chỉ tiêu đến năm 2030" in chart.get_attribute("alt")

    _open_tab(page, "Tập huấn")
    _tap(page, page.locator("#compare"))
    chart = page.locator("#target-chart img")
    expect(chart).to_be_attached(timeout=60_000)
    chart.scroll_into_view_if_needed()  # loaded lazily, when scrolled to
    expect(chart).to_be_visible()
    table = page.locator("#target-table table")
    assert "không đặt chỉ tiêu" in table.inner_text()  # a plan without that target is shown, not left out
    width = page.viewport_size["width"]
    assert page.locator("#target-table").bounding_box()["width"] <= width  # no wider than the screen
    with page.expect_download() as download:
        _tap(page, page.locator("#chart-png"))
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_screen(page, "#tab-tap-huan")
    shot(page, "trainer")

    page.fill("#topic textarea", "chuyển đổi số trong hợp tác xã")
    _tap(page, page.locator("#make-brief"))
    preview = page.locator("#brief-preview")
    expect(preview).to_contain_text("Điểm chính", timeout=120_000)
    assert "[1]" in preview.inner_text()
    for button, suffix in (("#brief-docx", ".docx"), ("#brief-pptx", ".pptx")):
        with page.expect_download() as download:
            _tap(page, page.locator(button))
        assert download.value.suggested_filename == "tai-lieu-tap-huan-chuyen-doi-so-trong-hop-tac-xa" + suffix
    from pptx import Presentation

    deck = Presentation(download.value.path())
    assert len(deck.slides) >= 4
    check_screen(page, "#tab-tap-huan")


# ---------------------------------------------------------- administrators --

def test_admin_login_and_page_are_vietnamese_and_accessible(page, app):
    page.goto(app + "quan-tri/")
    page.wait_for_selector("input[type=password]", timeout=60_000)
    check_screen(page, "body")
    page.locator("input[type=text]").first.fill("quantri")
    page.locator("input[type=password]").fill(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#index-status")).to_be_visible(timeout=60_000)
    check_screen(page, "body")
    shot(page, "admin")
