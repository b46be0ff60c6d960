import unicodedata

from bot.vietnamese import canonical, fold, has_diacritics, lexical_tokens, modern_tones, nfc, syllables


def test_nfc_composes_decomposed_text():
    decomposed = unicodedata.normalize("NFD", "hợp tác xã")
    assert decomposed != "hợp tác xã"
    assert nfc(decomposed) == "hợp tác xã"


def test_fold_removes_all_diacritics_including_d():
    assert fold("Hợp tác xã Đồng Tâm") == "Hop tac xa Dong Tam"
    assert has_diacritics("hợp tác") and not has_diacritics("hop tac")


def test_old_style_tones_are_modernised_but_not_qu():
    assert modern_tones("Tỉnh uỷ Khánh Hoà, chuyển đổi số hoá") == "Tỉnh ủy Khánh Hòa, chuyển đổi số hóa"
    assert modern_tones("quý") == "quý"
    assert modern_tones("hoàn thành") == "hoàn thành"  # closed syllable: same in both styles


def test_canonical_unifies_dashes_and_case():
    assert canonical("Phòng Tài chính – Kế hoạch") == canonical("phòng tài chính - kế hoạch")
    assert canonical("Phòng Tài chính — Kế hoạch") == "phòng tài chính - kế hoạch"


def test_abbreviations_expand_for_matching():
    assert syllables("các HTX") == ["các", "hợp", "tác", "xã"]
    assert "ủy" in syllables("UBND tỉnh")
    tokens = lexical_tokens("Nghị quyết 20-NQ/TW")
    assert "20-nq/tw" in tokens and "nghị_quyết" in tokens


def test_folded_tokens_match_unaccented_typing():
    assert set(lexical_tokens("hop tac xa", folded=True)) <= set(lexical_tokens("Hợp tác xã", folded=True))
    assert "hop_tac" in lexical_tokens("Hợp tác xã", folded=True)
