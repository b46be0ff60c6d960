"""Document management: uploads are read before they are kept, removal keeps the file
aside and re-indexes, the indexer works in the background and swaps the assistant."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from bot.admin import Indexer, accept_uploads, document_files, remove_document, safe_filename
from bot.documents import load_documents
from bot.index import build_index, open_index

from .conftest import FIXTURES, MODEL_CACHE, make_settings


def _docx_bomb(path: Path, megabytes: int) -> None:
    """A valid-looking DOCX whose document.xml expands to ``megabytes`` MB."""
    with zipfile.ZipFile(FIXTURES / "ke-hoach-mau.docx") as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                body = b"<w:p><w:r><w:t>hop tac xa </w:t></w:r></w:p>" * (megabytes * 1_000_000 // 44)
                data = data.replace(b"<w:body>", b"<w:body>" + body, 1)
            dst.writestr(item, data)


def test_uploads_are_read_before_they_are_kept(tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "Kế hoạch (bản mới).md"
    good.write_text("# Kế hoạch phát triển hợp tác xã\n\n1. Mục tiêu\n\n- Thành lập mới 20 hợp tác xã nông nghiệp "
                    "trong năm 2026.\n", encoding="utf-8")
    fake_pdf = incoming / "bao-cao.pdf"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.txt", "not a pdf")
    fake_pdf.write_bytes(buffer.getvalue())
    empty = incoming / "trong.txt"
    empty.write_bytes(b"")
    bomb = incoming / "bom.docx"
    _docx_bomb(bomb, 45)
    script = incoming / "x.exe"
    script.write_bytes(b"MZ")
    settings = make_settings(tmp_path / "index", tmp_path / "documents")
    intake = accept_uploads(settings, [good, fake_pdf, empty, bomb, script])
    assert intake.added == ["Kế-hoạch-bản-mới.md"]
    reasons = dict(intake.refused)
    assert set(reasons) == {"bao-cao.pdf", "trong.txt", "bom.docx", "x.exe"}
    assert "giải nén quá lớn" in reasons["bom.docx"] and "không được hỗ trợ" in reasons["x.exe"]
    # nothing refused, and no temporary file, is left in the documents folder
    assert sorted(p.name for p in (tmp_path / "documents").iterdir()) == ["Kế-hoạch-bản-mới.md"]
    assert accept_uploads(settings, [good]).added == ["Kế-hoạch-bản-mới.md"]  # same bytes: same file, no copy


def test_safe_filenames_stay_inside_the_folder():
    assert safe_filename("../../etc/passwd.md") == "passwd.md"
    assert safe_filename("C:\\Windows\\a b.txt") == "a-b.txt"
    assert safe_filename("....md") == "tai-lieu.md"


def test_remove_keeps_the_file_aside_and_refuses_paths_outside(tmp_path, small_corpus):
    settings = make_settings(tmp_path / "index", small_corpus)
    kept = remove_document(settings, "cam-ranh_ke-hoach-thuc-hien-ctr-46.md")
    assert kept.parent == small_corpus / ".removed" and kept.exists()
    assert document_files(settings) == ["quang-nam_cong-van-2651-ubnd-ktn_2020.txt"]
    assert [d.source for d in load_documents(small_corpus)[0]] == ["quang-nam_cong-van-2651-ubnd-ktn_2020.txt"]
    for bad in ("../conftest.py", ".removed/" + kept.name, "/etc/passwd"):
        with pytest.raises(ValueError):
            remove_document(settings, bad)
    with pytest.raises(FileNotFoundError):
        remove_document(settings, "khong-co.md")


@pytest.mark.slow
def test_indexer_publishes_in_the_background_and_cli_remove(tmp_path, small_corpus, embeddings):
    settings = make_settings(tmp_path / "index", small_corpus)
    build_index(settings, embeddings=embeddings)
    published = []
    indexer = Indexer(settings, embeddings, published.append)
    (small_corpus / "ghi-chu.md").write_text("# Ghi chú của Hợp tác xã Bình Minh\n\n- Hợp tác xã Bình Minh có 41 "
                                             "thành viên trồng bưởi da xanh.\n", encoding="utf-8")
    indexer.submit("thử")
    deadline = time.time() + 120
    while not published and time.time() < deadline:
        time.sleep(0.2)
    assert published and "ghi-chu.md" in published[0].documents()
    assert "Chỉ mục đã cập nhật (thử)" in indexer.status.message and not indexer.status.running
    indexer.submit("không đổi")  # nothing changed: nothing republished
    time.sleep(0.5)
    while not indexer.idle():
        time.sleep(0.2)
    assert len(published) == 1

    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_DOCUMENTS_DIR": str(small_corpus),
           "BOT_MODEL_CACHE": str(MODEL_CACHE), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "bot", "remove", "ghi-chu.md"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Đã gỡ ghi-chu.md" in done.stdout and "xóa: 1" in done.stdout
    assert "ghi-chu.md" not in open_index(settings).documents()
    bad = subprocess.run([sys.executable, "-m", "bot", "remove", "../x.md"], capture_output=True, text=True,
                         env=env, timeout=600)
    assert bad.returncode == 2 and "không phải một tài liệu" in bad.stderr


def test_progress_line_says_rate_and_time_left():
    from bot.admin import IndexStatus, progress_line

    status = IndexStatus(running=True, done=1200, total=6000, current="Nhúng", stage_started=100.0)
    line = progress_line(status, now=160.0)  # 1,200 texts in 60 s: 20/s, 4,800 left: 4 min
    assert line == "⏳ Đang lập chỉ mục — Nhúng: 1.200/6.000 · 20,0/giây · còn khoảng 4 phút 0 giây"
    assert progress_line(IndexStatus(running=True)) == "⏳ Đang lập chỉ mục…"
