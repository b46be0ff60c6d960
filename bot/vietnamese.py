"""Vietnamese text helpers shared by every stage: normalisation, accent folding, tokens.

Why one module: the same normalisation must be applied to documents when they are
indexed and to questions when they are asked, or matching silently breaks (NFD vs NFC,
"uỷ" vs "ủy", "HTX" vs "hợp tác xã", "–" vs "-").
"""

from __future__ import annotations

import re
import unicodedata

# Dashes that occur in agency names ("Phòng Tài chính – Kế hoạch"): all mean "-".
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASH_RE = re.compile(f"[{DASHES}]")

# Abbreviations that officials write and citizens type; expanded for lexical matching.
ABBREVIATIONS: dict[str, str] = {
    "htx": "hợp tác xã",
    "thtx": "tổ hợp tác",
    "lhhtx": "liên hiệp hợp tác xã",
    "kttt": "kinh tế tập thể",
    "ubnd": "ủy ban nhân dân",
    "hđnd": "hội đồng nhân dân",
    "mttq": "mặt trận tổ quốc",
    "ubmttq": "ủy ban mặt trận tổ quốc",
    "ubmttqvn": "ủy ban mặt trận tổ quốc việt nam",
    "nq": "nghị quyết",
    "ctr": "chương trình",
    "kh": "kế hoạch",
    "tw": "trung ương",
    "qđ": "quyết định",
    "nn&ptnt": "nông nghiệp và phát triển nông thôn",
    "kh&đt": "kế hoạch và đầu tư",
    "tp": "thành phố",
}

_ABBREVIATION_RE = re.compile(
    r"(?<![\w/&-])(" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w/&-])",
    re.IGNORECASE)


def expand_abbreviations(text: str) -> str:
    """"lập HTX" → "lập hợp tác xã" for what the embeddings read (they do not know the
    abbreviations); a document code such as "41-CTr/TU" is left alone."""
    return _ABBREVIATION_RE.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)


# Old-style tone placement ("hoá", "uỷ", "hoà") → new style ("hóa", "ủy", "hòa").
# Only open syllables differ (no final consonant), and "qu" + y is a consonant cluster.
_TONES = {
    "a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ",
}
_TONED_O = "òóỏõọ"
_TONED_U = "ùúủũụ"
_OLD_STYLE: dict[str, str] = {}
for _i in range(5):
    _OLD_STYLE["o" + _TONES["a"][_i]] = _TONED_O[_i] + "a"
    _OLD_STYLE["o" + _TONES["e"][_i]] = _TONED_O[_i] + "e"
    _OLD_STYLE["u" + _TONES["y"][_i]] = _TONED_U[_i] + "y"
_OLD_STYLE_RE = re.compile(
    r"(?<![qQ])(" + "|".join(_OLD_STYLE) + r")(?![\wđ])", re.IGNORECASE
)

_WORD_RE = re.compile(r"[\w&]+(?:[./-][\w&]+)*", re.UNICODE)


def nfc(text: str) -> str:
    """NFC-normalise: decomposed diacritics (common in text from Mac/Word) break matching."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Strip diacritics ("hợp tác xã" → "hop tac xa") for the accent-folded channel."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (so the user typed accents)."""
    return fold(text) != text


def modern_tones(text: str) -> str:
    """Move old-style tone marks to the modern position ("uỷ" → "ủy", "hoá" → "hóa")."""

    def repl(m: re.Match[str]) -> str:
        old = m.group(1)
        new = _OLD_STYLE[old.lower()]
        return new.upper() if old.isupper() else (new[0].upper() + new[1:] if old[0].isupper() else new)

    return _OLD_STYLE_RE.sub(repl, text)


def canonical(text: str) -> str:
    """The form used for matching: NFC, modern tones, lower case, one kind of dash."""
    return _DASH_RE.sub("-", modern_tones(nfc(text))).lower()


def syllables(text: str) -> list[str]:
    """Lower-cased syllables with abbreviations expanded ("các HTX" → các hợp tác xã)."""
    out: list[str] = []
    for word in _WORD_RE.findall(canonical(text)):
        expansion = ABBREVIATIONS.get(word)
        if expansion:
            out.extend(expansion.split())
            continue
        # "20-NQ/TW" stays one token too, so document numbers match exactly.
        parts = re.split(r"[./-]", word) if re.search(r"[./-]", word) else [word]
        if len(parts) > 1:
            out.append(word)
        for part in parts:
            if part:
                exp = ABBREVIATIONS.get(part)
                out.extend(exp.split() if exp else [part])
    return out


def lexical_tokens(text: str, folded: bool = False) -> list[str]:
    """Syllables plus syllable bigrams ("hợp_tác", "tác_xã"): Vietnamese words span syllables.

    With ``folded`` the tokens are accent-folded, so "hop tac xa" finds "hợp tác xã".
    """
    sy = syllables(text)
    if folded:
        sy = [fold(s) for s in sy]
    return sy + [f"{a}_{b}" for a, b in zip(sy, sy[1:])]


class AccentRestorer:
    """Puts the diacritics back on a question typed without them, from the corpus itself.

    Each unaccented syllable could be several accented ones ("hop" → hợp, họp, hộp); the
    choice is the sequence the documents make most likely (a syllable bigram model of the
    loaded corpus, add-k smoothed, decoded with Viterbi). "nop ho so lap htx" → "nộp hồ
    sơ lập htx". The embeddings read accented Vietnamese far better than folded text, and
    nothing here is a word list: documents added later bring their own vocabulary.
    """

    def __init__(self, texts: list[str]):
        import math

        self._log = math.log
        self.unigram: dict[str, int] = {}
        self.bigram: dict[tuple[str, str], int] = {}
        self.candidates: dict[str, list[str]] = {}
        for text in texts:
            words = _SYLLABLE.findall(canonical(text))
            for a, b in zip(["<s>"] + words, words):
                self.bigram[(a, b)] = self.bigram.get((a, b), 0) + 1
            for w in words:
                self.unigram[w] = self.unigram.get(w, 0) + 1
        for w in self.unigram:
            self.candidates.setdefault(fold(w), []).append(w)
        self.total = sum(self.unigram.values()) or 1
        # per preceding syllable: (bigram occurrences, distinct followers)
        self.following: dict[str, tuple[int, int]] = {}
        for (a, _), n in self.bigram.items():
            seen, distinct = self.following.get(a, (0, 0))
            self.following[a] = (seen + n, distinct + 1)

    def _score(self, prev: str, word: str) -> float:
        """log P(word | prev), Witten-Bell interpolation of bigram and unigram: no knob."""
        p_word = (self.unigram.get(word, 0) + 0.5) / (self.total + 0.5 * len(self.unigram))
        count_prev = self.following.get(prev, (0, 0))
        if not count_prev[0]:
            return self._log(p_word)
        seen, distinct = count_prev
        weight = seen / (seen + distinct)
        return self._log(weight * self.bigram.get((prev, word), 0) / seen + (1 - weight) * p_word)

    def restore(self, text: str) -> str:
        """The text with diacritics restored where the corpus knows the syllable; text that
        already carries diacritics is returned unchanged."""
        if has_diacritics(text):
            return text
        tokens = re.split(r"(\w+)", text)
        words = [i for i, t in enumerate(tokens) if t and _SYLLABLE.fullmatch(t.lower())]
        # Viterbi over the words (non-words between them are kept as they are)
        previous = {"<s>": (0.0, [])}
        for i in words:
            options = self.candidates.get(tokens[i].lower()) or [tokens[i].lower()]
            current = {}
            for option in options:
                current[option] = max(((score + self._score(prev, option), path + [option])
                                       for prev, (score, path) in previous.items()), key=lambda x: x[0])
            previous = current
        if not words:
            return text
        _, best = max(previous.values(), key=lambda x: x[0])
        for i, word in zip(words, best):
            original = tokens[i]
            tokens[i] = word.capitalize() if original[:1].isupper() else word
        return "".join(tokens)


_SYLLABLE = re.compile(r"[a-zà-ỹđ]+")
