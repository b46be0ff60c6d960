"""The agency register: who must do what, extracted from every document at indexing time.

A top-k retriever returns a few passages; an official asking "what was my agency
assigned?" needs all of them, under whatever name the documents use for the agency.
Each assignment becomes a :class:`Duty` with the agency as written (``agency``), the ONE
canonical agency it names (``canonical``: "Ủy ban nhân dân cấp huyện", "Sở Kế hoạch và Đầu
tư", "Liên minh Hợp tác xã tỉnh"), its ``level`` (Trung ương / Tỉnh / Huyện / Xã) and
``group``, the place of the document (a separate field: place names never enter a
canonical name), the ``role`` ("chủ trì", "phối hợp", "đề nghị", "thực hiện", "tiếp nhận"),
the ``deadline`` and ``frequency`` the text gives, and the task verbatim with its offsets,
so it can be cited like any passage.

How an agency phrase becomes a canonical agency (:func:`resolve_agency`) — one general
mechanism, no per-question rule: NFC, modern tone marks (uỷ → ủy), one kind of dash,
the abbreviations officials write (UBND, HĐND, UBMTTQ, HTX, KH&ĐT, NN&PTNT, TC-KH …)
expanded, the titles of an agency's head dropped ("Chủ tịch UBND …" is the People's
Committee, "Thủ trưởng các sở" the departments, "Bộ trưởng Bộ …" the ministry), place
names dropped; then the kind of body is read from its head word (Ủy ban nhân dân, Sở,
Phòng, Bộ, Liên minh hợp tác xã, Mặt trận, …) and the level from its level words ("cấp
huyện", "các huyện, thị xã, thành phố", "xã, phường, thị trấn", "cấp tỉnh", "tỉnh, thành
phố trực thuộc trung ương"), or from the document itself (a provincial plan's "Liên minh
Hợp tác xã" is the province's; Cam Ranh, a district-level city, means its own level by
"thành phố"). "các cấp" names every level ("Ủy ban nhân dân các cấp" gives the province,
the district and the commune a duty each), and "hệ thống Liên minh hợp tác xã Việt Nam" /
"Liên minh hợp tác xã các cấp" both the central and the provincial alliance. A list of
agencies ("Các Sở, Ban, ngành, đơn vị liên quan và UBND các huyện, thị xã, thành phố") is
split where a new agency begins, never inside a name ("Sở Kế hoạch và Đầu tư").

What is not an agency is left out of the register (decisions, stated once):

* the bodies inside a cooperative that the Law describes (Đại hội thành viên, Hội đồng quản
  trị and its Chủ tịch, Giám đốc, Ban kiểm soát, kiểm soát viên, Ban điều hành …) and the
  cooperatives themselves: they are the regulated, not the administration an official
  looks up; questions about them are answered from the Law by retrieval;
* vague addressees ("các cơ quan, đơn vị liên quan", "cơ quan có thẩm quyền", "địa phương");
* the press is kept only as an assignee: Quảng Nam's letter asks "Báo Quảng Nam, Đài Phát
  thanh - Truyền hình Quảng Nam" to inform, Cà Mau's plan tells "cơ quan thông tấn, báo
  chí" to; they are listed in their own group ("Cơ quan báo chí, truyền thông"), never
  mixed with the state agencies;
* party bodies are kept in their own group ("Tổ chức Đảng"): Kon Tum's programme is the
  provincial Party Committee's, and its assignees are party bodies (Ban Tuyên giáo Tỉnh
  ủy, Ban cán sự đảng Ủy ban nhân dân tỉnh, huyện ủy, thành ủy).

How assignments are found, over the document outline (the chunker's):

1. a section whose heading is an agency list ("2. Sở Kế hoạch và Đầu tư", "7. Đề nghị
   UBMTTQ…", "4. Ủy ban nhân dân các cấp", "3. Hệ thống Liên minh hợp tác xã Việt Nam có
   nhiệm vụ sau đây:", "1. Đối với Quỹ hợp tác xã trung ương:") or a responsibility
   ("Điều 53. Trách nhiệm của Bộ Kế hoạch và Đầu tư", "2. Quyền hạn, trách nhiệm của Liên
   minh Hợp tác xã Việt Nam:"): every item under it with no subject of its own is a task
   of those agencies;
2. a clause whose subject is an agency list followed by its predicate ("Ban Tuyên giáo Tỉnh
   ủy chủ trì, …; các huyện ủy, thành ủy … triển khai thực hiện", "Chậm nhất vào ngày 15
   tháng 01 hàng năm, Ủy ban nhân dân cấp huyện tổng hợp …");
3. agencies named after "phối hợp (với)" (support), "giao" (assigned) and "gửi" (they
   receive the report).

Roles: "chủ trì" when the agency leads ("X chủ trì", an item "Chủ trì, phối hợp …" under X,
"giao X chủ trì"), "phối hợp" for the agencies named after "phối hợp (với)" and for an
agency whose own task is to coordinate, "đề nghị" for what is requested ("Đề nghị
UBMTTQ…"), "tiếp nhận" for the receiver of a report, otherwise "thực hiện". Deadlines
("trước ngày 25 tháng 11 hàng năm", "chậm nhất vào ngày 15/12 hằng năm", "quý IV-2022",
"trong năm 2025", "giai đoạn 2021 - 2025", "trong thời hạn 6 tháng kể từ …") and
frequencies ("hằng năm", "định kỳ 6 tháng", "hằng quý", "thường xuyên") are read from the
task, else inherited from the nearest heading that gives one.

Distribution lists ("Nơi nhận") and the issuing formula ("… ban hành Kế hoạch … như sau:")
are never read as assignments.

The register (:class:`Directory`): ``find(query, sources)`` (any phrasing, accents optional,
a place in the query keeps that place's documents), ``suggest(query, n)`` (nearest agencies
by character trigrams when ``find`` gives nothing), ``groups()``, ``agency_options()`` (the
dropdown), ``agencies()`` (per place, for the CLI), ``register()``, ``phrasings(canonical)``.
It is saved at index time (``duties.jsonl``, FORMAT 2: a header line); a file of the
previous format still loads, re-derived from each row's agency text, with ``stale`` set.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache, cache

from .chunking import _LEGAL_ARTICLE, _label, _Node, _outline
from .documents import SourceDocument
from .questions import PLACES, places_in
from .vietnamese import DASHES, fold, modern_tones, nfc

FORMAT = 2  # duties.jsonl layout: 2 = a header line, then rows with canonical/level/group/frequency
LEVELS = ("Trung ương", "Tỉnh", "Huyện", "Xã")
GROUPS = ("Bộ, ngành Trung ương", "Ủy ban nhân dân", "Hội đồng nhân dân", "Sở, ngành", "Phòng, ban cấp huyện",
          "Mặt trận và đoàn thể", "Liên minh hợp tác xã", "Tổ chức Đảng", "Cơ quan báo chí, truyền thông",
          "Cơ quan khác")
ROLES = ("chủ trì", "thực hiện", "đề nghị", "phối hợp", "tiếp nhận")  # strongest first
TW, TINH, HUYEN, XA = LEVELS
_BY_LEVEL_GROUP = {TW: "Bộ, ngành Trung ương", TINH: "Sở, ngành", HUYEN: "Phòng, ban cấp huyện", XA: "Cơ quan khác"}


@dataclass
class Duty:
    agency: str  # the agency as written in the document
    key: str  # the canonical agency, accent-folded: what lookups compare
    place: str  # the province/city of the document ("Cam Ranh, Khánh Hòa"; "toàn quốc")
    role: str  # chủ trì | phối hợp | đề nghị | thực hiện | tiếp nhận
    task: str  # verbatim from the normalised document
    deadline: str | None
    source: str
    title: str
    section: str
    start: int
    end: int
    canonical: str = ""  # "Ủy ban nhân dân cấp huyện", "Sở Kế hoạch và Đầu tư"
    level: str = ""  # Trung ương | Tỉnh | Huyện | Xã
    group: str = ""  # one of GROUPS
    frequency: str | None = None  # "hằng năm", "định kỳ 6 tháng", "hằng quý", "thường xuyên"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("key")
        return data


@dataclass(frozen=True)
class Agency:
    canonical: str
    level: str
    group: str


# ------------------------------------------------------------------ normalising --

_DASH_RE = re.compile(f"[{DASHES}]")
_D = "[ĐđDd]"
# Abbreviations in agency names, expanded in the case a name is written in ("Sở KH&ĐT" =
# "Sở Kế hoạch và Đầu tư"); unaccented spellings ("hdnd", "kh&dt") are the same abbreviations.
_ABBREVIATIONS = [(re.compile(r"(?<![\w&])(?:" + pattern + r")(?![\w&])", re.IGNORECASE), full) for pattern, full in (
    (rf"KH\s*[&-]\s*{_D}T|KH{_D}T", "Kế hoạch và Đầu tư"),
    (r"NN\s*[&-]\s*PTNT|NNPTNT", "Nông nghiệp và Phát triển nông thôn"),
    (r"TC\s*-\s*KH", "Tài chính - Kế hoạch"),
    (r"TN\s*[&-]\s*MT|TNMT", "Tài nguyên và Môi trường"),
    (r"TT\s*&\s*TT|TTTT", "Thông tin và Truyền thông"),
    (rf"L{_D}\s*-?\s*TB\s*[&-]\s*XH|L{_D}TBXH", "Lao động - Thương binh và Xã hội"),
    (r"VH\s*[&-]\s*TT", "Văn hóa - Thông tin"),
    (r"UBMTTQ\s*VN|UBMTTQVN", "Ủy ban Mặt trận Tổ quốc Việt Nam"),
    (r"UBMTTQ", "Ủy ban Mặt trận Tổ quốc"),
    (r"MTTQ\s*VN|MTTQVN", "Mặt trận Tổ quốc Việt Nam"),
    (r"MTTQ", "Mặt trận Tổ quốc"),
    (r"UBND", "Ủy ban nhân dân"),
    (rf"H{_D}ND", "Hội đồng nhân dân"),
    (r"LM\s*HTX|LMHTX", "Liên minh Hợp tác xã"),
    (r"LHHTX", "liên hiệp hợp tác xã"),
    (r"HTX", "hợp tác xã"),
    (r"NHNN", "Ngân hàng Nhà nước"),
    (r"TW", "Trung ương"),
    (r"TP\.?|Tp\.?", "thành phố"),
)]


def _tidy(text: str, plain: bool = False) -> str:
    """An agency phrase as displayed: NFC, modern tones, abbreviations expanded, "–" dashes.
    ``plain``: a question typed without accents, whose abbreviations expand without them too
    ("lien minh htx tinh" → "lien minh hop tac xa tinh")."""
    t = modern_tones(nfc(text)).replace("*", " ").replace("#", " ")
    t = _DASH_RE.sub("-", t)
    for pattern, full in _ABBREVIATIONS:
        t = pattern.sub(fold(full) if plain else full, t)
    t = re.sub(r"\s*-\s*(?=\S)", " – ", t)
    return re.sub(r"\s+", " ", t).strip(" ,;:.–-")


def _fold(text: str) -> str:
    """Lower case without accents, the same length as ``text`` (positions line up)."""
    out = fold(text.lower())
    return out if len(out) == len(text) else "".join((fold(c.lower()) or " ")[0] for c in text)


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[-–,]", " ", _fold(text))).strip()


def agency_key(name: str) -> str:
    """Normalised agency phrase: modern tones, one dash, abbreviations expanded, accents folded."""
    k = _key(_tidy(name))
    return re.sub(r"^(?:de nghi|cac)\s+", "", k).strip(" ,.;:")


# ------------------------------------------------------------------ resolving --

_PLACE_RES = [re.compile(r"(?<!\w)" + re.escape(_fold(p)) + r"(?!\w)") for p in
              sorted(set(PLACES) - {"Hòa Bình", "Vinh", "Huế"}, key=len, reverse=True)]
_LEAD_WORDS = re.compile(r"^(?:(?:đề nghị|yêu cầu|giao|đồng chí|các|và)\s+)+", re.IGNORECASE)
_TITLE = re.compile(r"^(?:(?:các|đồng chí)\s+)?(?:phó chủ tịch|chủ tịch|thủ trưởng|bộ trưởng|tổng giám đốc|giám đốc|"
                    r"người đứng đầu)\s+(?:các\s+)?(?=\S)", re.IGNORECASE)
_LEVEL_ACCENTED = (r"(?:các|cùng) cấp", r"cấp (tỉnh|huyện|xã)",
                   r"(xã|phường|thị trấn)|(huyện|quận|thị xã|thành phố thuộc tỉnh)|(tỉnh|thành phố trực thuộc)",
                   r"trung ương|toàn quốc", r"thành phố")
_LEVEL_FOLDED = tuple(fold(p) for p in _LEVEL_ACCENTED)


def _level_in(g: str, patterns: tuple[str, ...]) -> str | None:
    if re.search(rf"(?<!\w)(?:{patterns[0]})(?!\w)", g):
        return "all"
    explicit = re.search(rf"(?<!\w)(?:{patterns[1]})(?!\w)", g)
    if explicit:
        return {"tinh": TINH, "huyen": HUYEN, "xa": XA}[fold(explicit.group(1))]
    local = re.search(rf"(?<!\w)(?:{patterns[2]})(?!\w)", g)
    if local:
        return XA if local.group(1) else HUYEN if local.group(2) else TINH
    if re.search(rf"(?<!\w)(?:{patterns[3]})(?!\w)", g):
        return TW
    if re.search(rf"(?<!\w)(?:{patterns[4]})(?!\w)", g):
        return HUYEN  # a city under a province is a district-level unit
    return None


def _level_words(text: str, national_name: bool = True) -> str | None:
    """The level a phrase names ("cấp huyện", "các huyện, thị xã, thành phố", "xã, phường, thị
    trấn", "tỉnh, thành phố trực thuộc trung ương"; "các cấp" → "all"), or None. "Việt Nam" is
    the central level where it ends a name of its own ("Liên minh Hợp tác xã Việt Nam")."""
    low = text.lower()
    g = re.sub(r"hợp tác xã|xã hội|tổ hợp tác|thị xã|thị trấn", lambda m: "@" * len(m.group(0))
               if m.group(0) not in ("thị xã", "thị trấn") else m.group(0), low)
    if fold(g) != g:
        level = _level_in(g, _LEVEL_ACCENTED)
    else:  # typed without accents ("uy ban nhan dan cap huyen", "lien minh htx tinh")
        plain = re.sub(r"hop tac xa|xa hoi|to hop tac|dia phuong|phuong (?:an|thuc|phap|tien|huong|cham)|co quan|"
                       r"tinh (?:hinh|than|chat|toan|minh|hieu|trang)", "@", g)
        level = _level_in(plain, _LEVEL_FOLDED)
    if level is None and national_name and re.search(r"(?<!\w)vi[eệ]t nam(?!\w)", fold(low)):
        level = TW
    return level


_CUT_ACCENTED = re.compile(
    r"\s+(?:tỉnh|thành phố|huyện|thị xã|quận|cấp tỉnh|cấp huyện|cấp xã|các tỉnh|trong tỉnh|trên địa bàn|thuộc ủy ban|"
    r"liên quan|có liên quan|trực thuộc|toàn quốc|nơi|để|theo|về|trong|tại|ở|của|đối với|với|sau|khi|nhằm|cùng cấp)(?![\wÀ-ỹ])|"
    r"(?:,|\s+và)\s+(?=(?:các|cơ quan|đơn vị|tổ chức|địa phương|ngành)(?![\wÀ-ỹ]))|\s*[(:;]")
_CUT_FOLDED = re.compile(r"\s+(?:tinh|thanh pho|huyen|thi xa|cap tinh|cap huyen|cap xa|lien quan|cung cap|toan quoc)\b|\s*[(:;]")


def _named(s: str) -> str:
    """A named body's display name: the name without level and place qualifiers ("Sở Kế hoạch
    và Đầu tư tỉnh, thành phố trực thuộc trung ương" → "Sở Kế hoạch và Đầu tư")."""
    cut = _CUT_ACCENTED.search(s.lower()) if fold(s) != s else _CUT_FOLDED.search(s.lower())
    name = (s[:cut.start()] if cut else s).strip(" ,;:.–")
    return name[:1].upper() + name[1:]


def _levelled(kind: str, level: str) -> str:
    """The canonical name of a body that exists at several levels."""
    suffix = {TW: "", TINH: " cấp tỉnh", HUYEN: " cấp huyện", XA: " cấp xã"}[level]
    return {
        "ubnd": f"Ủy ban nhân dân{suffix}",
        "hdnd": f"Hội đồng nhân dân{suffix}",
        "mttq": "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam" if level == TW else f"Ủy ban Mặt trận Tổ quốc Việt Nam{suffix}",
        "doanthe": f"Các tổ chức chính trị – xã hội, hội, đoàn thể{suffix or ' Trung ương'}",
        "lienminh": "Liên minh Hợp tác xã Việt Nam" if level == TW else "Liên minh Hợp tác xã tỉnh",
        "quy": "Quỹ hợp tác xã trung ương" if level == TW else "Quỹ hợp tác xã tỉnh",
        "dkkd": f"Cơ quan đăng ký kinh doanh{suffix}",
        "bao": f"Báo{suffix.replace(' cấp tỉnh', ' tỉnh')}",  # "Báo Quảng Nam" is the province's paper
        "dai": f"Đài Phát thanh – Truyền hình{suffix.replace(' cấp tỉnh', ' tỉnh')}",
    }[kind]


# kind → (its group, None: by level; the levels it exists at)
_MULTI = {
    "ubnd": ("Ủy ban nhân dân", (TINH, HUYEN, XA)),
    "hdnd": ("Hội đồng nhân dân", (TINH, HUYEN, XA)),
    "mttq": ("Mặt trận và đoàn thể", (TW, TINH, HUYEN, XA)),
    "doanthe": ("Mặt trận và đoàn thể", (TW, TINH, HUYEN, XA)),
    "lienminh": ("Liên minh hợp tác xã", (TW, TINH)),
    "quy": ("Cơ quan khác", (TW, TINH)),
    "dkkd": (None, (TINH, HUYEN)),
    "bao": ("Cơ quan báo chí, truyền thông", (TINH, HUYEN)),
    "dai": ("Cơ quan báo chí, truyền thông", (TINH, HUYEN)),
}


def _multi(kind: str, level: str | None, doc_level: str | None) -> tuple[Agency, ...]:
    """A body that exists at several levels, at the level named (or every level for "các cấp",
    and for a question or a national text that names none), else at the document's level."""
    group, levels = _MULTI[kind]
    if level == "all" or level is None and doc_level in (None, TW):
        chosen = levels
    else:
        level = level or doc_level
        if level not in levels:  # the "Liên minh hợp tác xã" of a district plan is the province's
            level = min(levels, key=lambda lv: abs(LEVELS.index(lv) - LEVELS.index(level)))
        chosen = (level,)
    return tuple(Agency(_levelled(kind, lv), lv, group or _BY_LEVEL_GROUP[lv]) for lv in chosen)


def _strip_places(s: str) -> str:
    f = _fold(s)
    spans = [m.span() for rx in _PLACE_RES for m in rx.finditer(f)]
    for a, b in sorted(set(spans), reverse=True):
        s, f = s[:a] + s[b:], f[:a] + f[b:]
    return re.sub(r"\s+", " ", s).strip(" ,;:.–")


_UPPER = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_WHERE = {TW: "Trung ương", TINH: "tỉnh", HUYEN: "cấp huyện", XA: "cấp xã"}


@cache
def _rx(pattern: str, accented: bool) -> re.Pattern[str]:
    """A pattern written with accents, for accented text; its folded form for text typed without."""
    return re.compile(pattern if accented else fold(pattern))


_INTERNAL = (r"(?:hội đồng quản trị|ban kiểm soát|kiểm soát viên|(?:tổng )?giám đốc|ban điều hành|đại hội (?:thành viên|"
             r"đại biểu)|ban chuyên môn|ban quản trị|kế toán|sáng lập viên|thành viên|hợp tác xã|liên hiệp hợp tác xã|"
             r"tổ hợp tác|tổ chức kinh tế tập thể|tổ chức đại diện|công đoàn|người lao động|cá nhân|chi nhánh|"
             r"văn phòng đại diện|địa điểm kinh doanh|doanh nghiệp|nhà đầu tư)\b")
_OF_COOPERATIVE = r"\b(?:trong|của|thuộc) (?:các )?(?:tổ hợp tác|hợp tác xã|liên hiệp hợp tác xã|quỹ)\b"
_PARTY = (r"(?:ban cán sự đảng|đảng đoàn|ban chấp hành|ban thường vụ (?:tỉnh|thành|huyện) ủy|(?:tỉnh|thành|huyện|đảng) ủy|"
          r"cấp ủy|tổ chức (?:cơ sở )?đảng|cơ quan tham mưu, giúp việc|ban (?:\w+ ){1,3}(?:tỉnh|thành|huyện) ủy\b)")


@lru_cache(maxsize=20000)
def _resolve(phrase: str, doc_level: str | None, words: str | None = None) -> tuple[Agency, ...] | None:
    """The agencies one phrase names: () for a known non-agency (a cooperative's board, a
    cooperative), None when the phrase does not begin like an agency at all. ``words`` is a
    level said for a whole list ("Hội đồng nhân dân và Ủy ban nhân dân cấp tỉnh")."""
    s = _LEAD_WORDS.sub("", _MARKER.sub("", _tidy(phrase, plain=doc_level is None and fold(phrase) == phrase)))
    title = _TITLE.match(s)
    if title:  # the head stands for the body: "Chủ tịch UBND …", "Bộ trưởng Bộ …", "Thủ trưởng các sở"
        s = _LEAD_WORDS.sub("", s[title.end():])
    press = re.match(rf"[Bb]áo\s+(?!cáo\b|chí\b)[{_UPPER}]|(?i:đài (?:phát thanh|truyền hình))", s)
    s = s if press else _strip_places(s)
    if not s.strip():
        return None
    accented = doc_level is not None or fold(s) != s  # documents are written with accents; a question may not be
    low = s.lower() if accented else _fold(s)

    def is_(pattern: str) -> re.Match[str] | None:
        return _rx(pattern, accented).match(low)

    def has(pattern: str) -> re.Match[str] | None:
        return _rx(pattern, accented).search(low)

    def named(head: str) -> bool:
        """A name follows the head: capitalised in accented text ("Bộ Tài chính", not "bộ máy")."""
        return bool(re.match(rf"(?i:{head})\s+[{_UPPER}]", s) if accented else is_(rf"{head} \w"))

    def one(name: str, lv: str, group: str) -> tuple[Agency, ...]:
        return (Agency(name[:1].upper() + name[1:], lv, group),)

    level = words if words is not None else _level_words(s)
    if is_(r"chi nhánh ngân hàng nhà nước|ngân hàng nhà nước (?:chi nhánh|cấp tỉnh|tỉnh)"):
        return one("Ngân hàng Nhà nước chi nhánh tỉnh", TINH, "Sở, ngành")
    if is_(_INTERNAL) or has(_OF_COOPERATIVE):
        return ()  # a cooperative, its bodies and officers: not agencies
    if is_(_PARTY):  # before the state bodies their names contain ("Ban cán sự đảng Ủy ban nhân dân tỉnh")
        party = has(r"\b(tỉnh|huyện|thành) ủy\b")
        lv = (TINH if fold(party.group(1)) == "tinh" else HUYEN) if party else level if level in LEVELS else doc_level or TINH
        group = "Tổ chức Đảng"
        if is_(r"ban cán sự đảng ủy ban nhân dân"):
            return one(f"Ban cán sự đảng Ủy ban nhân dân {_WHERE[lv]}", lv, group)
        if is_(r"đảng đoàn hội đồng nhân dân"):
            return one(f"Đảng đoàn Hội đồng nhân dân {_WHERE[lv]}", lv, group)
        if is_(r"đảng đoàn (?:ủy ban )?mặt trận"):
            return one(f"Đảng đoàn Ủy ban Mặt trận Tổ quốc Việt Nam {_WHERE[lv]}", lv, group)
        if is_(r"ban cán sự đảng|đảng đoàn"):
            return one(f"Các ban cán sự đảng, đảng đoàn {_WHERE[lv]}", lv, group)
        if is_(r"(?:huyện|thành) ủy"):
            return one("Huyện ủy, thành ủy", HUYEN, group)
        if is_(r"đảng ủy"):
            return one("Đảng ủy trực thuộc Tỉnh ủy" if has(r"tỉnh ủy") else f"Đảng ủy {_WHERE[lv]}", lv, group)
        if is_(r"cấp ủy|tổ chức (?:cơ sở )?đảng"):
            return one("Cấp ủy đảng các cấp", lv, group)
        if is_(r"cơ quan tham mưu"):
            return one("Các cơ quan tham mưu, giúp việc Tỉnh ủy", TINH, group)
        if is_(r"tỉnh ủy"):
            return one("Tỉnh ủy", TINH, group)
        m = is_(r"ban (?:\w+ ){0,3}?(?:tỉnh|thành|huyện) ủy")
        return one(s[:m.end()] if m else _named(s), lv, group)
    if is_(r"(?:ban thường vụ )?(?:tỉnh|huyện|thành) đoàn|đoàn thanh niên"):
        lv = HUYEN if is_(r"(?:ban thường vụ )?(?:huyện|thành) đoàn") else TINH
        return one("Ban Thường vụ Tỉnh đoàn" if lv == TINH else "Ban Thường vụ Huyện đoàn, Thành đoàn", lv,
                   "Mặt trận và đoàn thể")
    if is_(r"(?:hệ thống )?liên minh(?: hợp tác xã)?\b"):
        return _multi("lienminh", "all" if is_(r"hệ thống") else level, doc_level)
    if is_(r"ủy ban nhân dân\b"):
        return _multi("ubnd", level, doc_level)
    if is_(r"hội đồng nhân dân\b"):
        return _multi("hdnd", level, doc_level)
    if is_(r"(?:ủy ban )?(?:trung ương )?mặt trận tổ quốc\b"):
        # "Việt Nam" is part of the Front's name: only "Trung ương" makes it the central one
        return _multi("mttq", words if words is not None else _level_words(s, national_name=False), doc_level)
    if is_(r"(?:tổ chức chính trị|tổ chức thành viên|đoàn thể|hội(?:,| đoàn thể| và đoàn thể)|hội$)"):
        return _multi("doanthe", level, doc_level)
    if named(r"hội(?! đồng| nghị| viên)") or is_(r"hội nông dân"):
        lv = level if level in LEVELS else doc_level or TINH
        return one(f"{_named(s)} {_WHERE[lv]}", lv, "Mặt trận và đoàn thể")
    if is_(r"quỹ(?: hỗ trợ phát triển)?(?: hợp tác xã)?(?:$| trung ương| địa phương| tỉnh| cấp| các cấp|,)"):
        lv = TW if has(r"trung ương") else TINH if has(r"địa phương|\btỉnh\b") else "all" if level == "all" else None
        return _multi("quy", lv, doc_level)
    if is_(r"(?:cơ quan đăng ký (?:kinh doanh|hợp tác xã)|phòng đăng ký kinh doanh)\b"):
        lv = TINH if has(r"phòng đăng ký kinh doanh|thuộc sở|cấp tỉnh") else HUYEN if has(r"cấp huyện") else \
            "all" if level == "all" or doc_level is None else HUYEN  # the district's, since Nghị định 92/2024
        return _multi("dkkd", lv, doc_level)
    if press:
        return _multi("dai" if is_(r"đài") else "bao", level if level in LEVELS else None, doc_level or TINH)
    if is_(r"(?:cơ quan )?(?:thông tấn|báo chí)\b"):
        return one("Cơ quan báo chí, truyền thông", level if level in LEVELS else doc_level or TINH,
                   "Cơ quan báo chí, truyền thông")
    if is_(r"chính phủ\b"):
        return one("Chính phủ", TW, "Bộ, ngành Trung ương")
    if is_(r"thủ tướng\b"):
        return one("Thủ tướng Chính phủ", TW, "Bộ, ngành Trung ương")
    if is_(r"ngân hàng nhà nước\b"):
        return one("Ngân hàng Nhà nước Việt Nam", TW, "Bộ, ngành Trung ương")
    if is_(r"bộ(?:\s*,|\s+ngành|\s+trưởng\b|\s+cơ quan|\s*$)|cơ quan ngang bộ|cơ quan thuộc chính phủ"):
        return one("Các bộ, cơ quan ngang bộ", TW, "Bộ, ngành Trung ương")
    if named(r"bộ|cục|tổng cục"):
        return one(_named(s), TW, "Bộ, ngành Trung ương")
    if is_(r"sở(?:\s*,|\s+ngành|\s+ban|\s*$)"):
        return one("Các sở, ban, ngành tỉnh", TINH, "Sở, ngành")
    if named(r"sở"):
        return one(_named(s), TINH, "Sở, ngành")
    if is_(r"phòng(?:\s*,|\s+ban|\s*$)|cơ quan chuyên môn"):
        return one("Các phòng, ban chuyên môn cấp huyện", HUYEN, "Phòng, ban cấp huyện")
    if named(r"phòng"):
        lv = TINH if has(r"thuộc sở") else HUYEN
        return one(_named(s), lv, _BY_LEVEL_GROUP[lv])
    if named(r"trung tâm|văn phòng|kho bạc|ban"):
        lv = level if level in LEVELS else doc_level or TINH
        return one(_named(s), lv, _BY_LEVEL_GROUP[lv])
    return None


def resolve_agency(phrase: str, doc_level: str | None = None) -> list[Agency]:
    """The canonical agencies a phrase names: "UBND các huyện, thị xã, thành phố" → Ủy ban nhân
    dân cấp huyện; a list gives one per agency; ``doc_level`` is the level of the document the
    phrase is read in (None for a question: a name without level then means every level)."""
    out: list[Agency] = []
    for _, agencies in split_agencies(phrase, doc_level):
        out += [a for a in agencies or () if a not in out]
    return out


# where the name of an agency ends inside a longer phrase ("Ủy ban nhân dân cấp xã nơi tổ hợp tác hoạt
# động", "Bộ Kế hoạch và Đầu tư và các cơ quan liên quan"); level words are kept
_TRIM = re.compile(r"\s+(?:để|trong việc|trong|nơi|theo|về|khi|đối với|với|sau khi|sau|nhằm|là|bị|được|đã|đang|sẽ|có|"
                   r"cho|từ|tại|ở|thu thập|quy định|yêu cầu|hoạt động|gồm|bao gồm|của(?! mặt trận))(?![\wÀ-ỹ])|"
                   r"(?:,|\s+và)\s+(?:các\s+)?(?:cơ quan|đơn vị|tổ chức|địa phương|cá nhân|đối tượng)(?![\wÀ-ỹ])|"
                   r"(?:,|\s+và)\s+các\s+ngành(?![\wÀ-ỹ])|"
                   r"\s*[(“\"]|\s+(?:và|hoặc)$")


def _trim(phrase: str) -> str:
    phrase = re.sub(r"\s+", " ", phrase).strip(" ,;:.")
    m = _TRIM.search(phrase, 3)
    return (phrase[:m.start()] if m else phrase).strip(" ,;:.")


def split_agencies(text: str, doc_level: str | None) -> list[tuple[str, tuple[Agency, ...] | None]]:
    """An agency list cut where a new agency begins: [(phrase as written, its agencies)]. A
    piece that begins no agency ("Ban", "ngành", "thị xã", "Đầu tư") stays with the one before."""
    parts = re.split(r"(,\s*|\s+và\s+|\s+cùng\s+|;\s*)", text.strip())
    pieces = [parts[0]]
    for sep, part in zip(parts[1::2], parts[2::2]):
        if part.strip() and _resolve(part, doc_level) is not None:
            pieces.append(part)
        else:
            pieces[-1] += sep + part
    pieces = [_trim(p) for p in pieces if _trim(p)]
    # a level said once for the whole list ("Hội đồng nhân dân và Ủy ban nhân dân cấp tỉnh")
    tail = _level_words(_tidy(pieces[-1]), national_name=False) if len(pieces) > 1 else None
    out = []
    for p in pieces:
        own = _level_words(_tidy(p))
        out.append((p, _resolve(p, doc_level, tail) if own is None and tail is not None else _resolve(p, doc_level)))
    return out


# ------------------------------------------------------------------ the text --

_MARKER = re.compile(r"^(?:[-+*•]\s*)+|^\d+(?:\.\d+)*\.\s*|^[a-zđ]\)\s*|^[IVXLC]+\.\s+|^Điều\s+[\w.]+?\.\s+")
# Predicates that end a subject ("X chủ trì …", "X có trách nhiệm …"); lower case only, so
# "Ban Chỉ đạo", "Chương trình", "Quỹ hỗ trợ …" inside a name do not end it.
_PREDICATES = (r"chủ trì|phối hợp|có trách nhiệm|chịu trách nhiệm|có nhiệm vụ|có các nhiệm vụ|có quyền|lãnh đạo|"
               r"(?<!Ban )(?<!ban )chỉ đạo|thường xuyên|(?<!cơ quan )tham mưu|hướng dẫn|ban hành|triển khai|theo dõi|"
               r"thực hiện|tổng hợp|báo cáo|tuyên truyền|là cơ quan|là đầu mối|là tổ chức|là nòng cốt|thống nhất quản lý|"
               r"tiếp tục|tăng cường|xây dựng|tổ chức(?= (?:thực hiện|triển khai|theo dõi|xây dựng|kiểm tra|thi hành|bồi dưỡng|vận động|tuyên truyền|"
               r"quán triệt|sơ kết|tổng kết|đánh giá|lấy ý kiến|hội nghị|tập huấn))|đẩy mạnh|phát huy|kiểm tra|giám sát|cung cấp|"
               r"bàn giao|rà soát|quyết định|phê duyệt|chủ động|nghiêm túc|cập nhật|tiếp nhận|xem xét|đề xuất|bố trí|"
               r"cân đối|nghiên cứu|(?<!thành )(?<!thiết )lập|gửi|(?<!bàn )(?<!được )giao|phải|cần|đăng tải|vận động|"
               r"đôn đốc|hoàn thiện|trực tiếp|bảo đảm|đảm bảo|khẩn trương|kịp thời|củng cố|phổ biến|quán triệt|"
               r"cụ thể hóa|(?<!Chương )(?<!chương )trình|thẩm định|thu hồi|định kỳ|hằng năm|hàng năm|tham gia|"
               r"làm tốt|hỗ trợ các|đánh giá|sử dụng|thông báo|công bố|chấp thuận|xác nhận|từ chối|ghi nhận|sửa đổi|trả lời|"
               r"chuyển|cấp lại|yêu cầu|giải quyết|nộp|cho vay|trích lập|phân loại|tự chủ|không|chưa|có thể|tư vấn|"
               r"tạo điều kiện|khuyến khích|ưu tiên|quy định|thu thập|lưu giữ|lưu trữ|công khai|chấp hành|thiết lập|"
               r"tiến hành|phân công|bổ nhiệm|miễn nhiệm|xử lý|chỉ định|triệu tập|trích|phân phối|hạch toán")
_PREDICATE = re.compile(rf"(?<![\wÀ-ỹ])(?:{_PREDICATES})(?![\wÀ-ỹ])")
# where a list of partners / receivers ends
_LIST_END = re.compile(rf"(?<![\wÀ-ỹ])(?:{_PREDICATES}|lồng ghép|hỗ trợ|giải quyết|tháo gỡ|xử lý|tư vấn|vận hành|kết nối|"
                       r"trao đổi|trong việc|trong|để|nhằm|về|khi|theo|tại|trước|sau|đối với|thông qua|xem|tổng|"
                       r"thẩm|liên thông)(?![\wÀ-ỹ])|[;:.()]")
_LEADING = re.compile(r"^(?:(?:chậm nhất|trước|sau|trong thời hạn|định kỳ|hằng năm|hàng năm|hằng quý|hàng quý|một năm một lần|"
                      r"căn cứ|trên cơ sở|trong quá trình|trường hợp|đối với|riêng|đồng thời|ngoài ra|bên cạnh đó)"
                      r"\b[^,:;]{0,120}[,:]\s*)+", re.IGNORECASE)
_ADVERBIAL = re.compile(r"(?:trong|căn cứ|trên cơ sở|trường hợp|khi|sau khi|để|nhằm|xét thấy|đối với|riêng|đồng thời|"
                        r"ngoài ra|bên cạnh|định kỳ|hằng năm|hàng năm|chậm nhất|trước|sau)\b", re.IGNORECASE)
_IN_SCOPE = re.compile(r",?\s*trong phạm vi [^;:.]*?(?:của mình|được phân công|được giao)\s*,?")
_NOT_SUBJECT = re.compile(r"\s(?:của|khi|nếu|theo|do|đối với|được|bao gồm|về|để|cho|với|từ|là|nơi|mà|thì)\s|\d")
_PARTNER = re.compile(r"phối hợp(?:\s+chặt chẽ)?(?:\s+(?:với|cùng))?\s+", re.IGNORECASE)
_RECEIVER = re.compile(r"(?P<verb>gửi|(?<!bàn )(?<!được )giao)(?:\s+(?:về|cho|đến|tới))?\s+")
_CLAUSE = re.compile(r";\s*|:\s+|(?<=[.!?])\s+(?=[\"“(*+-]?\s*[A-ZĐÀ-Ỹ])")
_CLOSING = re.compile(r"^(?:Nơi nhận|NƠI NHẬN)")
# a heading that says whose duties follow
_RESPONSIBILITY = re.compile(
    r"^(?:(?:chức năng|nhiệm vụ|trách nhiệm|quyền hạn|quyền|nghĩa vụ)(?:,?\s+(?:và\s+)?(?:chức năng|nhiệm vụ|trách nhiệm|"
    r"quyền hạn|quyền|nghĩa vụ))*(?:\s+(?:thực hiện|thi hành))?\s+của|đối với)\s+(?P<who>.+?)\s*:?\s*$", re.IGNORECASE)
_NAME_END = re.compile(r"\s+(?:có|có các)\s+(?:nhiệm vụ|trách nhiệm|nghĩa vụ|quyền hạn|quyền)\b.*$")

_DATE = r"ngày\s+\d{1,2}(?:\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?|/\d{1,2}(?:/\d{4})?)"
_DEADLINES = [  # most specific first
    re.compile(rf"(?:chậm nhất|không muộn hơn|trước)(?:\s+(?:là|vào))*(?:\s+trước)?\s+{_DATE}(?:\s+(?:hằng|hàng)\s+năm)?",
               re.IGNORECASE),
    re.compile(r"(?:(?:hoàn thành\s+)?(?:trong|trước)\s+)?quý\s+[IV]+\s*(?:[-/]\s*|năm\s+)\d{4}", re.IGNORECASE),
    re.compile(r"(?:hoàn thành\s+)?(?:trong|trước)\s+(?:năm\s+\d{4}|tháng\s+\d{1,2}(?:/|\s+năm\s+)\d{4})", re.IGNORECASE),
    re.compile(r"(?:trong thời hạn|chậm nhất(?: là)?)\s+\d+\s+(?:ngày(?: làm việc)?|tháng|năm)\s+kể từ\s+[^,;.]{3,80}",
               re.IGNORECASE),
    re.compile(r"giai đoạn\s+\d{4}\s*[-–—]\s*\d{4}", re.IGNORECASE),
]
_FREQUENCIES = re.compile(
    r"(?P<six>định kỳ\s+0?6\s+tháng|0?6\s+tháng\s+một\s+lần|báo cáo\s+0?6\s+tháng|sáu tháng một lần)|"
    r"(?P<months>định kỳ\s+(?P<n>\d+)\s+tháng|(?P<m>\d+)\s+tháng\s+một\s+lần)|"
    r"(?P<quarter>(?:hằng|hàng)\s+quý|quý\s+một\s+lần)|"
    r"(?P<month>(?:hằng|hàng)\s+tháng)|"
    r"(?P<year>(?:hằng|hàng)\s+năm|(?:một\s+)?năm\s+một\s+lần|thường niên)|"
    r"(?P<regular>thường xuyên)", re.IGNORECASE)


def parse_deadline(text: str) -> str | None:
    """The deadline a text gives, as written ("trước ngày 25 tháng 11 hàng năm", "trong quý IV-2022")."""
    for pattern in _DEADLINES:
        m = pattern.search(text)
        if m:
            found = re.sub(r"\s+", " ", m.group(0)).strip()
            found = re.sub(r"^[Hh]oàn thành\s+", "", found)
            return found[:1].lower() + found[1:]
    return None


def parse_frequency(text: str) -> str | None:
    """How often the text says the task recurs ("hằng năm", "định kỳ 6 tháng, hằng năm"), or None."""
    out: list[str] = []
    for m in _FREQUENCIES.finditer(text):
        if m.group("six"):
            value = "định kỳ 6 tháng"
        elif m.group("months"):
            n = int(m.group("n") or m.group("m"))
            value = "hằng tháng" if n == 1 else "hằng quý" if n == 3 else "định kỳ 6 tháng" if n == 6 else \
                "hằng năm" if n == 12 else f"định kỳ {n} tháng"
        elif m.group("quarter"):
            value = "hằng quý"
        elif m.group("month"):
            value = "hằng tháng"
        elif m.group("year"):
            value = "hằng năm"
        else:
            value = "thường xuyên"
        if value not in out:
            out.append(value)
    return ", ".join(out) or None


def _place(document: SourceDocument) -> str:
    """The place the document's agencies belong to ("Cam Ranh, Khánh Hòa"; "toàn quốc")."""
    return document.metadata.get("place") or ", ".join(places_in(document.title)) or ""


def _level_of_place(place: str) -> str:
    """The level of the administration that issued a document of this place."""
    if not place or place == "toàn quốc":
        return TW
    return HUYEN if "," in place else TINH


def _role_of(body: str, default: str) -> str:
    """The role a task of a section's agency gives it: "Chủ trì, phối hợp…" leads, "Phối hợp…" supports."""
    head = _fold(_MARKER.sub("", body).strip())[:60]
    if re.match(r"chu tri\b", head):
        return "chủ trì"
    if re.match(r"phoi hop\b", head):
        return "phối hợp"
    return default


class _Walker:
    def __init__(self, document: SourceDocument):
        self.doc = document
        self.paragraphs = document.text.split("\n")
        self.starts, offset = [], 0
        for p in self.paragraphs:
            self.starts.append(offset)
            offset += len(p) + 1
        self.place = _place(document)
        self.level = _level_of_place(self.place)
        self.duties: dict[tuple[str, int], Duty] = {}

    # -- agencies in text --
    def agencies(self, text: str) -> list[tuple[str, Agency]]:
        out = []
        for phrase, found in split_agencies(text, self.level):
            out += [(phrase, a) for a in found or ()]
        return out

    def subject(self, clause: str) -> tuple[list[tuple[str, Agency]], str, str] | None:
        """The agencies a clause opens with and the predicate after them, or None."""
        c = _IN_SCOPE.sub(" ", clause)
        c = _LEADING.sub("", c).strip()
        starts = [0]
        if _ADVERBIAL.match(c):  # "Trong quá trình …, xét thấy …, các sở, ngành chủ động đề xuất"
            starts += [m.end() for m in re.finditer(r"[,:]\s+", c[:200])][:4]
        for start in starts:
            cand = c[start:]
            m = _PREDICATE.search(cand)
            if not m or m.start() == 0:
                continue
            subj = cand[:m.start()].strip(" ,")
            if len(subj) > 260:
                continue
            if _rx(_OF_COOPERATIVE, True).search(subj.lower()):
                continue  # "Tổ chức chính trị … trong hợp tác xã": a cooperative's own affairs
            pieces = split_agencies(subj, self.level)
            if not pieces or pieces[0][1] is None or len(pieces[0][0]) > 140 or _NOT_SUBJECT.search(f" {pieces[0][0]} "):
                continue
            return [(p, a) for p, found in pieces for a in found or ()], m.group(0), cand[m.start():]
        return None

    def named_after(self, pattern: re.Pattern[str], text: str) -> list[tuple[str, Agency, str, str]]:
        """Agencies named after "phối hợp với", "gửi", "giao": (phrase, agency, the word before,
        what follows the list)."""
        out = []
        for m in pattern.finditer(text):
            rest = text[m.end():]
            end = _LIST_END.search(rest)
            segment = rest[:end.start()] if end else rest[:200]
            if not segment.strip():
                continue
            after = rest[end.start():].strip() if end else ""
            out += [(p, a, m.group(0).strip().lower(), after) for p, a in self.agencies(segment)]
        return out

    # -- duties --
    def add(self, phrase: str, agency: Agency, role: str, i: int, path: list[str], heads: list[str]) -> None:
        key = (agency.canonical, self.starts[i])
        old = self.duties.get(key)
        if old is not None and ROLES.index(old.role) <= ROLES.index(role):
            return
        task = self.paragraphs[i]
        deadline, frequency = parse_deadline(task), parse_frequency(task)
        for heading in reversed(heads):  # the nearest heading that says when
            if deadline is None:
                deadline = parse_deadline(heading)
            if frequency is None and re.search(r"\d|năm|quý|tháng", parse_frequency(heading) or ""):
                frequency = parse_frequency(heading)
        self.duties[key] = Duty(
            agency=_tidy_phrase(phrase), key=agency_key(agency.canonical), place=self.place, role=role, task=task,
            deadline=deadline, source=self.doc.source, title=self.doc.title, section=" › ".join(path),
            start=self.starts[i], end=self.starts[i] + len(task), canonical=agency.canonical, level=agency.level,
            group=agency.group, frequency=frequency,
        )

    def task(self, i: int, path: list[str], heads: list[str], owners: list[tuple[str, Agency]], default: str) -> None:
        """The duties of one paragraph: its clauses' subjects, the agencies it names as partners,
        assignees and receivers, and — when it names no subject first — the section's agencies."""
        text = self.paragraphs[i]
        body = _MARKER.sub("", text).strip()
        if not body or re.search(r"(?:như sau|yêu cầu|đề nghị|chỉ đạo)\s*:\s*$|như sau\s*$|^Trên đây là", body):
            return  # the issuing formula ("… ban hành Kế hoạch … như sau:", "Chủ tịch UBND tỉnh yêu cầu:")
        asked = re.match(r"[Đđ]ề nghị\s+", body)
        directed = re.match(r"(?:Yêu cầu|Giao)\s+", body)
        opening = body[(asked or directed).end():] if asked or directed else body
        own_subject = False
        for n, clause in enumerate(c for c in _CLAUSE.split(opening) if c.strip()):
            found = self.subject(clause)
            if found:
                agencies, verb, _ = found
                own_subject = own_subject or (n == 0 and not directed)
                role = "đề nghị" if asked and n == 0 else "chủ trì" if verb == "chủ trì" else \
                    "phối hợp" if verb == "phối hợp" else "thực hiện"
                for phrase, agency in agencies:
                    self.add(phrase, agency, role, i, path, heads)
            for phrase, agency, _, _ in self.named_after(_PARTNER, clause):
                self.add(phrase, agency, "phối hợp", i, path, heads)
            for phrase, agency, verb, after in self.named_after(_RECEIVER, clause):
                role = "tiếp nhận" if verb.startswith("gửi") else "chủ trì" if after.startswith("chủ trì") else "thực hiện"
                self.add(phrase, agency, role, i, path, heads)
        if owners and not own_subject and not re.match(r"(?:Được|được|Có quyền)\s", opening):  # a right, not a duty
            role = "đề nghị" if default == "đề nghị" else _role_of(body, default)
            for phrase, agency in owners:
                self.add(phrase, agency, role, i, path, heads)

    def owners(self, heading: str, node: _Node) -> tuple[list[tuple[str, Agency]], str] | None:
        """The agencies whose duties a section lists, read from its heading, and their role."""
        if not node.items or not heading:
            return None
        bare = _MARKER.sub("", heading).strip().rstrip(":").strip()
        m = _RESPONSIBILITY.match(bare)
        if m:
            who = re.split(r"\s+(?:đối với|trong|về|theo)\s+|;", m.group("who"))[0]
            found = self.agencies(who)
            return (found, "thực hiện") if found else None
        if _LEGAL_ARTICLE.match(heading):
            return None  # an article titled by a body ("Hội đồng quản trị") describes it; it does not assign
        asked = re.match(r"[Đđ]ề nghị\s+", bare)
        name = _NAME_END.sub("", bare[asked.end():] if asked else bare)
        if heading.rstrip().endswith(":") and _PREDICATE.search(name):
            # "3. Chủ tịch Quỹ hợp tác xã trung ương thực hiện các quyền và nhiệm vụ như sau:"
            found = self.subject(bare)
            if found and found[0]:
                return found[0], "đề nghị" if asked else "chủ trì" if found[1] == "chủ trì" else "thực hiện"
            return None
        if len(name) > 160 or re.search(r"[.;]", name) or _PREDICATE.search(name):
            return None
        pieces = split_agencies(name, self.level)
        if not pieces or pieces[0][1] is None:
            return None
        found = [(p, a) for p, agencies in pieces for a in agencies or ()]
        return (found, "đề nghị" if asked else "thực hiện") if found else None

    def walk(self, node: _Node, path: list[str], heads: list[str], owners: list[tuple[str, Agency]], default: str) -> None:
        heading = self.paragraphs[node.paragraph] if node.paragraph is not None else ""
        if _CLOSING.match(heading.strip()):
            return  # distribution list and signature: no assignments
        here = path + [node.label] if node.label else path
        own = self.owners(heading, node)
        if own:
            owners, default = own
        elif heading and not _LEGAL_ARTICLE.match(heading):  # an article's title is a title, not a task
            # a heading over items that ends in ":" introduces them; it is no task of the section's agencies
            intro_only = bool(node.items) and heading.rstrip().endswith(":")
            self.task(node.paragraph, here, heads, [] if intro_only else owners, default)
            if re.search(r"gồm\s*:?\s*$", heading):
                owners = []  # "… gồm:" enumerates (the bodies of a fund, the kinds of reports), it assigns nothing
        inner = heads + [heading] if heading else heads
        intro = None
        for item in node.items:
            if isinstance(item, int):
                text = self.paragraphs[item]
                if owners and text.rstrip().endswith(":") and not _MARKER.match(text):
                    intro = _role_of(text, default)  # "Chủ trì, phối hợp … các nội dung sau:"
                    continue
                self.task(item, here, inner, owners, intro or default)
            else:
                self.walk(item, here, inner, owners, intro or default)


def _tidy_phrase(phrase: str) -> str:
    phrase = re.sub(r"\s+", " ", _MARKER.sub("", phrase.strip())).strip(" ,;:.")
    return re.sub(r"^(?:[Đđ]ề nghị|[Yy]êu cầu|[Gg]iao)\s+", "", phrase)


def _articles(walker: _Walker) -> dict[int, str] | None:
    """The articles of a Pháp điển instrument (paragraph → label), as the chunker labels them."""
    if not any("pd_code" in u.meta for u in walker.doc.units):
        return None
    paragraph_of = {start: i for i, start in enumerate(walker.starts)}
    return {paragraph_of[u.start]: _label(u.label, 160) for u in walker.doc.units if u.start in paragraph_of}


def extract_duties(document: SourceDocument) -> list[Duty]:
    """Every assignment in one document, in document order."""
    walker = _Walker(document)
    walker.walk(_outline(walker.paragraphs, _articles(walker)), [], [], [], "thực hiện")
    return sorted(walker.duties.values(), key=lambda d: (d.start, _rank(d)))


def _rank(d: Duty) -> tuple:
    return (GROUPS.index(d.group) if d.group in GROUPS else len(GROUPS),
            LEVELS.index(d.level) if d.level in LEVELS else len(LEVELS), d.canonical)


def _unify(duties: list[Duty]) -> list[Duty]:
    """One spelling per canonical agency across documents ("Phòng kinh tế" = "Phòng Kinh tế"),
    and a name that is another one followed by lower-case words only (a predicate the subject
    ran into: "Bộ Kế hoạch và Đầu tư thiết lập") is that one."""
    known = {(d.key, d.level, d.group) for d in duties}
    for d in duties:
        words = d.canonical.split()
        for n in range(len(words) - 1, 1, -1):
            if words[n][:1].islower() and all(w[:1].islower() for w in words[n:]):
                shorter = agency_key(" ".join(words[:n]))
                if (shorter, d.level, d.group) in known:
                    d.canonical, d.key = " ".join(words[:n]), shorter
                    break
            else:
                break
    spellings: dict[str, Counter] = {}
    for d in duties:
        spellings.setdefault(d.key, Counter())[d.canonical] += 1
    best = {k: max(c.items(), key=lambda kv: (kv[1], sum(ch.isupper() for ch in kv[0]), kv[0]))[0]
            for k, c in spellings.items()}
    for d in duties:
        d.canonical = best[d.key]
    return duties


# ------------------------------------------------------------------ the register --

_HEAD = ["ủy ban nhân dân", "ubnd", "hội đồng nhân dân", "hđnd", "ủy ban mặt trận", "ủy ban trung ương mặt trận",
         "mặt trận", "ubmttq", "mttq", "hệ thống liên minh", "liên minh", "lmhtx", "sở", "phòng", "bộ", "cục",
         "trung tâm", "văn phòng", "ban", "chính phủ", "thủ tướng", "ngân hàng nhà nước", "chi nhánh ngân hàng", "quỹ",
         "cơ quan đăng ký", "cơ quan tham mưu", "cơ quan thông tấn", "cơ quan báo chí", "báo", "đài phát thanh",
         "đảng đoàn", "tỉnh ủy", "huyện ủy", "thành ủy", "đảng ủy", "cấp ủy", "tỉnh đoàn", "tổ chức chính trị",
         "đoàn thể", "hội", "hội đồng quản trị"]
_HEAD_RE = re.compile(r"(?<![\wÀ-ỹ])(?:(?:các|chủ tịch|thủ trưởng|bộ trưởng|giám đốc)\s+)?(?:" +
                      "|".join(re.escape(h) for h in sorted(_HEAD, key=len, reverse=True)) + r")(?![\wÀ-ỹ])", re.IGNORECASE)
# unaccented: the words that are also common syllables ("hỏi", "số") need more context
_HEAD_FOLDED = re.compile(r"(?<!\w)(?:(?:cac|chu tich|thu truong|bo truong|giam doc)\s+)?(?:" + "|".join(
    re.escape(fold(h)) for h in sorted(set(_HEAD) - {"hội", "sở", "bộ", "ban", "báo", "quỹ"}, key=len, reverse=True))
    + r"|so(?= (?!\d))|bo(?= (?!\d))|ban(?= (?!la\b))|quy(?= (?:ho tro|hop tac))|cac hoi|hoi,? doan the|hoi nong dan)(?!\w)")
_PHRASE_END = re.compile(r"\s+(?:có|được|phải|làm|chủ trì|phối hợp|thì|ở|tại|của|trong|về|cần|giao|đã|sẽ|là|nhiệm vụ|"
                         r"trách nhiệm|gì|nào|những|cho|với|theo|hiện|đang)(?![\wÀ-ỹ])|[?!.;:]", re.IGNORECASE)
# (without accents "tai", "ve", "cho" are also "tài", "vệ", "chợ": only words no agency name holds end a phrase)
_PHRASE_END_FOLDED = re.compile(r"\s+(?:co|duoc|phai|lam|chu tri|phoi hop|thi|nhiem vu|trach nhiem|gi|nao|nhung)(?!\w)|"
                                r"[?!.;:]")
def _grams(text: str) -> Counter:
    """Character trigrams and words of a folded phrase, for :meth:`Directory.suggest`."""
    k = f"  {agency_key(text)}  "
    grams = Counter(k[i:i + 3] for i in range(len(k) - 2))
    grams.update(w for w in k.split() if len(w) > 1)
    return grams


@dataclass
class Directory:
    """Every assignment of the loaded documents, looked up by canonical agency."""

    duties: list[Duty]
    stale: bool = False  # loaded from an index saved by an older version: rebuild for full roles
    _index: dict = field(default=None, init=False, repr=False, compare=False)

    # -- what is in it --
    @property
    def _by(self) -> dict:
        if self._index is None:
            canon: dict[str, str] = {}
            info: dict[str, tuple[str, str, int]] = {}
            phrasings: dict[str, list[str]] = {}
            for d in self.duties:
                canon.setdefault(d.key, d.canonical)
                name = canon[d.key]
                level, group, n = info.get(name, (d.level, d.group, 0))
                info[name] = (level, group, n + 1)
                if d.agency not in phrasings.setdefault(name, []):
                    phrasings[name].append(d.agency)
            order = sorted(info, key=lambda name: (GROUPS.index(info[name][1]) if info[name][1] in GROUPS else len(GROUPS),
                                                   LEVELS.index(info[name][0]) if info[name][0] in LEVELS else len(LEVELS),
                                                   agency_key(name)))
            grams = {name: [_grams(p) for p in [name] + phrasings[name]] for name in order}
            self._index = {"canon": canon, "info": info, "phrasings": phrasings, "order": order, "grams": grams}
        return self._index

    def agencies(self) -> list[tuple[str, str, int]]:
        """(canonical agency, place, number of tasks), by group, level and name."""
        counts = Counter((d.canonical, d.place) for d in self.duties)
        rank = {name: n for n, name in enumerate(self._by["order"])}
        return sorted(((name, place, n) for (name, place), n in counts.items()),
                      key=lambda x: (rank.get(x[0], len(rank)), x[1]))

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, its canonical agencies), groups in GROUPS order, agencies by level then name."""
        out: dict[str, list[str]] = {}
        for name in self._by["order"]:
            out.setdefault(self._by["info"][name][1], []).append(name)
        return list(out.items())

    def agency_options(self) -> list[tuple[str, str]]:
        """(label, value) for a dropdown: "Sở Kế hoạch và Đầu tư (9 nhiệm vụ)", the canonical name;
        in :meth:`groups` order."""
        return [(f"{name} ({self._by['info'][name][2]} nhiệm vụ)", name) for name in self._by["order"]]

    def register(self) -> list[dict]:
        """One row per canonical agency: name, level, group, tasks, places, phrasings."""
        places: dict[str, list[str]] = {}
        for d in self.duties:
            if d.place not in places.setdefault(d.canonical, []):
                places[d.canonical].append(d.place)
        return [{"agency": name, "level": self._by["info"][name][0], "group": self._by["info"][name][1],
                 "tasks": self._by["info"][name][2], "places": places.get(name, []), "phrasings": self.phrasings(name)}
                for name in self._by["order"]]

    def phrasings(self, canonical: str) -> list[str]:
        """Every way the documents write this agency ("UBND các huyện, thị xã, thành phố", …)."""
        name = self._by["canon"].get(agency_key(canonical), canonical)
        return list(self._by["phrasings"].get(name, []))

    # -- lookups --
    def named_agency(self, query: str) -> str | None:
        """The agency a question names, as typed ("Sở Công Thương"), or None — also None for a
        cooperative's own body ("Ban kiểm soát"): the Law, not the register, answers for it."""
        m = re.search(r"(?<!\w)((?:Sở|Phòng|Ban|Trung tâm|Liên minh|Ủy ban|Uỷ ban|UBND|Đảng đoàn|Bộ)\s[^?,;:.]{2,80}?)"
                      r"(?=\s+(?:có|được|phải|làm|chủ trì|thì|ở|tại|của)\b|[?,;:.]|$)", query)
        if not m:
            return None
        name = m.group(1).strip()
        return None if _resolve(name, None) == () else name

    def _phrases(self, query: str) -> list[str]:
        """The agency phrases in a question, from each place an agency's name may begin."""
        accented = fold(query) != query
        text = _tidy(query, plain=not accented)
        low = text if accented else _fold(text)
        head, end = (_HEAD_RE, _PHRASE_END) if accented else (_HEAD_FOLDED, _PHRASE_END_FOLDED)
        out = []
        for m in head.finditer(low):
            stop = end.search(text, m.end())
            phrase = text[m.start():stop.start() if stop else len(text)].strip(" ,")
            if phrase and phrase not in out:
                out.append(phrase)
        return out

    def find(self, query: str, sources: list[str] | None = None) -> tuple[list[str], list[Duty]]:
        """Duties of the agency the query names, under any of its phrasings, accents optional
        ("UBND huyện", "uy ban nhan dan cap huyen", "Sở KH&ĐT Quảng Nam"). A place in the query
        keeps that place's documents. Returns the canonical agencies matched (those with duties
        here) and their duties in document order."""
        if not self.duties:
            return [], []
        places = places_in(query)
        keys = set(self._by["canon"])
        matched: list[str] = []
        for phrase in self._phrases(query):
            matched = [k for k in (agency_key(a.canonical) for a in resolve_agency(phrase)) if k in keys]
            matched = matched or self._by_phrasing(phrase, places)  # "Ban Tuyên giáo" → Ban Tuyên giáo Tỉnh ủy
            if matched:
                break
        if not matched:
            matched = self._by_phrasing(query, places)
        names = {self._by["canon"][k] for k in matched}
        duties = [d for d in self.duties if d.canonical in names
                  and (not places or any(p in d.place or d.place in p for p in places))
                  and (not sources or d.source in sources)]
        present = {d.canonical for d in duties}
        return [name for name in self._by["order"] if name in present], duties

    def _by_phrasing(self, query: str, places: list[str]) -> list[str]:
        """Keys of the agencies one of whose phrasings the query is, or contains."""
        accented = fold(query) != query
        text = _tidy(query, plain=not accented)
        end = (_PHRASE_END if accented else _PHRASE_END_FOLDED).search(text if accented else _fold(text))
        q = agency_key(_strip_places(text[:end.start()] if end else text))
        for place in places:
            q = re.sub(r"(?<!\w)(?:tinh |thanh pho )?" + re.escape(_fold(place)) + r"(?!\w)", " ", q)
        q = re.sub(r"\s+", " ", q).strip(" ?,.")
        if len(q) < 3:
            return []
        out = []
        for name, phrasings in self._by["phrasings"].items():
            candidates = {agency_key(p) for p in phrasings} | {agency_key(name)}
            if any(q == c or (len(c) > 6 and _phrase_in(c, q)) or (len(q.split()) >= 2 and c.startswith(q + " "))
                   for c in candidates):
                out.append(agency_key(name))
        return out

    def suggest(self, query: str, n: int = 5) -> list[str]:
        """The canonical agencies nearest to a name the register does not know ("Phòng Tài chánh
        Kế hoạch" → "Phòng Tài chính – Kế hoạch"): character-trigram and word overlap with every
        phrasing, accents folded."""
        phrases = [p for p in self._phrases(query) or [query] if _resolve(p, None) != ()]
        if not phrases or _resolve(query, None) == ():
            return []  # a cooperative's own body ("Hội đồng quản trị"): no agency is near it
        scored = []
        for name, grams in self._by["grams"].items():
            best = 0.0
            for phrase in phrases:
                q = _grams(_strip_places(_tidy(phrase)) or phrase)
                for g in grams:
                    shared = sum((q & g).values())
                    best = max(best, shared / math.sqrt(sum(q.values()) * sum(g.values()) or 1))
            if best >= 0.35:
                scored.append((best, name))
        rank = {name: i for i, name in enumerate(self._by["order"])}
        return [name for _, name in sorted(scored, key=lambda x: (-x[0], rank[x[1]]))[:n]]


def _phrase_in(needle: str, hay: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", hay) is not None


def build_directory(documents: list[SourceDocument]) -> Directory:
    return Directory(_unify([d for doc in documents for d in extract_duties(doc)]))


# ------------------------------------------------------------------ on disk --

def save_directory(directory: Directory, path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"_format": FORMAT}) + "\n")
        for d in directory.duties:
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")


def load_directory(path) -> Directory:
    """The register saved at index time. A file saved before FORMAT 2 (no header, no canonical
    agency) is read too: each row's agency is resolved again from its text, its place and its
    task; roles stay as that version found them, and ``stale`` says a rebuild would refine them."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    fmt = rows[0].get("_format", 1) if rows else FORMAT
    rows = rows[1:] if rows and "_format" in rows[0] else rows
    if fmt >= FORMAT:
        return Directory([Duty(**row) for row in rows])
    duties: list[Duty] = []
    for row in rows:
        row = {k: v for k, v in row.items() if k in Duty.__dataclass_fields__}
        level = _level_of_place(row.get("place", ""))
        for phrase, agency in [(p, a) for p, found in split_agencies(row["agency"], level) for a in found or ()]:
            d = Duty(**{**row, "agency": _tidy_phrase(phrase), "key": agency_key(agency.canonical),
                        "canonical": agency.canonical, "level": agency.level, "group": agency.group,
                        "deadline": row.get("deadline") or parse_deadline(row["task"]),
                        "frequency": parse_frequency(row["task"])})
            if not any(x.key == d.key and x.start == d.start and x.source == d.source for x in duties):
                duties.append(d)
    return Directory(_unify(duties), stale=True)
