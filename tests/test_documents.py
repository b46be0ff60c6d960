"""Loading: every supported format, messy real text, and bad files skipped with a reason."""

from __future__ import annotations

import unicodedata

import docx
import pytest

from bot.documents import UnreadableError, clean_lines, decode_bytes, load_documents

from .conftest import DOCUMENTS

VIET = "Hợp tác xã là tổ chức có tư cách pháp nhân do ít nhất 05 thành viên chính thức tự nguyện thành lập."


def cp1258_bytes(text: str) -> bytes:
    """Encode Vietnamese the way Windows-1258 does: base letter + combining tone mark."""
    out = bytearray()
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in parts if c in tones)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out += (base + tone).encode("cp1258")
    return bytes(out)


def make_pdf(pages: list[list[str]]) -> bytes:
    """A small real PDF (Helvetica, one text line per entry) written by hand."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font_id = 3 + 2 * len(pages)
    for i, lines in enumerate(pages):
        content = "BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- decoding ---------------------------------------------------------------

@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: t.encode("utf-8-sig"),
    lambda t: t.encode("utf-16"),
    lambda t: t.encode("utf-16-le"),
    cp1258_bytes,
])
def test_decode_common_encodings(encode):
    assert unicodedata.normalize("NFC", decode_bytes(encode(VIET))) == VIET


def test_decode_windows_1252_fallback():
    assert decode_bytes("Coopérative agricole – réunion".encode("cp1252")) == "Coopérative agricole – réunion"


@pytest.mark.parametrize("data, reason", [
    (b"", "rỗng"),
    (b"   \n\n  ", "rỗng"),
    (bytes(range(256)) * 20, "nhị phân"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(500), "nhị phân"),
])
def test_decode_rejects_empty_and_binary(data, reason):
    with pytest.raises(UnreadableError, match=reason):
        decode_bytes(data)


# --- cleaning the real documents --------------------------------------------

def _load(name: str):
    docs, skipped = load_documents(DOCUMENTS)
    assert not skipped
    return next(d for d in docs if d.source == name)


def test_hard_wraps_are_joined_even_across_blank_lines():
    cam_ranh = _load("cam-ranh_ke-hoach-thuc-hien-ctr-46.md")
    assert "cung cấp dịch vụ chế biến và tiêu thụ sản phẩm nông nghiệp" in cam_ranh.text
    ca_mau = _load("ca-mau_ke-hoach-kinh-te-tap-the.txt")
    assert "các mục tiêu, nhiệm vụ, tiến độ thực hiện" in ca_mau.text
    kon_tum = _load("kon-tum_chuong-trinh-41-ctr-tu_2022.txt")
    assert "nâng cao hiệu quả kinh tế tập thể trong giai đoạn mới\"" in kon_tum.text


def test_markdown_emphasis_and_heading_marks_do_not_leak():
    for doc in load_documents(DOCUMENTS)[0]:
        assert "**" not in doc.text and "\n#" not in doc.text and not doc.text.startswith("#")
    assert "\nIII. TỔ CHỨC THỰC HIỆN\n" in _load("cam-ranh_ke-hoach-thuc-hien-ctr-46.md").text


def test_list_items_are_not_glued_to_the_previous_line():
    ca_mau = _load("ca-mau_ke-hoach-kinh-te-tap-the.txt")
    assert "\nb) Trước ngày 30 tháng 4 năm 2023" in ca_mau.text
    assert "\n- củng cố, tăng cường hoạt động" in ca_mau.text


def test_stray_file_path_line_is_dropped_and_tabs_normalised():
    quang_nam = _load("quang-nam_cong-van-2651-ubnd-ktn_2020.txt")
    assert "Dropbox" not in quang_nam.text and ".docx" not in quang_nam.text
    assert "Lê Trí Thanh" in quang_nam.text
    for doc in load_documents(DOCUMENTS)[0]:
        assert "\t" not in doc.text and "\u00a0" not in doc.text and "  " not in doc.text
        assert unicodedata.is_normalized("NFC", doc.text)


def test_catalog_metadata_and_fallback_title(tmp_path):
    kon_tum = _load("kon-tum_chuong-trinh-41-ctr-tu_2022.txt")
    assert kon_tum.title.startswith("Chương trình số 41-CTr/TU")  # the catalog's title
    assert kon_tum.metadata["number"] == "41-CTr/TU" and kon_tum.metadata["issuer"] == "Tỉnh ủy Kon Tum"
    (tmp_path / "moi.md").write_text("# Hướng dẫn thành lập hợp tác xã\n\nNội dung hướng dẫn chi tiết về hồ sơ.\n")
    docs, skipped = load_documents(tmp_path)
    assert not skipped and docs[0].title == "Hướng dẫn thành lập hợp tác xã"


def test_decomposed_file_is_normalised(tmp_path):
    (tmp_path / "nfd.txt").write_bytes(unicodedata.normalize("NFD", VIET * 2).encode("utf-8"))
    doc = load_documents(tmp_path)[0][0]
    assert VIET in doc.text


# --- other formats ------------------------------------------------------------

def test_docx_paragraphs_and_tables(tmp_path):
    d = docx.Document()
    d.add_heading("Kế hoạch phát triển hợp tác xã", level=1)
    d.add_paragraph("1. Sở Nông nghiệp và Phát triển nông thôn")
    d.add_paragraph("- Hướng dẫn thành lập hợp tác xã nông nghiệp kiểu mới.")
    table = d.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Chỉ tiêu"
    table.rows[0].cells[1].text = "400 hợp tác xã"
    d.save(tmp_path / "ke-hoach.docx")
    doc = load_documents(tmp_path)[0][0]
    assert doc.title == "Kế hoạch phát triển hợp tác xã"
    assert "- Hướng dẫn thành lập hợp tác xã nông nghiệp kiểu mới." in doc.text
    assert "Chỉ tiêu | 400 hợp tác xã" in doc.text


def test_html_text_without_scripts(tmp_path):
    (tmp_path / "trang.html").write_text(
        "<html><head><style>p{}</style><script>alert('x')</script></head><body>"
        "<h1>Hỏi đáp hợp tác xã</h1><p>Hợp tác xã cần ít nhất 05 thành viên chính thức.</p></body></html>",
        encoding="utf-8",
    )
    doc = load_documents(tmp_path)[0][0]
    assert "alert" not in doc.text and "Hợp tác xã cần ít nhất 05 thành viên chính thức." in doc.text


def test_pdf_text_with_page_numbers(tmp_path):
    (tmp_path / "luat.pdf").write_bytes(make_pdf([
        ["Dieu 1. Pham vi dieu chinh", "Luat nay quy dinh ve hop tac xa."],
        ["Dieu 2. Doi tuong ap dung", "To hop tac, hop tac xa, lien hiep hop tac xa."],
    ]))
    doc = load_documents(tmp_path)[0][0]
    assert "Dieu 2. Doi tuong ap dung" in doc.text
    assert doc.page_at(doc.text.index("Dieu 1.")) == 1
    assert doc.page_at(doc.text.index("Dieu 2.")) == 2


# --- bad input: skipped, named, the rest still loads ---------------------------

def test_bad_files_are_skipped_with_reasons_and_the_rest_loads(tmp_path):
    (tmp_path / "tot.txt").write_text(VIET * 3, encoding="utf-8")
    (tmp_path / "rong.txt").write_bytes(b"")
    (tmp_path / "rac.txt").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "hong.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    (tmp_path / "hong.docx").write_bytes(b"PK\x03\x04 broken zip")
    (tmp_path / "chuong-trinh.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / "lon.txt").write_text("hợp tác xã " * 300_000, encoding="utf-8")
    docs, skipped = load_documents(tmp_path, max_file_mb=1)
    assert [d.source for d in docs] == ["tot.txt"]
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"rong.txt", "rac.txt", "hong.pdf", "hong.docx", "chuong-trinh.exe", "lon.txt"}
    assert "rỗng" in reasons["rong.txt"]
    assert "nhị phân" in reasons["rac.txt"]
    assert "PDF" in reasons["hong.pdf"]
    assert "DOCX" in reasons["hong.docx"]
    assert "không được hỗ trợ" in reasons["chuong-trinh.exe"]
    assert "quá lớn" in reasons["lon.txt"]
    assert all(str(s).startswith(f"Bỏ qua {s.source}: ") for s in skipped)


def test_clean_lines_keeps_page_of_each_paragraph():
    text, pages = clean_lines([("Điều 1. Phạm vi", 1), ("điều chỉnh của luật", 1), ("Điều 2. Đối tượng", 2)])
    assert text == "Điều 1. Phạm vi điều chỉnh của luật\nĐiều 2. Đối tượng"
    assert pages == [(0, 1), (text.index("Điều 2"), 2)]
