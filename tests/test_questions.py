"""Question understanding: clean-up, follow-ups, places, English, named instruments."""

import pytest

from bot.questions import BadQuestion, clean_question, content_terms, is_chitchat, is_english, named_instruments, places_in, standalone


@pytest.mark.parametrize("raw, message", [
    ("", "trống"), ("   \n\t ", "trống"), ("?!…", "không có chữ"), ("a" * 100_000, "quá dài"), (5, "chuỗi"),
])
def test_bad_questions_say_what_is_wrong(raw, message):
    with pytest.raises(BadQuestion, match=message):
        clean_question(raw)


def test_control_characters_and_decomposed_text_are_cleaned():
    import unicodedata

    raw = unicodedata.normalize("NFD", "Hợp\x00 tác\x1b xã\u200b  là gì?")
    assert clean_question(raw) == "Hợp tác xã là gì?"


def test_follow_up_replaces_year_place_or_agency():
    history = [{"role": "user", "content": "Mục tiêu của Kon Tum đến năm 2030 là gì?"},
               {"role": "assistant", "content": "…"}]
    assert standalone("Còn năm 2045 thì sao?", history) == "Mục tiêu của Kon Tum đến năm 2045 là gì?"
    assert standalone("Còn Cà Mau?", history) == "Mục tiêu của Cà Mau đến năm 2030 là gì?"
    agency = [{"role": "user", "content": "Phòng Kinh tế Cam Ranh có nhiệm vụ gì?"}]
    assert standalone("Còn Phòng Tài nguyên và Môi trường thì sao?", agency).startswith(
        "Phòng Tài nguyên và Môi trường")
    # a full question is left alone, and the first question has nothing to resolve
    assert standalone("Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?", history).startswith("Hồ sơ")
    assert standalone("Còn năm 2045 thì sao?", []) == "Còn năm 2045 thì sao?"


def test_follow_up_opened_by_the_or_vay_leans_on_the_previous_question():
    """"Thế …" / "Vậy …" opening a question continue the previous one; "Thế nào là …" and an
    unaccented "vay" (borrow) do not."""
    history = [{"role": "user", "content": "HTX muốn tạm ngừng kinh doanh thì phải báo trước mấy ngày?"}]
    for question in ("Thế mỗi lần được tạm ngừng tối đa bao lâu?", "Vậy mỗi lần báo tạm ngừng được nghỉ tối đa bao lâu?"):
        full = standalone(question, history)
        assert full.startswith("HTX muốn tạm ngừng kinh doanh") and "mỗi lần" in full and "Thế" not in full
    assert standalone("Thế nào là hợp tác xã chuyển đổi từ tổ hợp tác?", history) == \
        "Thế nào là hợp tác xã chuyển đổi từ tổ hợp tác?"
    assert standalone("vay von quy ho tro phat trien hop tac xa can dieu kien gi?", history).startswith("vay von")


def test_places_without_accents_and_ambiguous_names():
    assert places_in("muc tieu cua ca mau") == ["Cà Mau"]
    assert places_in("Tỉnh Bà Rịa – Vũng Tàu") == ["Bà Rịa - Vũng Tàu"]
    assert places_in("xây dựng hòa bình") == [] and places_in("tỉnh Hòa Bình") == ["Hòa Bình"]


def test_english_detection():
    assert is_english("How many members are needed to establish a cooperative?")
    assert not is_english("hop tac xa duoc ho tro tiep can von nhu the nao")


def test_named_instruments_and_chitchat():
    assert named_instruments("Luật Doanh nghiệp quy định gì?") == [("Luật Doanh nghiệp", "luat doanh nghiep")]
    assert named_instruments("Nghị quyết số 20-NQ/TW nói gì?")[0][1] == "20-nq/tw"
    assert is_chitchat("Xin chào") and not is_chitchat("Xin cho biết hồ sơ thành lập hợp tác xã")


def test_terms():
    assert "hon" in content_terms("Thủ tục đăng ký kết hôn")  # "hôn" is not the stop word "hơn"
    assert content_terms("Tổ hợp tác là gì?")  # generic words count when nothing else is asked
