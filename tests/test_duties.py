"""The agency register on the real corpus: every assignment under one canonical agency and
level, roles and deadlines read from the text, lookups by any phrasing, cited verbatim."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

import pytest

from bot.documents import load_documents
from bot.duties import (GROUPS, LEVELS, ROLES, Directory, agency_key, build_directory, load_directory, parse_deadline,
                        parse_frequency, save_directory)

from .conftest import DOCUMENTS, MODEL_CACHE

LAW = "12.4_hop-tac-xa.md#17-2023-qh15"
TO_HOP_TAC = "12.4_hop-tac-xa.md#77-2019-nd-cp"  # Nghị định 77/2019 về tổ hợp tác
FUND = "12.4_hop-tac-xa.md#45-2021-nd-cp"  # Nghị định 45/2021 về Quỹ hỗ trợ phát triển hợp tác xã
REGISTRATION = "12.4_hop-tac-xa.md#92-2024-nd-cp"  # Nghị định 92/2024 về đăng ký hợp tác xã
QUANG_NAM = "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"
CA_MAU = "ca-mau_ke-hoach-kinh-te-tap-the.txt"
KON_TUM = "kon-tum_chuong-trinh-41-ctr-tu_2022.txt"
CAM_RANH = "cam-ranh_ke-hoach-thuc-hien-ctr-46.md"

DISTRICT = "Ủy ban nhân dân cấp huyện"
ALLIANCE = "Liên minh Hợp tác xã tỉnh"


@pytest.fixture(scope="module")
def corpus():
    docs, _ = load_documents(DOCUMENTS)
    return build_directory(docs), {d.source: d.text for d in docs}


@pytest.fixture(scope="module")
def d(corpus):
    return corpus[0]


def _one(duties, source, starts_with, canonical):
    """The duty of ``canonical`` on the paragraph of ``source`` that starts with the quoted text."""
    found = [x for x in duties if x.source == source and x.canonical == canonical
             and x.task.lstrip("-*+ ").startswith(starts_with)]
    assert len(found) == 1, (source, starts_with, canonical, [(x.canonical, x.task[:60]) for x in duties
                                                              if x.source == source and starts_with[:30] in x.task])
    return found[0]


# ------------------------------------------------------------------ the register --

def test_every_task_is_verbatim_and_every_field_is_in_its_vocabulary(corpus):
    d, texts = corpus
    assert len(d.duties) > 150
    for duty in d.duties:
        assert texts[duty.source][duty.start:duty.end] == duty.task
        assert duty.level in LEVELS and duty.group in GROUPS and duty.role in ROLES, duty
        assert duty.canonical and duty.canonical[0].isupper(), duty


def test_every_phrasing_in_the_documents_finds_its_canonical_agency(d):
    for duty in d.duties:
        names, duties = d.find(duty.agency)
        assert duty.canonical in names, (duty.agency, duty.canonical, names)
        assert duty in duties
        assert duty.agency in d.phrasings(duty.canonical)


def test_spellings_and_abbreviations_are_one_agency(d):
    for query in ("UBND cấp huyện", "uy ban nhan dan cap huyen", "Ủy ban nhân dân các huyện, thị xã, thành phố",
                  "UBND huyện", "Uỷ ban nhân dân huyện, thị xã", "Chủ tịch UBND các huyện, thành phố"):
        assert d.find(query)[0] == [DISTRICT], query
    for query in ("Liên minh Hợp tác xã tỉnh", "lien minh htx tinh", "Liên minh HTX cấp tỉnh", "LMHTX tỉnh"):
        assert d.find(query)[0] == [ALLIANCE], query
    for query in ("Sở KH&ĐT", "so ke hoach va dau tu", "Giám đốc Sở Kế hoạch và Đầu tư"):
        assert d.find(query)[0] == ["Sở Kế hoạch và Đầu tư"], query
    # the level is part of the agency: the province and the commune are not the district
    assert d.find("UBND cấp tỉnh")[0] == ["Ủy ban nhân dân cấp tỉnh"]
    assert d.find("UBND xã, phường, thị trấn")[0] == ["Ủy ban nhân dân cấp xã"]
    assert d.find("Liên minh Hợp tác xã Việt Nam")[0] == ["Liên minh Hợp tác xã Việt Nam"]
    assert agency_key("Phòng Văn hoá – Thông tin") == agency_key("phòng văn hóa - thông tin")
    assert agency_key("UBND các xã, phường") == agency_key("Ủy ban nhân dân các xã, phường")
    assert agency_key("Đề nghị UBMTTQ") == agency_key("Ủy ban Mặt trận Tổ quốc")


def test_district_lookup_finds_every_document_that_assigns_the_district(d):
    assigned = {x.source for x in d.duties if x.level == "Huyện" and x.group == "Ủy ban nhân dân"}
    # Quảng Nam item 6, Cà Mau III.1 (Chủ tịch UBND các huyện, thành phố), Luật Điều 113 khoản 4-5
    # (Ủy ban nhân dân các cấp), Nghị định 77/2019 Điều 29 khoản 3, Nghị định 92/2024 Điều 8 khoản 4
    assert assigned >= {QUANG_NAM, CA_MAU, LAW, TO_HOP_TAC, REGISTRATION}
    for query in ("UBND cấp huyện", "uy ban nhan dan cap huyen", "Ủy ban nhân dân các huyện, thị xã, thành phố"):
        names, duties = d.find(query)
        assert names == [DISTRICT]
        assert {x.source for x in duties} == assigned, query
        assert all(x.canonical == DISTRICT and x.level == "Huyện" for x in duties)
    tasks = " ".join(x.task for x in d.find("UBND cấp huyện")[1])
    assert "Củng cố, kiện toàn Ban Chỉ đạo đổi mới, phát triển kinh tế tập thể, hợp tác xã cấp huyện" in tasks
    assert "Ủy ban nhân dân các cấp thực hiện quản lý nhà nước về tổ hợp tác, hợp tác xã" in tasks
    # with a place: that document only
    qn = d.find("UBND các huyện Quảng Nam")[1]
    assert qn and {x.source for x in qn} == {QUANG_NAM}


def test_provincial_alliance_lookup_finds_every_document_including_the_law(d):
    assigned = {x.source for x in d.duties if x.canonical == ALLIANCE}
    assert assigned >= {QUANG_NAM, CA_MAU, KON_TUM, LAW, FUND}
    for query in ("Liên minh Hợp tác xã tỉnh", "lien minh htx tinh"):
        names, duties = d.find(query)
        assert names == [ALLIANCE] and {x.source for x in duties} == assigned
    # Kon Tum: "… Liên minh Hợp tác xã tỉnh phối hợp chặt chẽ triển khai thực hiện."
    kt = [x for x in d.find("lien minh htx tinh")[1] if x.source == KON_TUM]
    assert any("phối hợp chặt chẽ triển khai thực hiện" in x.task and x.role == "phối hợp" for x in kt)
    # the Law, Điều 111 khoản 3: the duties of the whole alliance system (central and provincial)
    law = _one(d.duties, LAW, "a) Các nhiệm vụ của tổ chức đại diện theo quy định tại khoản 2 Điều 110", ALLIANCE)
    assert law.level == "Tỉnh" and law.section.startswith("Điều 111.")
    assert _one(d.duties, LAW, "a) Các nhiệm vụ của tổ chức đại diện", "Liên minh Hợp tác xã Việt Nam").level == "Trung ương"
    # Nghị định 45/2021 Điều 44 khoản 7: "Định kỳ hàng năm, Liên minh hợp tác xã các cấp thực hiện chế độ báo cáo …"
    yearly = _one(d.duties, FUND, "7. Định kỳ hàng năm, Liên minh hợp tác xã các cấp", ALLIANCE)
    assert yearly.frequency == "hằng năm" and yearly.role == "thực hiện"


def test_state_management_duties_of_the_law_and_decrees(d):
    # Luật Hợp tác xã 2023, Điều 113
    gov = _one(d.duties, LAW, "1. Chính phủ thống nhất quản lý nhà nước", "Chính phủ")
    assert gov.level == "Trung ương" and gov.group == "Bộ, ngành Trung ương"
    assert _one(d.duties, LAW, "2. Bộ Kế hoạch và Đầu tư là cơ quan đầu mối", "Bộ Kế hoạch và Đầu tư").level == "Trung ương"
    for level, name in (("Tỉnh", "Ủy ban nhân dân cấp tỉnh"), ("Huyện", DISTRICT), ("Xã", "Ủy ban nhân dân cấp xã")):
        duty = _one(d.duties, LAW, "4. Ủy ban nhân dân các cấp thực hiện quản lý nhà nước", name)
        assert duty.level == level and duty.group == "Ủy ban nhân dân"
    # Nghị định 92/2024: the district registration office's own article
    office = [x for x in d.duties if x.source == REGISTRATION and x.canonical == "Cơ quan đăng ký kinh doanh cấp huyện"
              and x.section.startswith("Điều 7.")]
    assert len(office) == 9 and all(x.level == "Huyện" for x in office)
    assert office[0].task.startswith("1. Trực tiếp nhận hồ sơ đăng ký tổ hợp tác")
    # … and the provincial one ("Phòng Đăng ký kinh doanh thuộc Sở Kế hoạch và Đầu tư tỉnh")
    province = [x for x in d.duties if x.source == REGISTRATION and x.section.startswith("Điều 6.")]
    assert len(province) == 3 and {x.canonical for x in province} == {"Cơ quan đăng ký kinh doanh cấp tỉnh"}
    assert "Phòng Đăng ký kinh doanh thuộc Sở Kế hoạch và Đầu tư tỉnh, thành phố trực thuộc trung ương" in \
        d.phrasings("Cơ quan đăng ký kinh doanh cấp tỉnh")


# ------------------------------------------------------------ roles and deadlines --

def test_lead_and_partners_of_one_task_each_get_their_role(d):
    # Quảng Nam item 5
    task = "5. Sở Tài chính chủ trì, phối hợp với Liên minh Hợp tác xã tỉnh, các ngành liên quan"
    lead = _one(d.duties, QUANG_NAM, task, "Sở Tài chính")
    partner = _one(d.duties, QUANG_NAM, task, ALLIANCE)
    assert (lead.role, partner.role) == ("chủ trì", "phối hợp")
    assert lead.frequency == partner.frequency == "hằng năm"  # "trong dự toán ngân sách tỉnh hằng năm"
    # Kon Tum: "* Ban Tuyên giáo Tỉnh ủy chủ trì, phối hợp với Ban cán sự đảng Ủy ban nhân dân tỉnh hướng dẫn;
    # các ban cán sự đảng, …, Ban Thường vụ Tỉnh đoàn triển khai thực hiện thường xuyên; riêng việc quán triệt …
    # hoàn thành trong quý IV-2022."
    task = "Ban Tuyên giáo Tỉnh ủy chủ trì, phối hợp với Ban cán sự đảng"
    roles = {name: _one(d.duties, KON_TUM, task, name) for name in
             ("Ban Tuyên giáo Tỉnh ủy", "Ban cán sự đảng Ủy ban nhân dân tỉnh", "Ban Thường vụ Tỉnh đoàn")}
    assert [x.role for x in roles.values()] == ["chủ trì", "phối hợp", "thực hiện"]
    assert all("quý IV-2022" in x.deadline and x.frequency == "thường xuyên" for x in roles.values())
    assert roles["Ban Thường vụ Tỉnh đoàn"].group == "Mặt trận và đoàn thể"
    # Cam Ranh: the finance-planning office's three tasks, lead / own / support
    matches, duties = d.find("Phòng Tài chính – Kế hoạch Cam Ranh")
    assert matches == ["Phòng Tài chính – Kế hoạch"]
    assert [x.role for x in duties] == ["chủ trì", "thực hiện", "phối hợp"]
    assert {x.section for x in duties} == {"III. TỔ CHỨC THỰC HIỆN › 2. Phòng Tài chính – Kế hoạch"}
    assert d.find("phong tai chinh - ke hoach cam ranh")[1] == duties
    assert duties[0].level == "Huyện" and duties[0].group == "Phòng, ban cấp huyện"


def test_requests_to_the_front_and_mass_organisations(d):
    # Quảng Nam item 7: "Đề nghị UBMTTQVN tỉnh, các Hội, đoàn thể và Báo Quảng Nam, Đài Phát thanh - Truyền hình …"
    task = "7. Đề nghị UBMTTQVN tỉnh, các Hội, đoàn thể"
    front = _one(d.duties, QUANG_NAM, task, "Ủy ban Mặt trận Tổ quốc Việt Nam cấp tỉnh")
    assert front.role == "đề nghị" and front.level == "Tỉnh" and front.group == "Mặt trận và đoàn thể"
    # Cam Ranh is a district-level city: its front is the district's
    cr = d.find("UBMTTQ Cam Ranh")[1]
    assert cr and all(x.level == "Huyện" and x.role == "đề nghị" for x in cr)


def test_deadlines_and_frequencies_read_from_the_text(d):
    # Cà Mau III.1 b): "Trước ngày 30 tháng 4 năm 2023, xây dựng, ban hành Kế hoạch …, gửi Sở Kế hoạch và Đầu tư …"
    b = "b) Trước ngày 30 tháng 4 năm 2023"
    for name in (DISTRICT, "Các sở, ban, ngành tỉnh"):
        duty = _one(d.duties, CA_MAU, b, name)
        assert duty.deadline == "trước ngày 30 tháng 4 năm 2023" and duty.role == "thực hiện" and duty.frequency is None
    assert _one(d.duties, CA_MAU, b, "Sở Kế hoạch và Đầu tư").role == "tiếp nhận"
    # Cà Mau III.1 d): "… gửi Sở Kế hoạch và Đầu tư trước ngày 25 tháng 11 hàng năm …"
    yearly = _one(d.duties, CA_MAU, "d) Tổng hợp, đánh giá tình hình thực hiện", DISTRICT)
    assert yearly.deadline == "trước ngày 25 tháng 11 hàng năm" and yearly.frequency == "hằng năm"
    # Nghị định 77/2019 Điều 29: each level reports by its own date
    for start, name, deadline in (
            ("2. Chậm nhất vào ngày 30 tháng 12 hàng năm", "Ủy ban nhân dân cấp xã", "chậm nhất vào ngày 30 tháng 12 hàng năm"),
            ("3. Chậm nhất vào ngày 15 tháng 01 hàng năm", DISTRICT, "chậm nhất vào ngày 15 tháng 01 hàng năm"),
            ("4. Chậm nhất vào ngày 30 tháng 01 hàng năm", "Ủy ban nhân dân cấp tỉnh", "chậm nhất vào ngày 30 tháng 01 hàng năm")):
        duty = _one(d.duties, TO_HOP_TAC, start, name)
        assert duty.deadline == deadline and duty.frequency == "hằng năm"
    # Nghị định 45/2021 Điều 44: "Lập và gửi các báo cáo định kỳ 6 tháng và hàng năm …" under "Đối với Quỹ …"
    fund = _one(d.duties, FUND, "a) Lập và gửi các báo cáo định kỳ 6 tháng và hàng năm", "Quỹ hợp tác xã trung ương")
    assert fund.frequency == "định kỳ 6 tháng, hằng năm"
    # Quảng Nam item 2: "… chính sách hỗ trợ … giai đoạn 2021 - 2025 trình HĐND tỉnh"
    period = _one(d.duties, QUANG_NAM, "Chủ trì, phối hợp với Liên minh Hợp tác xã tỉnh", "Sở Kế hoạch và Đầu tư")
    assert period.deadline == "giai đoạn 2021 - 2025" and period.role == "chủ trì"


def test_a_task_without_a_deadline_inherits_its_heading_s(d):
    # Thông tư 52/2022, Điều 12 "Lập kế hoạch tài chính hằng năm", khoản 1 điểm b:
    # "b) Thời gian phê duyệt kế hoạch tài chính: Trước ngày 30 tháng 4 năm kế hoạch:
    #  - Liên minh hợp tác xã Việt Nam xem xét, phê duyệt kế hoạch tài chính năm đối với Quỹ hợp tác xã Trung ương;"
    source = "12.4_hop-tac-xa.md#52-2022-tt-btc"
    central = _one(d.duties, source, "Liên minh hợp tác xã Việt Nam xem xét, phê duyệt", "Liên minh Hợp tác xã Việt Nam")
    province = _one(d.duties, source, "Liên minh hợp tác xã cấp tỉnh xem xét, phê duyệt", ALLIANCE)
    for duty in (central, province):
        assert "trước ngày 30 tháng 4" not in duty.task.lower()  # the item itself gives no date
        assert duty.deadline == "trước ngày 30 tháng 4" and duty.frequency == "hằng năm"  # heading, article title
    # "… và gửi Ủy ban nhân dân cấp tỉnh, cơ quan tài chính cùng cấp …": the province receives it
    assert _one(d.duties, source, "Liên minh hợp tác xã cấp tỉnh xem xét", "Ủy ban nhân dân cấp tỉnh").role == "tiếp nhận"


@pytest.mark.parametrize("text, deadline, frequency", [
    ("gửi Sở Kế hoạch và Đầu tư trước ngày 25 tháng 11 hàng năm để tổng hợp", "trước ngày 25 tháng 11 hàng năm", "hằng năm"),
    ("Chậm nhất vào ngày 15/12 hằng năm, tổ hợp tác cập nhật thông tin", "chậm nhất vào ngày 15/12 hằng năm", "hằng năm"),
    ("hoàn thành trong quý II/2024", "trong quý II/2024", None),
    ("riêng việc quán triệt hoàn thành trong quý IV-2022", "trong quý IV-2022", None),
    ("xây dựng đề án, hoàn thành trong năm 2025", "trong năm 2025", None),
    ("chính sách hỗ trợ giai đoạn 2021–2025", "giai đoạn 2021–2025", None),
    ("nộp lệ phí trước ngày 31/12/2026", "trước ngày 31/12/2026", None),
    ("Lập và gửi các báo cáo định kỳ 6 tháng và hàng năm", None, "định kỳ 6 tháng, hằng năm"),
    ("Định kỳ hằng quý xem xét việc phân loại nợ", None, "hằng quý"),
    ("Thường xuyên theo dõi, đánh giá tình hình", None, "thường xuyên"),
    ("Tăng cường công tác kiểm tra, giám sát", None, None),
])
def test_deadline_and_frequency_phrases(text, deadline, frequency):
    assert (parse_deadline(text), parse_frequency(text)) == (deadline, frequency)


def test_roles_are_told_apart(d):
    roles = {role: sum(1 for x in d.duties if x.role == role) for role in ROLES}
    assert roles["chủ trì"] >= 15 and roles["phối hợp"] >= 30 and roles["đề nghị"] >= 5
    assert sum(1 for x in d.duties if x.deadline) >= 40


# -------------------------------------------------------------- what is listed --

def test_the_agency_list_holds_agencies_only(d):
    names = [name for _, names in d.groups() for name in names]
    assert len(names) == len(set(names)) and 30 <= len(names) <= 90
    folded = [agency_key(n) for n in names]
    for word in ("bao cao", "hoi dong quan tri", "ban kiem soat", "giam doc", "kiem soat vien", "dai hoi thanh vien",
                 "ban dieu hanh", "hop tac xa hoa sen"):
        assert not any(k.startswith(word) for k in folded), word
    for verb in ("chu tri", "thuc hien", "cho vay", "phoi hop"):
        assert not any(f" {verb}" in k for k in folded), verb
    # cooperative-internal bodies are left out entirely
    assert d.find("Hội đồng quản trị")[1] == [] and d.find("Ban kiểm soát")[1] == []
    # the press stays only where a plan assigns it work (Quảng Nam asks Báo Quảng Nam to inform)
    press = dict(d.groups())["Cơ quan báo chí, truyền thông"]
    assert "Báo tỉnh" in press
    assert {x.role for x in d.find("Báo Quảng Nam")[1]} == {"đề nghị"}


def test_groups_and_options_are_sorted_and_counted(d):
    groups = d.groups()
    labels = [label for label, _ in groups]
    assert labels == [g for g in GROUPS if g in labels]
    assert dict(groups)["Ủy ban nhân dân"] == ["Ủy ban nhân dân cấp tỉnh", DISTRICT, "Ủy ban nhân dân cấp xã"]
    assert dict(groups)["Liên minh hợp tác xã"] == ["Liên minh Hợp tác xã Việt Nam", ALLIANCE]
    options = d.agency_options()
    assert [value for _, value in options] == [name for _, names in groups for name in names]
    count = sum(1 for x in d.duties if x.canonical == DISTRICT)
    assert (f"{DISTRICT} ({count} nhiệm vụ)", DISTRICT) in options
    listed = d.agencies()  # (canonical, place, tasks) per place, for the CLI and the old dropdown
    assert ("Phòng Tài chính – Kế hoạch", "Cam Ranh, Khánh Hòa", 3) in listed
    assert sum(n for _, _, n in listed) == len(d.duties)
    for name, place, n in listed:  # the dropdown's "name — place", looked up as the duties tab does
        names, duties = d.find(f"{name} — {place}".replace(" — ", " "))
        assert name in names, (name, place)
        assert place == "toàn quốc" or sum(x.canonical == name for x in duties) == n, (name, place)


def test_suggest_finds_the_nearest_agency(d):
    assert d.find("Phòng Tài chánh Kế hoạch")[1] == []
    assert d.suggest("Phòng Tài chánh Kế hoạch")[0] == "Phòng Tài chính – Kế hoạch"
    assert d.suggest("so ke hoach dau tu")[0] == "Sở Kế hoạch và Đầu tư"
    assert d.suggest("Lien minh hop tac")[:2] == ["Liên minh Hợp tác xã Việt Nam", ALLIANCE] or \
        d.suggest("Lien minh hop tac")[:2] == [ALLIANCE, "Liên minh Hợp tác xã Việt Nam"]
    assert d.suggest("Uy ban nhan dan huyen")[0] == DISTRICT
    assert len(d.suggest("Sở Tài chính", n=3)) == 3
    assert d.suggest("xyz qwv") == []


def test_distribution_lists_invent_no_tasks(d):
    assert all(not x.section.startswith("Nơi nhận") for x in d.duties)
    for only_listed in ("Cục Phát triển doanh nghiệp", "Văn phòng Trung ương Đảng", "Ban Kinh tế Trung ương"):
        assert d.find(only_listed)[1] == [], only_listed


def test_named_agency_ignores_cooperative_bodies(d):
    assert d.named_agency("Sở Công Thương Cà Mau có nhiệm vụ gì?") == "Sở Công Thương Cà Mau"
    assert d.named_agency("Ban kiểm soát có nhiệm vụ gì?") is None  # the Law answers it, not the register
    assert d.find("Sở Công Thương Cà Mau có nhiệm vụ gì?")[1] == []
    assert d.find("UBND cấp huyện có nhiệm vụ gì trong phát triển kinh tế tập thể?")[0] == [DISTRICT]


# ------------------------------------------------------------------ on disk --

def test_saved_register_loads_back(d, tmp_path):
    path = tmp_path / "duties.jsonl"
    save_directory(d, path)
    loaded = load_directory(path)
    assert loaded.duties == d.duties and not loaded.stale


def test_a_register_saved_by_the_previous_version_still_loads(d, tmp_path):
    """An index built before the register had canonical agencies: its rows are re-derived."""
    old = tmp_path / "duties.jsonl"
    with old.open("w", encoding="utf-8") as f:
        for x in d.duties:
            if x.source == QUANG_NAM:
                row = {k: v for k, v in asdict(x).items() if k not in ("canonical", "level", "group", "frequency")}
                if x.canonical == DISTRICT or x.canonical == "Các sở, ban, ngành tỉnh":
                    row["agency"] = "Các Sở, Ban, ngành, đơn vị liên quan và UBND các huyện, thị xã, thành phố"
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    loaded = load_directory(old)
    assert loaded.stale
    assert {x.source for x in loaded.find("uy ban nhan dan cap huyen")[1]} == {QUANG_NAM}
    assert all(x.level in LEVELS and x.group in GROUPS for x in loaded.duties)
    assert [x for x in loaded.duties if x.canonical == "Sở Tài chính"][0].frequency == "hằng năm"


def test_directory_of_no_documents_is_empty():
    empty = Directory([])
    assert empty.find("UBND cấp huyện") == ([], []) and empty.groups() == [] and empty.suggest("Sở") == []


# ------------------------------------------------------------- chat and CLI --

@pytest.mark.slow
def test_chat_answers_from_the_directory(assistant):
    from bot.evaluation import citation_problems

    answer = assistant.ask("phong tai chinh ke hoach cam ranh co nhiem vu gi")
    assert answer.mode == "directory" and len(answer.citations) == 1
    assert answer.answer.count("\n- ") == 3
    missing = assistant.ask("Sở Công Thương Cà Mau có nhiệm vụ gì?")
    assert missing.abstained and "không giao nhiệm vụ nào cho Sở Công Thương" in missing.answer
    district = assistant.ask("UBND cấp huyện có nhiệm vụ gì trong phát triển kinh tế tập thể?")
    assert district.mode == "directory" and not district.abstained
    assert {c.source for c in district.citations} >= {QUANG_NAM, CA_MAU, LAW}
    assert citation_problems(district, assistant.handle.documents()) == []


@pytest.mark.slow
def test_cli_json(corpus_index):
    settings, _, _ = corpus_index
    env = {**__import__("os").environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_MODEL_CACHE": str(MODEL_CACHE)}
    run = subprocess.run([sys.executable, "-m", "bot", "duties", "--json", "Sở Kế hoạch và Đầu tư",
                          "--document", QUANG_NAM], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(run.stdout)
    assert data["matches"] == ["Sở Kế hoạch và Đầu tư"] and len(data["duties"]) == 4
    assert set(data["duties"][0]) >= {"agency", "canonical", "level", "group", "place", "role", "task", "deadline",
                                      "frequency", "source", "title", "section"}
    listing = subprocess.run([sys.executable, "-m", "bot", "duties", "--json"], capture_output=True, text=True,
                             env=env, timeout=300)
    agencies = json.loads(listing.stdout)["agencies"]
    assert {"agency": "Phòng Tài chính – Kế hoạch", "place": "Cam Ranh, Khánh Hòa", "tasks": 3} in agencies
