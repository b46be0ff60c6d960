"""Each user group's walk-through in a real Chromium, at a phone (390×844) and a desktop
(1366×900) viewport, against the real app (``python app.py`` in a subprocess).

Every test also checks, for the whole session: no request to a non-local address, and no
Content-Security-Policy violation. Per screen: ``lang="vi"``, no English label of
Gradio's left, no overlapping elements (bounding boxes), and an axe-core audit with no
serious or critical violation. The main screen of each group is saved as a screenshot
(tests/artifacts/; the README's copies are in docs/).
"""

from __future__ import annotations

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
# ASCII words that are not English labels: formats and names of file types
ALLOWED_ASCII = {"CSV", "Excel", "Word", "PowerPoint", "Markdown", "PNG", "docx", "pptx"}


@pytest.fixture(scope="module")
def app(corpus_index, tmp_path_factory):
    work = copy_corpus(corpus_index, tmp_path_factory.mktemp("groups"))
    with running_app(work) as url:
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
      while ((n = walker.nextNode())) { const t = n.textContent.trim(); if (t && visible(n.parentElement)) out.push(t); }
      for (const el of document.querySelectorAll('[aria-label],[title],[placeholder],[alt]'))
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
          const v = el.getAttribute(a); if (v && v.trim()) out.push(v.trim()); }
      return out; }""")
    known = set(UI_TEXT)
    english = []
    for text in found:
        words = re.findall(r"[A-Za-z]{3,}", text)
        ascii_only = bool(words) and not re.search(r"[^\x00-\x7f]", text) and not re.search(r"[\d_./#%&=]", text)
        if text in known or (ascii_only and not set(words) <= ALLOWED_ASCII):
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
        return r.width > 1 && r.height > 1 && cs.visibility !== 'hidden' && e.offsetParent !== null
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
    """What every screen must hold."""
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert english_left(page) == []
    assert overlaps(page, scope) == []
    assert serious_violations(page) == []


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
    assert page.locator("#question-count").inner_text().startswith("47/2000")
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
