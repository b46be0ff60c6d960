"""The Pháp điển reader on the real topic file shipped in documents/ and on two other topics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.chunking import chunk_document
from bot.documents import load_file
from bot.phapdien import CODE_HEADING, is_phapdien, parse_topic
from bot.vietnamese import nfc

from .conftest import DOCUMENTS, FIXTURES

TOPIC = DOCUMENTS / "12.4_hop-tac-xa.md"
OTHER_TOPICS = ["hanh-chinh-tu-phap__quoc-tich-viet-nam.md", "to-chuc-chinh-tri-xa-hoi-hoi__hoat-dong-chu-thap-do.md"]


@pytest.fixture(scope="module")
def instruments():
    return {d.source.split("#", 1)[1]: d for d in load_file(TOPIC, TOPIC.name)}


def _body_codes(path: Path) -> list[str]:
    """Every article code heading of the body, read independently of the reader: at the
    start of a line or glued after a sentence, never in the trailing heading index."""
    text = nfc(path.read_text(encoding="utf-8"))
    body = text.split("## Danh sách điều khoản", 1)[0]
    codes = []
    for line in body.split("\n"):
        if not line.strip().startswith("("):  # cross-reference lines name other articles
            codes += re.findall(r"(?:^\s*|(?<=[.;:)])\s?)Điều\s+(\d+\.\d+\.[A-ZĐ]+(?:\.\d+[a-z]?)+)\.(?:\s|$)", line)
    return codes


def test_every_article_of_the_body_is_found_with_its_instrument(instruments):
    codes = _body_codes(TOPIC)
    assert len(codes) >= 340 and len(set(codes)) == len(codes)
    found = {u.meta["pd_code"].removeprefix("Điều "): (d, u) for d in instruments.values() for u in d.units}
    assert set(codes) <= set(found)
    assert len(found) == len(codes)  # nothing from the heading index at the end
    for doc, unit in found.values():
        assert unit.number and unit.meta["article"] == f"Điều {unit.number}"
        assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", unit.meta["effective"]), unit
        assert doc.text[unit.start:unit.end].startswith(unit.meta["pd_code"])


def test_the_instrument_list(instruments):
    short = {k: (d.metadata["short_title"], d.metadata.get("date"), d.metadata.get("effective"), d.metadata.get("issuer"))
             for k, d in instruments.items()}
    assert short["17-2023-qh15"] == ("Luật Hợp tác xã 2023", "20/06/2023", "01/07/2024", "Quốc hội")
    assert short["92-2024-nd-cp"] == ("Nghị định 92/2024/NĐ-CP", "18/07/2024", "18/07/2024", "Chính phủ")
    assert short["45-2021-nd-cp"][:2] == ("Nghị định 45/2021/NĐ-CP", "31/03/2021")
    assert short["77-2019-nd-cp"][:2] == ("Nghị định 77/2019/NĐ-CP", "10/10/2019")
    assert short["09-2024-tt-bkhdt"][3] == "Bộ Kế hoạch và Đầu tư"
    assert short["52-2022-tt-btc"][1:] == ("12/08/2022", "01/10/2022", "Bộ Tài chính")
    assert {"83-2015-tt-btc", "124-2021-tt-btc", "31-2018-tt-btc", "13-2022-tt-bldtbxh", "09-2017-tt-bnnptnt"} <= set(short)
    assert instruments["92-2024-nd-cp"].title == "Nghị định 92/2024/NĐ-CP về đăng ký tổ hợp tác, hợp tác xã, liên hiệp hợp tác xã"
    assert len(instruments["17-2023-qh15"].units) >= 110


def _unit(doc, number):
    return next(u for u in doc.units if u.number == number)


def test_a_sample_of_articles_against_the_file(instruments):
    raw = nfc(TOPIC.read_text(encoding="utf-8"))
    nd92 = _unit(instruments["92-2024-nd-cp"], "34")
    assert nd92.meta["pd_code"] == "Điều 12.4.NĐ.3.34" and nd92.meta["effective"] == "18/07/2024"
    assert nd92.label.startswith("Điều 34. Hồ sơ, trình tự, thủ tục đăng ký thành lập hợp tác xã")
    repealed = _unit(instruments["45-2021-nd-cp"], "15")
    assert repealed.meta["status"] == ("có nội dung bị bãi bỏ bởi Điều 13 Nghị định số 104/2022/NĐ-CP "
                                       "có hiệu lực thi hành kể từ ngày 01/01/2023")
    law4 = _unit(instruments["17-2023-qh15"], "4")
    text = instruments["17-2023-qh15"].text[law4.start:law4.end]
    assert "ít nhất 05 thành viên chính thức" in text and law4.meta["pd_code"] == "Điều 12.4.LQ.4"
    # a heading glued to the previous article's last sentence is still its own article
    glued = _unit(instruments["83-2015-tt-btc"], "16")
    body = instruments["83-2015-tt-btc"].text[glued.start:glued.end]
    assert body.split("\n")[1].startswith("Hợp tác xã, liên hiệp hợp tác xã thực hiện đầy đủ các quy định pháp luật về thuế")
    assert "tạm ứng.Điều 12.4.TT.1.16" in raw  # (as printed)
    # cross-references are links, not text
    linked = [u for d in instruments.values() for u in d.units if "Điều 12.4.LQ.107" in u.meta.get("links", "")]
    assert len(linked) >= 10
    for d in instruments.values():
        assert "có nội dung liên quan đến" not in d.text
        assert not re.search(r"^\(Điều \d+ (?:Luật|Nghị định|Thông tư|Quyết định) số", d.text, re.MULTILINE)


def test_no_chunk_from_front_matter_metadata_table_or_heading_index(instruments):
    chunks = [c for d in instruments.values() for c in chunk_document(d)]
    assert 500 <= len(chunks) <= 1000
    for c in chunks:
        assert "Đang cập nhật" not in c.text and "layout:" not in c.text and "permalink" not in c.text
        assert not re.search(r"^#{0,3}\s*\d{15,}", c.text, re.MULTILINE)
        assert "Danh sách điều khoản" not in c.text
        assert c.extra["pd_code"] and c.section.startswith(c.extra["article"] + ".")
        assert not c.section.startswith("Chương")  # topic chapters are not an instrument's chapters


@pytest.mark.parametrize("name", OTHER_TOPICS)
def test_other_topics_are_read_the_same_way(name):
    path = FIXTURES / name
    lines = [nfc(line) for line in path.read_text(encoding="utf-8").split("\n")]
    assert is_phapdien(lines)
    meta, articles, instruments = parse_topic(lines)
    assert meta["title"] and len(articles) >= 80
    assert all(a.instrument for a in articles)
    docs = load_file(path, name)
    assert len(docs) == len({a.instrument for a in articles}) >= 3
    kinds = {d.metadata["kind"] for d in docs}
    assert "Luật" in kinds and kinds & {"Nghị định", "Thông tư", "Thông tư liên tịch"}
    for d in docs:
        assert d.source.startswith(f"{name}#") and d.metadata["number"] in d.title
        assert all(CODE_HEADING.match(d.text[u.start:u.end].split("\n", 1)[0]) for u in d.units)


def test_an_ordinary_file_is_not_taken_for_a_topic():
    lines = (DOCUMENTS / "cam-ranh_ke-hoach-thuc-hien-ctr-46.md").read_text(encoding="utf-8").split("\n")
    assert not is_phapdien(lines)


def test_instruments_whose_numbers_fold_alike_keep_apart():
    """The criminal-law topic holds "01/2016/NQ-HĐTP" and "01/2016/NQ.HĐTP": one slug.
    Each instrument needs its own source id, or indexing one replaces the other (a
    re-index of the 46 topics then never found the index up to date)."""
    name = "hinh-su__hinh-su.md"
    docs = load_file(FIXTURES / name, name)
    sources = [d.source for d in docs]
    assert len(sources) == len(set(sources))
    twins = [d for d in docs if d.metadata.get("number", "").startswith("01/2016/NQ")]
    assert sorted(d.source for d in twins) == [f"{name}#01-2016-nq-hdtp", f"{name}#01-2016-nq-hdtp-2"]
