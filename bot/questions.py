"""Understanding the question: clean-up, follow-ups, places, English terms, distinctive terms.

All of it is rule-based and offline. It feeds retrieval (what to search, in which
documents) and the evidence gate (which terms the evidence must cover).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from dataclasses import dataclass, field

from .vietnamese import canonical, fold, has_diacritics, lexical_tokens, nfc

MAX_QUESTION_CHARS = 2000
# Control and zero-width characters, and lone surrogates (not encodable as UTF-8: they
# used to surface as a TypeError when the question was sent back to the page).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff\ud800-\udfff]")

# Provinces and centrally-run cities (the 63 units the documents of 2020–2023 speak of)
# and a few cities, so that a question about a place the corpus does not cover is
# recognised instead of being answered with another province's numbers.
PLACES = [
    "An Giang", "Bà Rịa - Vũng Tàu", "Vũng Tàu", "Bạc Liêu", "Bắc Giang", "Bắc Kạn", "Bắc Ninh",
    "Bến Tre", "Bình Dương", "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng",
    "Cần Thơ", "Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai",
    "Hà Giang", "Hà Nam", "Hà Nội", "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình",
    "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lạng Sơn", "Lào Cai",
    "Lâm Đồng", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên",
    "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La",
    "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Huế", "Tiền Giang",
    "Hồ Chí Minh", "Sài Gòn", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
    "Cam Ranh", "Nha Trang", "Đà Lạt", "Buôn Ma Thuột", "Pleiku", "Quy Nhơn", "Phan Thiết",
    "Rạch Giá", "Hạ Long", "Biên Hòa", "Thủ Dầu Một", "Tam Kỳ", "Hội An", "Vinh",
]
_PLACE_PATTERNS = [(p, re.compile(r"(?<!\w)" + re.escape(fold(canonical(p))) + r"(?!\w)")) for p in PLACES]
# "Hòa Bình", "Vinh" are also ordinary words; only count them after an administrative noun.
_AMBIGUOUS_PLACES = {"Hòa Bình", "Vinh", "Huế"}
_ADMIN_NOUN = re.compile(r"(?:tinh|thanh pho|tp\.?|huyen|thi xa)\s+$")

_ENGLISH_HINTS = {"what", "how", "who", "which", "the", "is", "are", "does", "do", "of", "a", "an",
                  "in", "to", "for", "many", "much", "can", "should", "need", "needed", "i", "my"}
ENGLISH_STOPWORDS = _ENGLISH_HINTS | set("""
when where why was were did me we our you your it its this that these those be been by with on at from
as or and about there their have has get any must required require needs take takes under according
s tell please give list on into than
""".split())

# Words that carry no topic: question words, particles, pronouns, generic verbs. Written
# with accents: once folded, "hơn" and "hôn", "cần" and "cận" would collide, so accented
# questions are checked against this list and unaccented ones against its folded form.
STOPWORDS_ACCENTED = set("""
là gì nào như thế bao nhiêu có không những các của và cho về theo thì sao còn được để ai ở đâu khi
hay biết tôi muốn cần phải làm vậy à xin hỏi bạn mình em anh chị việc này đó một trong tại từ đến
với sẽ đã đang bị bởi hơn nhất nhé ạ ừ hả ơi đây kia ấy nhiều ít gồm thuộc người ra lên xuống nếu
mà mỗi từng cũng lại thêm nữa cách nên vì nói quy định văn bản đúng giao trách nhiệm nhiệm vụ lo
phụ trách trăm
""".split())
STOPWORDS = {fold(w) for w in STOPWORDS_ACCENTED}
# How Vietnamese questions are put: the documents never ask, so the accent restorer
# (bot/vietnamese.py) also reads these phrases — "bao nhieu" is "bao nhiêu", not the
# "báo nhiều" that legal text alone suggests. Language, not domain: no topic words.
QUESTION_PHRASES = """
bao nhiêu? bao nhiêu người? mấy người? là gì? là ai? như thế nào? thế nào? ra sao? ở đâu? đi đâu? khi nào?
bao giờ? bao lâu? mất bao lâu? có được không? được không? có phải không? phải không? có cần không?
có bắt buộc không? phải làm gì? cần làm gì? làm gì? làm sao? làm thế nào? những gì? gồm những gì?
cần những gì? tại sao? vì sao? có mấy loại? tối đa bao nhiêu? tối thiểu bao nhiêu? ít nhất bao nhiêu?
nhiều nhất bao nhiêu? ai được? ai phải? cho tôi hỏi, xin hỏi, vậy thì, còn thì sao? nếu muốn thì phải
"""
# How people ask, as data: the accented questions of the training set (tests/eval/
# training.jsonl, written by helpers from the documents; benchmarks/fit_adapter.py writes
# this file). With QUESTION_PHRASES they teach the accent restorer the question register the
# documents never use ("nộp mấy bộ" — not "máy", which "bộ máy" makes the documents' choice).
QUESTION_REGISTER_FILE = Path(__file__).with_name("question_register.txt")


def question_texts() -> list[str]:
    """Question-register text for the accent restorer, beside the documents' own."""
    register = QUESTION_REGISTER_FILE.read_text(encoding="utf-8") if QUESTION_REGISTER_FILE.exists() else ""
    return [QUESTION_PHRASES, register]


# Domain words every document is full of: they never make a question answerable alone.
GENERIC = set("""
hop tac xa kinh te tap the lien hiep thanh vien to chuc tinh thanh pho ke hoach chuong trinh
nghi quyet phat trien
""".split())

_FOLLOW_UP = re.compile(r"^(?:con|the con|vay con|va|con ve|ve)\b|\bthi sao\b|(?<!^)\bthe nao\b.*\?$|^(?:con )")
# "Thế …", "Vậy …", "Nếu vậy …" opening a question lean on the one before ("Thế mỗi lần
# được tạm ngừng tối đa bao lâu?"); read with diacritics only: folded, "vay" is also "vay
# vốn" and "the" "thẻ"; "Thế nào là …" asks on its own.
_FOLLOW_UP_OPENING = re.compile(r"^(?:thế thì|vậy thì|nếu vậy|như vậy|thế|vậy)\s+(?!nào\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_AGENCY = re.compile(
    r"\b(?:phong|so|ban|trung tam|uy ban nhan dan|ubnd|lien minh|mat tran|hoi dong)\b[^?,.;]*?"
    r"(?=\s+(?:co|thi|la|phai|duoc|can|lam|chiu|se)\b|[?,.;]|$)"
)
_FILLER = re.compile(r"^(?:còn|thế còn|vậy còn|và|thế thì|vậy thì|nếu vậy|như vậy|thế|vậy)\s+(?!nào\b)"
                     r"|\s*(?:thì sao|thế nào|ra sao)\s*\??\s*$", re.IGNORECASE)
_CHITCHAT = re.compile(
    r"^(?:xin chao|chao|hello|hi|cam on|thank|thanks|ban la ai|ban ten gi|who are you|tam biet|bye|ok|"
    r"alo|ban khoe khong|how are you)\b"
)


# Named legal instruments and taxes: "Luật Doanh nghiệp", "thuế thu nhập cá nhân", "Nghị
# định 45". When the corpus never names the instrument, the question is not covered, however
# many of its words the documents share.
_INSTRUMENT = re.compile(
    r"(?<!\w)(bo luat|luat|thue|nghi dinh|thong tu|quyet dinh|chi thi|nghi quyet|ket luan)\s+((?:so\s+)?[\w/.-]+(?:\s+[\w/.-]+){0,3})"
)


def named_instruments(question: str) -> list[tuple[str, str]]:
    """(surface text, folded phrase) of each named instrument in the question."""
    folded = fold(canonical(question))
    out = []
    for m in _INSTRUMENT.finditer(folded):
        words = []
        for w in m.group(2).split():
            if w in STOPWORDS and not re.search(r"\d", w) and w != "so":
                break
            words.append(w)
        numbered = [w for w in words if re.search(r"\d", w)]
        if numbered:
            phrase = numbered[0]
        elif len(words) >= 2:
            phrase = f"{m.group(1)} {' '.join(words)}"
        else:
            continue
        end = m.start(2) + len(" ".join(words))
        out.append((question[m.start():end], phrase))
    return out


class BadQuestion(ValueError):
    """A question that cannot be asked as it is; the message says what was wrong."""


def clean_question(raw: object) -> str:
    """NFC, control characters removed, whitespace collapsed; rejects empty or huge input."""
    if not isinstance(raw, str):
        raise BadQuestion("Câu hỏi phải là một chuỗi văn bản.")
    if len(raw) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"Câu hỏi quá dài ({len(raw):,} ký tự; tối đa {MAX_QUESTION_CHARS:,}). "
            "Vui lòng rút gọn câu hỏi.".replace(",", ".")
        )
    text = re.sub(r"\s+", " ", _CONTROL.sub(" ", nfc(raw))).strip()
    if not text and raw.strip():
        raise BadQuestion("Câu hỏi chỉ có ký tự không in được — vui lòng nhập nội dung cần hỏi.")
    if not text:
        raise BadQuestion("Câu hỏi trống — vui lòng nhập nội dung cần hỏi.")
    if not any(ch.isalnum() for ch in text):
        raise BadQuestion("Câu hỏi không có chữ hay số nào — vui lòng nhập nội dung cần hỏi.")
    return text


# English words that are also unaccented Vietnamese syllables ("the" = thế, "can" = cần).
_AMBIGUOUS_ENGLISH = {"the", "can", "to", "do", "an", "a", "in", "i", "my"}


def is_english(question: str) -> bool:
    words = re.findall(r"[a-z]+", question.lower())
    hints = sum(w in ENGLISH_STOPWORDS and w not in _AMBIGUOUS_ENGLISH for w in words)
    return bool(words) and fold(question) == question and hints >= 2


def is_chitchat(question: str) -> bool:
    return bool(_CHITCHAT.match(fold(canonical(question)))) and len(question) < 60


def places_in(text: str) -> list[str]:
    """Places (from :data:`PLACES`) named in the text, accents optional."""
    folded = fold(canonical(text))
    found = []
    for name, pattern in _PLACE_PATTERNS:
        for m in pattern.finditer(folded):
            if name in _AMBIGUOUS_PLACES and not _ADMIN_NOUN.search(folded[:m.start()]):
                continue
            found.append(name)
            break
    # "Bà Rịa - Vũng Tàu" also matches "Vũng Tàu": keep the longest names only
    return [p for p in found if not any(p != q and fold(canonical(p)) in fold(canonical(q)) for q in found)]


def standalone(question: str, history: list[dict] | None) -> str:
    """Rewrite a follow-up ("Còn năm 2045 thì sao?") into a question that stands alone.

    The previous user question supplies the frame; years, places and agencies named in the
    follow-up replace those of the frame. Without such slots the two are joined.
    """
    previous = next((m.get("content", "") for m in reversed(history or [])
                     if m.get("role") == "user" and str(m.get("content", "")).strip()), "")
    if not previous:
        return question
    f = fold(canonical(question))
    content = [t for t in f.replace("?", " ").split() if t not in STOPWORDS]
    if not (_FOLLOW_UP.search(f) or _FOLLOW_UP_OPENING.match(nfc(question)) or len(content) <= 2):
        return question
    previous = nfc(previous)
    core = _FILLER.sub("", _FILLER.sub("", question)).strip(" ?")
    frame = previous
    replaced = False
    new_years = _YEAR.findall(question)
    if new_years and _YEAR.search(frame):
        frame = _YEAR.sub(new_years[0], frame)
        replaced = True
    new_places = places_in(question)
    old_places = places_in(frame)
    if new_places and old_places:
        for old in old_places:
            frame = _replace_folded(frame, old, new_places[0])
        replaced = True
    new_agency = _AGENCY.search(fold(canonical(core)))
    old_agency = _AGENCY.search(fold(canonical(frame)))
    if new_agency and old_agency and not replaced:
        start, end = old_agency.span()
        agency_text = core[new_agency.start():new_agency.end()]
        frame = frame[:start] + agency_text + frame[end:]
        replaced = True
    return frame if replaced else f"{previous} {core}".strip()


def _replace_folded(text: str, old: str, new: str) -> str:
    """Replace ``old`` in ``text`` matching accent-insensitively (lengths are preserved by fold)."""
    folded = fold(canonical(text))
    i = folded.find(fold(canonical(old)))
    if i < 0:
        return text
    return text[:i] + new + text[i + len(old):]


@dataclass
class TermStats:
    """Document frequencies of folded tokens over the chunks: what makes a term distinctive."""

    n: int
    df: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_token_sets(cls, token_sets: list[set[str]]) -> "TermStats":
        """From each chunk's set of folded tokens (the assistant has them already)."""
        df: dict[str, int] = {}
        for tokens in token_sets:
            for token in tokens:
                df[token] = df.get(token, 0) + 1
        return cls(len(token_sets), df)

    def idf(self, token: str) -> float:
        return math.log((self.n + 1) / (self.df.get(token, 0) + 0.5))

    def weight(self, token: str) -> float:
        """IDF, with bigrams capped: a phrase is never more telling than its rarer word,
        and a bigram never seen in the corpus weighs like its commoner word (most such
        bigrams merely straddle two phrases, "mục tiêu 2030"). An unseen word weighs
        the most — the corpus does not speak of it."""
        if "_" not in token:
            return self.idf(token)
        a, b = token.split("_", 1)
        if token in self.df:
            return min(self.idf(token), max(self.idf(a), self.idf(b)))
        return min(self.idf(a), self.idf(b))


def content_terms(question: str, drop: set[str] | None = None) -> list[str]:
    """Folded unigrams and bigrams that carry the question's topic.

    Stop words never count; generic domain words ("hợp tác xã") count only when nothing
    else is asked ("Tổ hợp tác là gì?"); ``drop`` removes tokens already satisfied
    otherwise (a place that selected the documents).
    """
    drop = drop or set()
    accented = [t for t in lexical_tokens(question) if "_" not in t]
    stops = STOPWORDS_ACCENTED if has_diacritics(question) else STOPWORDS
    syll = [fold(t) if t not in stops else "\x00" for t in accented]  # \x00 marks a stop word
    keep = [t for t in syll if t != "\x00" and t not in drop and not (len(t) == 1 and not t.isdigit())]
    topical = [t for t in keep if t not in GENERIC]
    pairs = [(a, b) for a, b in zip(syll, syll[1:]) if "\x00" not in (a, b) and a not in drop and b not in drop]
    bigrams = [f"{a}_{b}" for a, b in pairs if not (a in GENERIC and b in GENERIC)]
    if not topical and not bigrams:
        topical, bigrams = keep, [f"{a}_{b}" for a, b in pairs]
    return list(dict.fromkeys(topical + bigrams))
