"""The gate's word evidence: the loaded documents' words against law in general."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.corpus import syllable_counts
from bot.gate import DomainWords, features, read_background_words

pytestmark = pytest.mark.slow


def test_background_words_ship_with_the_package():
    background = read_background_words()
    assert len(background) > 20_000
    assert background["ket hon"] > 0 and background["hop tac xa"] == 0  # the cooperative topic is not in it


def test_word_evidence_points_to_the_documents_side_or_away(assistant):
    words = assistant.corpus.domain_words
    assert words.ratio("hop tac") > 2  # the documents' own words
    assert words.ratio("ket hon") < -1  # frequent in law in general, absent here
    assert abs(words.ratio("zzqx")) < 1e-9  # a word neither side has says nothing
    inside, _ = words.evidence("Thành lập hợp tác xã cần bao nhiêu thành viên?")
    outside, lowest = words.evidence("Thủ tục đăng ký kết hôn với người nước ngoài?")
    assert inside > outside and lowest < -1


def test_added_documents_bring_their_words():
    """The documents' side is counted from whatever is loaded, not fixed."""
    background = Counter({"ket": 50, "hon": 50, "ket hon": 40, "thu": 30, "tuc": 30, "thu tuc": 20})
    before = DomainWords(syllable_counts("hợp tác xã thành viên"), background)
    after = DomainWords(syllable_counts("hợp tác xã thành viên. Đăng ký kết hôn tại Ủy ban"), background)
    assert after.ratio("ket hon") > before.ratio("ket hon")


def test_english_questions_carry_no_word_evidence():
    f = features([], set(), [], False, 0.1, [0.8], english=True, domain=(-3.0, -5.0))
    assert f["domain_mean"] == 0.0 and f["domain_min"] == 0.0
