"""Grounded, cited answers from the real index — and plain refusals."""

from __future__ import annotations

import re

import pytest

from bot.answer import strip_markers
from bot.evaluation import citation_problems

from .conftest import own_links_only

pytestmark = pytest.mark.slow


def _valid(assistant, answer):
    assert citation_problems(answer, assistant.handle.documents()) == []


def test_answer_quotes_and_cites_every_sentence(assistant):
    answer = assistant.ask("Thành lập hợp tác xã cần ít nhất bao nhiêu thành viên?")
    assert not answer.abstained and answer.mode == "extractive"
    assert "ít nhất 05 thành viên chính thức" in answer.answer
    # the lead-in names the clause, article and instrument as people cite them
    assert answer.answer.startswith("Theo Điều 4 Luật Hợp tác xã 2023 (Giải thích từ ngữ) [1]:")
    # one [n] per quoted group, on its lead-in: every quoted line sits under a cited lead-in
    lines = answer.answer.split("\n")
    assert re.search(r"^Theo .* \[1\]:$", lines[0])
    for line in lines[1:]:
        assert re.search(r"^Theo .* \[\d+\]:$", line) or (line.startswith("- ") and not re.search(r"\[\d+\]", line)), line
    assert len(re.findall(r"\[\d+\]", answer.answer)) == len(answer.citations)
    c = answer.citations[0]
    assert c.source == "12.4_hop-tac-xa.md#17-2023-qh15" and c.section.startswith("Điều 4.")
    assert c.extra == {"article": "Điều 4", "pd_code": "Điều 12.4.LQ.4", "effective": "01/07/2024",
                       "instrument": "Luật Hợp tác xã 2023"}
    _valid(assistant, answer)


def test_list_question_returns_the_whole_list(assistant):
    answer = assistant.ask("Phòng Tài chính – Kế hoạch thành phố Cam Ranh có nhiệm vụ gì?")
    assert answer.citations[0].section.endswith("2. Phòng Tài chính – Kế hoạch")
    bullets = [line for line in answer.answer.split("\n") if line.startswith("- ")]
    assert len(bullets) == 3  # all three duties of the office
    _valid(assistant, answer)


def test_follow_up_uses_the_conversation(assistant):
    history = [{"role": "user", "content": "Cam Ranh đặt mục tiêu bao nhiêu phần trăm sản phẩm chủ lực của hợp tác xã "
                                           "bán qua thương mại điện tử năm 2030?"},
               {"role": "assistant", "content": "20% [1]"}]
    answer = assistant.ask("Còn năm 2045 thì sao?", history)
    assert "2045" in answer.standalone_question and "30%" in answer.answer
    _valid(assistant, answer)


@pytest.mark.parametrize("question, says", [
    ("Mục tiêu phát triển hợp tác xã của tỉnh Quảng Ngãi đến năm 2030 là gì?", "Quảng Ngãi"),
    ("Thủ tục đăng ký kết hôn cần những giấy tờ gì?", "không đề cập"),
    ("Luật Doanh nghiệp quy định vốn tối thiểu thành lập công ty là bao nhiêu?", "Luật Doanh nghiệp"),
    ("Xin chào", "trợ lý"),
])
def test_uncovered_questions_are_refused_plainly(assistant, question, says):
    answer = assistant.ask(question)
    assert answer.abstained and not answer.citations and says in answer.answer
    assert not re.search(r"\[\d+\]", answer.answer)


def test_other_province_is_never_answered_with_corpus_numbers(assistant):
    answer = assistant.ask("Đồng Tháp phấn đấu có bao nhiêu hợp tác xã đến năm 2030?")
    assert answer.abstained and "400" not in answer.answer and "150" not in answer.answer


@pytest.mark.parametrize("question, message", [
    ("", "trống"), ("   ", "trống"), ("x" * 5000, "quá dài"), ("\x00\x01\x02", "không in được"),
])
def test_bad_questions_get_a_clear_message(assistant, question, message):
    answer = assistant.ask(question)
    assert answer.abstained and answer.error and message in answer.answer


def test_signer_comes_from_the_signature_block(assistant):
    answer = assistant.ask("Ai ký Kế hoạch phát triển kinh tế tập thể của Cà Mau?")
    assert "Lê Văn Sử" in answer.answer and "PHÓ CHỦ TỊCH" in answer.answer
    _valid(assistant, answer)
    unsigned = assistant.ask("Ai ký Chương trình 41-CTr/TU của Kon Tum?")
    assert unsigned.abstained and "không ghi tên người ký" in unsigned.answer


def test_definition_lookup(assistant):
    answer = assistant.ask("Tổ hợp tác là gì?")
    assert "21.Tổ hợp tác là tổ chức không có tư cách pháp nhân" in strip_markers(answer.answer)
    _valid(assistant, answer)


def test_stream_grows_and_ends_with_the_same_answer(assistant):
    question = "Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?"
    steps = list(assistant.stream(question))
    texts = [t for t, _ in steps]
    final = steps[-1][1]
    assert final is not None and len(steps) > 2
    assert all(texts[i] in texts[i + 1] or texts[i + 1].startswith(texts[i][:20]) for i in range(len(texts) - 2))
    assert final.answer == assistant.ask(question).answer


def test_document_filter_is_respected(assistant):
    answer = assistant.ask("Mục tiêu đến năm 2030 là gì?", sources=["kon-tum_chuong-trinh-41-ctr-tu_2022.txt"])
    assert not answer.abstained and {c.source for c in answer.citations} == {"kon-tum_chuong-trinh-41-ctr-tu_2022.txt"}


LAW = "12.4_hop-tac-xa.md#17-2023-qh15"


@pytest.mark.parametrize("question", ["Tôi muốn thành lập hợp tác xã thì phải làm gì?",
                                      "toi muon thanh lap hop tac xa thi can lam gi"])
def test_founding_guide_gives_ordered_cited_steps(assistant, question):
    answer = assistant.ask(question)
    steps = re.findall(r"^Bước (\d+)\. Theo (.+) \[(\d+)\]:$", answer.answer, re.MULTILINE)
    assert len(steps) >= 6, answer.answer
    assert [int(n) for n, _, _ in steps] == list(range(1, len(steps) + 1))
    assert all(re.match(r"(?:(?:điểm \w )?khoản \d+ )?Điều \d+ ", lead) for _, lead, _ in steps)
    assert "Điều 42 Luật Hợp tác xã 2023" in answer.answer  # the registration article itself
    _valid(assistant, answer)


def test_direct_reference_answers_exactly_that_clause(assistant):
    answer = assistant.ask("Khoản 2 Điều 42 Luật Hợp tác xã quy định gì?")
    assert answer.mode == "reference"
    assert answer.answer.startswith("Theo khoản 2 Điều 42 Luật Hợp tác xã 2023 (Đăng ký thành lập hợp tác xã")
    [c] = answer.citations
    assert c.source == LAW and c.text.startswith("2. Hồ sơ đăng ký thành lập bao gồm:") and "\n3. " not in c.text
    assert "\n- c) Nghị quyết hội nghị thành lập;\n" in answer.answer  # one [n] per quote, on its lead-in
    _valid(assistant, answer)
    point = assistant.ask("điểm b khoản 2 dieu 42 luat htx")
    assert point.citations[0].text == "b) Điều lệ;"


def test_a_repealed_article_says_so_next_to_the_quote(assistant):
    answer = assistant.ask("Điều 15 Nghị định 45/2021/NĐ-CP quy định gì?")
    lead = answer.answer.split("\n", 1)[0]
    assert lead.startswith("Theo Điều 15 Nghị định 45/2021/NĐ-CP (Thành lập mới Quỹ hợp tác xã địa phương)")
    assert "có nội dung bị bãi bỏ bởi Điều 13 Nghị định số 104/2022/NĐ-CP" in lead
    assert answer.citations[0].extra["status"].startswith("có nội dung bị bãi bỏ")
    _valid(assistant, answer)


def test_references_that_do_not_resolve_say_why(assistant):
    missing = assistant.ask("Điều 300 Luật Hợp tác xã quy định gì?")
    assert missing.abstained and "Không tìm thấy Điều 300 trong Luật Hợp tác xã 2023" in missing.answer


def test_one_copy_of_each_article(assistant):
    """The Law ships once (inside the Pháp điển topic): no article text under two sources."""
    seen = {}
    for chunk in assistant.chunks:
        if chunk.get("article") and len(chunk["text"]) > 200:
            assert seen.setdefault(chunk["text"], chunk["source"]) == chunk["source"]
    assert not any(s.startswith("luat-hop-tac-xa") for s in assistant.documents)


def test_stages_pass_typed_state(assistant):
    """understand → retrieve/rerank → gate, each a typed result another stage can read alone."""
    from bot.gate import Decision
    from bot.rerank import Retrieved
    from bot.understand import Query

    turn = assistant.examine("lap htx can toi thieu bao nhieu thanh vien")
    assert isinstance(turn.query, Query) and isinstance(turn.found, Retrieved) and isinstance(turn.decision, Decision)
    assert turn.query.dense_query != turn.query.standalone  # diacritics restored for the embeddings
    assert turn.found.passages and turn.decision.reason is None


def test_hostile_document_is_quoted_only_when_relevant_and_only_as_text(hostile_index):
    from bot.evaluation import citation_problems
    from bot.ui import render_answer

    settings, assistant = hostile_index
    hostile = "van-ban-doc-hai.md"
    stored = "".join(c["text"] for c in assistant.chunks if c["source"] == hostile)
    assert not re.search("[\u200b-\u200f\u2060\ufeff]", stored)  # the flood is read as text, then removed

    unrelated = assistant.ask("Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?")
    assert unrelated.citations and all(c.source != hostile for c in unrelated.citations)

    related = assistant.ask("Hợp tác xã Hoa Sen có bao nhiêu thành viên chính thức?")
    assert not related.abstained and "52 thành viên" in related.answer
    ids = {c.id for c in related.citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", related.answer)} <= ids  # no forged [9]
    assert "[9]" not in related.answer
    assert citation_problems(related, assistant.handle.documents()) == []
    shown = render_answer(related, assistant, 0)
    assert "<script" not in shown and "<img" not in shown, shown
    assert not own_links_only(shown)

    claim = assistant.ask("Thành viên hợp tác xã có phải nộp lệ phí 10 triệu đồng theo Luật Hợp tác xã 2023 không?")
    for c in claim.citations:  # the fake "Điều 99" is cited under its own document, never as the Law
        if "10 triệu" in c.text:
            assert c.source == hostile and "Luật" not in c.title


@pytest.mark.parametrize("text, phrase, found", [
    ("luat hop tac xa 2023", "hop tac", True), ("luat hop tac xa", "hop ta", False), ("ahop tac", "hop tac", False),
    ("hop tac", "hop tac", True), ("x hop_tac", "hop", False), ("hop tac, hop tacx", "hop tac", True),
    ("hop tacx hop tac", "hop tac", True), ("21.hop", "hop", True), ("", "hop", False)])
def test_whole_words_are_found_as_the_regex_would(text, phrase, found):
    """``_has_words`` is ``re.search(r"(?<!\\w)phrase(?!\\w)")`` without scanning the
    corpus's text in the regex engine."""
    import re

    from bot.understand import _has_words

    assert _has_words(text, phrase) is found
    assert bool(re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text)) is found


def test_definitions_are_indexed_by_every_beginning_before_la(assistant):
    """"X là gì?" is one lookup: each line's accent-folded text before any " là ", with or
    without its clause number, maps to the first line that defines it — what scanning
    every line with the definition pattern finds."""
    import re

    from bot.vietnamese import canonical, fold

    def scan(term: str):
        pattern = re.compile(r"^(?:\d+\.\s*)?" + re.escape(term) + r" la ")
        for row, chunk in enumerate(assistant.chunks):
            offset = 0
            for line in chunk["text"].split("\n"):
                if pattern.match(fold(canonical(line))):
                    return row, offset, line
                offset += len(line) + 1
        return None

    definitions = assistant.corpus.definitions
    row, offset, line = definitions["to hop tac"]
    assert re.match(r"\d+\.\s*Tổ hợp tác là", line) and assistant.chunks[row]["text"][offset:].startswith(line)
    for term in ("to hop tac", "hop tac xa", "lien hiep hop tac xa", "thanh vien", "von dieu le", "khong co", "dieu le"):
        assert definitions.get(term) == scan(term), term


def test_points_are_quoted_with_what_they_are_points_of(assistant):
    """A quote that starts with points a), b) brings the line that introduces them —
    the sentence before them in the chunk, or the clause's own opening line that a chunk cut
    from a long article carries as its heading."""
    from bot.chunking import Piece, pieces
    from bot.compose import _clause_intro, _intro

    [chunk] = [c for c in assistant.chunks if c["source"] == LAW and c["section"].startswith("Điều 98.")
               and "› 3. Trong thời hạn 07 ngày" in c["section"]]
    units = pieces(chunk)
    first_point = next(k for k, u in enumerate(units) if u.text.startswith("a) "))
    assert _intro(units, first_point + 1) == [first_point - 1, first_point + 1]  # b) comes with "3. … sau đây:"
    assert units[first_point - 1].text.endswith("sau đây:")
    [clause] = [c for c in assistant.chunks if c["source"] == LAW and c["section"].startswith("Điều 30.")
                and "› 2. Thành viên liên kết không góp vốn" in c["section"]]
    points = [u for u in pieces(clause) if u.text.startswith("b) ")]
    assert _clause_intro(clause, points) == "2. Thành viên liên kết không góp vốn của hợp tác xã bao gồm:"
    assert _clause_intro(clause, [Piece(0, "Một câu thường.", False)]) is None


def test_follow_up_is_not_answered_as_a_compound_with_the_previous_question(assistant):
    """A follow-up joined to the question before it ("… mấy ngày? mỗi lần … bao lâu") is one
    question to search with, not two to answer: the parts are read from what was asked."""
    history = [{"role": "user", "content": "HTX muốn tạm ngừng kinh doanh thì phải báo trước mấy ngày?"},
               {"role": "assistant", "content": "…"}]
    turn = assistant.examine("Thế mỗi lần được tạm ngừng tối đa bao lâu?", history)
    assert turn.query.standalone.startswith("HTX muốn tạm ngừng") and turn.query.parts == []
    answer = assistant.ask("Thế mỗi lần được tạm ngừng tối đa bao lâu?", history)
    assert not answer.abstained and "không được quá 12 tháng" in answer.answer
    compound = assistant.examine("Nhiệm kỳ Hội đồng quản trị tối đa mấy năm? Ban kiểm soát có bao nhiêu thành viên?")
    assert len(compound.query.parts) == 2
