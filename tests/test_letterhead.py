"""Documents describe themselves: letterhead fields without a catalog entry."""

from __future__ import annotations

import shutil

import pytest

from bot.documents import load_documents

from .conftest import DOCUMENTS, FIXTURES

PROVINCIAL = ["ca-mau_ke-hoach-kinh-te-tap-the.txt", "cam-ranh_ke-hoach-thuc-hien-ctr-46.md",
              "kon-tum_chuong-trinh-41-ctr-tu_2022.txt", "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"]


@pytest.fixture(scope="module")
def uncatalogued(tmp_path_factory):
    """The four provincial documents and the written plan, with no catalog.yaml."""
    folder = tmp_path_factory.mktemp("no-catalog")
    for name in PROVINCIAL:
        shutil.copy(DOCUMENTS / name, folder / name)
    for name in ("ke-hoach-mau.docx", "ke-hoach-mau.pdf"):
        shutil.copy(FIXTURES / name, folder / name)
    docs, skipped = load_documents(folder)
    assert not skipped
    return {d.source: d for d in docs}


def test_official_letter(uncatalogued):
    d = uncatalogued["quang-nam_cong-van-2651-ubnd-ktn_2020.txt"]
    assert d.title.startswith("Công văn 2651/UBND-KTN về triển khai thực hiện Kết luận số 70-KL/TW")
    m = d.metadata
    assert (m["kind"], m["number"], m["date"], m["place"]) == ("Công văn", "2651/UBND-KTN", "15/05/2020", "Quảng Nam")
    assert m["signer"] == "Chủ tịch Lê Trí Thanh" and m["issuer"] == "Ủy ban nhân dân (Quảng Nam)"


def test_party_programme(uncatalogued):
    d = uncatalogued["kon-tum_chuong-trinh-41-ctr-tu_2022.txt"]
    m = d.metadata
    assert d.title.startswith("Chương trình của ban chấp hành đảng bộ tỉnh khóa XVI thực hiện Nghị quyết số 20-NQ/TW")
    assert (m["kind"], m["number"], m["date"], m["place"], m["issuer"]) == (
        "Chương trình", "41-CTr/TU", "07/10/2022", "Kon Tum", "Tỉnh ủy Kon Tum")
    assert m["short_title"] == "Chương trình 41-CTr/TU"


@pytest.mark.parametrize("name, signer, about", [
    ("ca-mau_ke-hoach-kinh-te-tap-the.txt", "Phó Chủ tịch Lê Văn Sử", "Kế hoạch về việc tiếp tục đổi mới"),
    ("cam-ranh_ke-hoach-thuc-hien-ctr-46.md", "Phó Chủ tịch Hà Thế Ân", "Kế hoạch thực hiện Chương trình hành động số 46-CTr/TU"),
])
def test_plans_without_letterhead_take_what_the_text_gives(uncatalogued, name, signer, about):
    d = uncatalogued[name]
    assert d.title.startswith(about)
    assert d.metadata["kind"] == "Kế hoạch" and d.metadata["signer"] == signer
    assert d.metadata["issuer"].startswith("Ủy ban nhân dân")
    assert "number" not in d.metadata  # not printed: not invented


@pytest.mark.parametrize("name", ["ke-hoach-mau.docx", "ke-hoach-mau.pdf"])
def test_a_plan_written_in_the_official_layout(uncatalogued, name):
    d = uncatalogued[name]
    assert d.title == "Kế hoạch hỗ trợ thành lập mới hợp tác xã nông nghiệp trên địa bàn huyện Đắk Hà năm 2024"
    assert d.metadata == {
        "kind": "Kế hoạch", "number": "27/KH-TCKH", "date": "12/03/2024", "place": "Đắk Hà",
        "issuer": "Phòng Tài chính – Kế hoạch (UBND huyện Đắk Hà)", "signer": "Trưởng phòng Nguyễn Văn Bình",
        "short_title": "Kế hoạch 27/KH-TCKH",
    }


def test_the_catalog_still_overrides(tmp_path):
    name = PROVINCIAL[3]
    shutil.copy(DOCUMENTS / name, tmp_path / name)
    (tmp_path / "catalog.yaml").write_text(f"documents:\n  {name}:\n    issuer: UBND tỉnh Quảng Nam\n", encoding="utf-8")
    [d], _ = load_documents(tmp_path)
    assert d.metadata["issuer"] == "UBND tỉnh Quảng Nam" and d.metadata["number"] == "2651/UBND-KTN"
