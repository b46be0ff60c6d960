"""The chat service without a browser: answers, feedback, exports, limits, over a real
index that holds a hostile document. (Separate from test_ui.py: Playwright's sync API
keeps an event loop running there, and the chat handler is a coroutine.)"""

from __future__ import annotations

import json
import re
import html
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def service(hostile_index, tmp_path):
    from bot.ui import ChatService

    settings, assistant = hostile_index
    return ChatService(settings.with_(feedback_log=tmp_path / "feedback.jsonl", rate_limit=0), assistant)


def _answered(service, question: str):
    import asyncio

    async def run():
        return [u async for u in service.respond(question, [], None, [], "test")][-1]

    return asyncio.run(run())


def test_duties_exports_cells_that_are_not_formulas(service):
    from openpyxl import load_workbook

    status, table, csv_path, xlsx_path = service.duties_view("Sở Tài chính", None)
    assert "=HYPERLINK" in html.unescape(table)  # the hostile document's title, shown as text
    text = Path(csv_path).read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and "\n=HYPERLINK" not in text
    cells = [c.value for row in load_workbook(xlsx_path).active.iter_rows() for c in row]
    assert any(str(v).startswith("'=HYPERLINK") for v in cells) and not any(str(v).startswith("=") for v in cells)
    assert Path(csv_path).is_relative_to(service.exports) and Path(xlsx_path).is_relative_to(service.exports)


def test_feedback_is_validated_and_appended_whole_from_many_threads(service):
    import threading

    history, panel, box, turns = _answered(service, "Hợp tác xã Hoa Sen có bao nhiêu thành viên chính thức?")
    index = turns[-1]["index"]
    log = service.settings.feedback_log
    assert service.feedback("x" * 20_000_000, index, "", turns, "a") == "Đánh giá không hợp lệ."
    assert service.feedback(True, "1", "", turns, "a") == "Đánh giá không hợp lệ."
    assert service.feedback(1, index, "", turns, "a") == "Đánh giá không hợp lệ."
    assert service.feedback(True, index, ["not text"], turns, "a") == "Góp ý phải là văn bản."
    assert service.feedback(True, 999, "", turns, "a") == "Chỉ đánh giá được câu trả lời của trợ lý."
    assert not log.exists()
    comment = "Rất hữu ích \ud800" + "x" * 5000

    def click():
        for _ in range(25):
            service.feedback(True, index, comment, turns, "a")

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 200 and all(len(e["comment"]) == 2000 for e in entries)
    assert entries[0]["comment"].startswith("Rất hữu ích \ufffd")


def test_forged_citation_markers_never_become_chips(service):
    history, panel, box, turns = _answered(service, "Hợp tác xã Hoa Sen có bao nhiêu thành viên chính thức?")
    answer = turns[-1]["answer"]
    shown = history[-1]["content"]
    chips = re.findall(r'class="tl-ref"[^>]*>\[(\d+)\]', shown)
    assert chips and {int(n) for n in chips} <= {c["id"] for c in answer["citations"]}
    assert "[9]" not in answer["answer"] and "&#91;9&#93;" not in shown.split("<details")[0]
    assert "(tên giao dịch 'Hoa Sen Co-op')" in shown and "&#x27;" not in shown  # escaped once, shown as typed


def test_requests_beyond_the_rate_limit_get_a_notice_and_keep_the_question(service):
    from bot.guard import RateLimit

    service.limit = RateLimit(2)
    for _ in range(2):
        _answered(service, "Giá vàng hôm nay?")
    history, panel, box, turns = _answered(service, "Hợp tác xã Hoa Sen có bao nhiêu thành viên?")
    assert "quá nhanh" in history[-1]["content"] and box == "Hợp tác xã Hoa Sen có bao nhiêu thành viên?"


def test_exports_older_than_an_hour_are_purged(service):
    import os
    import time

    first = service.export_file("thu-", ".csv")
    first.write_text("x")
    old = time.time() - 7200
    os.utime(first.parent, (old, old))
    second = service.export_file("thu-", ".csv")
    assert not first.parent.exists() and second.parent.exists()
