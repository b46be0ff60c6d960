"""The duties directory on the real corpus: complete, cited, per agency and per place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.documents import load_documents
from bot.duties import agency_key, build_directory

from .conftest import DOCUMENTS, MODEL_CACHE


@pytest.fixture(scope="module")
def directory():
    docs, _ = load_documents(DOCUMENTS)
    return build_directory(docs), {d.source: d.text for d in docs}


def test_every_task_is_verbatim(directory):
    d, texts = directory
    assert len(d.duties) > 50
    for duty in d.duties:
        assert texts[duty.source][duty.start:duty.end] == duty.task


def test_cam_ranh_finance_planning_office_has_exactly_its_three_tasks(directory):
    d, _ = directory
    matches, duties = d.find("Phòng Tài chính – Kế hoạch Cam Ranh")
    assert matches == ["phong tai chinh - ke hoach"]
    assert len(duties) == 3 and {x.section for x in duties} == {"III. TỔ CHỨC THỰC HIỆN › 2. Phòng Tài chính – Kế hoạch"}
    assert duties[0].role == "chủ trì" and duties[2].role == "phối hợp"
    assert "Giải quyết thủ tục hành chính" in duties[1].task
    # hyphen instead of en dash, no accents: the same office
    assert d.find("phong tai chinh - ke hoach cam ranh")[1] == duties


def test_quang_nam_planning_department_has_its_four_and_is_not_ca_mau(directory):
    d, _ = directory
    qn = d.find("Sở Kế hoạch và Đầu tư Quảng Nam")[1]
    assert len(qn) == 4 and {x.source for x in qn} == {"quang-nam_cong-van-2651-ubnd-ktn_2020.txt"}
    assert d.find("Sở KH&ĐT tỉnh Quảng Nam")[1] == qn  # alias
    cm = d.find("so ke hoach va dau tu ca mau")[1]
    assert cm and {x.source for x in cm} == {"ca-mau_ke-hoach-kinh-te-tap-the.txt"}
    tasks = " ".join(x.task for x in cm)
    assert "là cơ quan quản lý nhà nước về kinh tế tập thể cấp tỉnh" in tasks
    yearly = [x for x in cm if "trước ngày 25 tháng 11" in x.task]
    assert yearly and yearly[0].role == "tiếp nhận" and yearly[0].deadline == "trước ngày 25 tháng 11 hàng năm"


def test_kon_tum_propaganda_board_leads_with_its_deadline(directory):
    d, _ = directory
    [duty] = d.find("Ban Tuyên giáo Tỉnh ủy Kon Tum")[1]
    assert duty.role == "chủ trì" and "quý IV-2022" in duty.deadline
    assert duty.section.endswith("1. Công tác tuyên truyền, phổ biến, quán triệt")


def test_distribution_lists_invent_no_tasks(directory):
    d, _ = directory
    assert all(not x.section.startswith("Nơi nhận") for x in d.duties)
    for only_listed in ("Cục Phát triển doanh nghiệp", "Văn phòng Trung ương Đảng", "Ban Kinh tế Trung ương"):
        assert d.find(only_listed)[1] == [], only_listed


def test_agency_keys_unify_spelling():
    assert agency_key("Phòng Văn hoá – Thông tin") == agency_key("phòng văn hóa - thông tin")
    assert agency_key("UBND các xã, phường") == agency_key("Ủy ban nhân dân các xã, phường")
    assert agency_key("Đề nghị UBMTTQ") == agency_key("Ủy ban Mặt trận Tổ quốc")


@pytest.mark.slow
def test_chat_answers_from_the_directory(assistant):
    answer = assistant.ask("phong tai chinh ke hoach cam ranh co nhiem vu gi")
    assert answer.mode == "directory" and len(answer.citations) == 1
    assert answer.answer.count("\n- ") == 3
    missing = assistant.ask("Sở Công Thương Cà Mau có nhiệm vụ gì?")
    assert missing.abstained and "không giao nhiệm vụ nào cho Sở Công Thương" in missing.answer


@pytest.mark.slow
def test_cli_json(corpus_index):
    settings, _, _ = corpus_index
    env = {**__import__("os").environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_MODEL_CACHE": str(MODEL_CACHE)}
    run = subprocess.run([sys.executable, "-m", "bot", "duties", "--json", "Sở Kế hoạch và Đầu tư",
                          "--document", "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(run.stdout)
    assert data["matches"] == ["so ke hoach va dau tu"] and len(data["duties"]) == 4
    assert set(data["duties"][0]) >= {"agency", "place", "role", "task", "deadline", "source", "title", "section"}
    listing = subprocess.run([sys.executable, "-m", "bot", "duties", "--json"], capture_output=True, text=True,
                             env=env, timeout=300)
    agencies = json.loads(listing.stdout)["agencies"]
    assert {"agency": "Phòng Tài chính – Kế hoạch", "place": "Cam Ranh, Khánh Hòa", "tasks": 3} in agencies
