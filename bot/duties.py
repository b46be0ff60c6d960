"""Duties directory: who must do what, extracted from every document at indexing time.

A top-k retriever returns a few passages; an official asking "what was my agency
assigned?" needs all of them. Assignments in these documents come in a few shapes, each
handled by one rule over the document outline (the same outline the chunker uses):

1. a section headed by an agency ("2. Phòng Tài chính – Kế hoạch", "7. Đề nghị UBMTTQ…"):
   every item under it is one of its tasks;
2. a task that names its lead ("* Ban Tuyên giáo Tỉnh ủy chủ trì…", "5. Sở Tài chính chủ
   trì, phối hợp với…", "Bộ trưởng Bộ Kế hoạch và Đầu tư ban hành…"): the named
   agencies get it;
3. an agency named as the receiver or the body in charge inside a task ("…, gửi Sở Kế
   hoạch và Đầu tư trước ngày 25 tháng 11 hàng năm", "Sở Kế hoạch và Đầu tư là cơ quan
   quản lý nhà nước…").

Distribution lists ("Nơi nhận") are never read as assignments. Task text is verbatim
from the normalised document, with its offsets, so it can be cited like any passage.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .chunking import _Node, _outline
from .documents import SourceDocument
from .questions import places_in
from .vietnamese import canonical, fold

_HEAD = (r"(?:Sở|Phòng|Ban|Trung tâm|Ủy ban|Uỷ ban|UBND|UBMTTQ(?:VN)?|Liên minh|Mặt trận|Hội đồng nhân dân|HĐND|"
         r"Đảng đoàn|Đảng ủy|Tỉnh ủy|Tỉnh uỷ|Thành ủy|Thành uỷ|Huyện ủy|Bộ trưởng|Bộ|Chính phủ|Thủ tướng|"
         r"Cơ quan đăng ký kinh doanh|Cơ quan|Thủ trưởng|Chủ tịch|Báo|Đài|Quỹ|Ngân hàng|Kho bạc|Cục|Chi cục|"
         r"Văn phòng|Các cơ quan|Các sở|Các Sở|Cấp ủy|Cấp uỷ|Hội|Đoàn)")
_MARKER = re.compile(r"^(?:[-+*•]\s*)+|^\d+(?:\.\d+)*\.\s*|^[a-zđ]\)\s*|^[IVXLC]+\.\s+")
_AGENCY_HEADING = re.compile(rf"^(?:Đề nghị\s+)?{_HEAD}\b", re.UNICODE)
# Verbs that make a sentence an assignment to its subject ("X chủ trì …", "X có trách nhiệm …").
_ROLE_VERBS = (r"chủ trì|có trách nhiệm|chịu trách nhiệm|lãnh đạo|chỉ đạo|thường xuyên|tham mưu|hướng dẫn|"
               r"ban hành|quy định|triển khai|theo dõi")
_LEAD = re.compile(rf"^(?P<agency>{_HEAD}\b[^;:.()]{{0,160}}?)\s+(?P<verb>{_ROLE_VERBS})\b", re.UNICODE)
# Where an agency's name ends in a heading that goes on ("Ban kiểm soát có nhiệm vụ, quyền hạn sau đây").
_NAME_END = re.compile(r"\s+(?:có nhiệm vụ|có trách nhiệm|có nghĩa vụ|có quyền|chịu trách nhiệm)\b")
_NOT_NAME = re.compile(r"\s(?:là|được|khi|nếu|theo|của hợp tác xã|có|do|bao gồm|yêu cầu)\s|\d")
_RECEIVER = re.compile(rf"(?P<verb>gửi|giao|phối hợp với)\s+(?P<agency>{_HEAD}\b[^,;:.()]{{0,80}}?)(?=\s+(?:để|trước|tổng|theo|thẩm|xem)|[,;:.()]|$)")
_IN_CHARGE = re.compile(r"(?P<agency>(?:Sở|Phòng|Ban|Liên minh)\b[^,;:.()]{0,80}?)\s+là cơ quan")
_SPLIT = re.compile(r",\s*|\s+và\s+(?=(?:các\s+)?(?:Sở|Phòng|Ban|UBND|Ủy ban|Đảng|Mặt trận|Liên minh|huyện|thành|"
                    r"Hội|tổ chức|đảng)\b)", re.IGNORECASE)
_DEADLINE = re.compile(
    r"trước ngày \d{1,2} tháng \d{1,2}(?: năm \d{4}| hằng năm| hàng năm)?|trước ngày \d{1,2}/\d{1,2}/\d{4}|"
    r"(?:trong |hoàn thành trong |hoàn thành trước )?quý [IV]+[-/ ]?\d{4}|định kỳ hằng năm|định kỳ hàng năm|"
    r"hằng năm|hàng năm|trong năm \d{4}|giai đoạn \d{4}\s*[-–]\s*\d{4}",
    re.IGNORECASE,
)
_CLOSING = re.compile(r"^(?:Nơi nhận|NƠI NHẬN)")
# Words that make a heading a topic rather than an agency ("Ban hành…", "Công tác…").
_NOT_AGENCY = re.compile(r"^(?:Ban hành|Bộ máy|Cơ quan tham mưu, giúp việc Tỉnh ủy\b(?!,))")
# Abbreviations in agency names, for matching ("Sở KH&ĐT" = "Sở Kế hoạch và Đầu tư").
_ALIASES = {
    "kh&đt": "kế hoạch và đầu tư", "kh-đt": "kế hoạch và đầu tư", "tc-kh": "tài chính - kế hoạch",
    "nn&ptnt": "nông nghiệp và phát triển nông thôn", "nn-ptnt": "nông nghiệp và phát triển nông thôn",
    "tt&tt": "thông tin và truyền thông", "tn&mt": "tài nguyên và môi trường", "tn-mt": "tài nguyên và môi trường",
    "ubnd": "ủy ban nhân dân", "hđnd": "hội đồng nhân dân", "ubmttqvn": "ủy ban mặt trận tổ quốc việt nam",
    "ubmttq": "ủy ban mặt trận tổ quốc", "mttq": "mặt trận tổ quốc", "htx": "hợp tác xã", "vh-tt": "văn hóa - thông tin",
    "lđtb&xh": "lao động - thương binh và xã hội",
}


@dataclass
class Duty:
    agency: str  # as written in the document
    key: str  # normalised name, for matching
    place: str
    role: str  # chủ trì | phối hợp | đề nghị | thực hiện | tiếp nhận
    task: str  # verbatim from the normalised document
    deadline: str | None
    source: str
    title: str
    section: str
    start: int
    end: int

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("key")
        return data


def agency_key(name: str) -> str:
    """Normalised agency name: modern tones, one dash, abbreviations expanded, accents folded."""
    c = canonical(name)
    for short, full in _ALIASES.items():
        c = re.sub(r"(?<!\w)" + re.escape(short) + r"(?!\w)", full, c)
    c = re.sub(r"^(?:đề nghị|các)\s+", "", c)
    c = re.sub(r"\s*-\s*", " - ", c)
    return re.sub(r"\s+", " ", fold(c)).strip(" ,.;:")


def _clean_agency(text: str) -> str:
    text = _MARKER.sub("", text).strip().rstrip(":").strip()
    text = re.sub(r"^Đề nghị\s+", "", text)
    return text.strip(" ,;")


def _role(task: str, default: str) -> str:
    t = fold(canonical(_MARKER.sub("", task)))
    if t.startswith("chu tri") or " chu tri" in t[:120]:
        return "chủ trì"
    if t.startswith("phoi hop"):
        return "phối hợp"
    return default


def _deadline(task: str) -> str | None:
    found = [m.group(0) for m in _DEADLINE.finditer(task)]
    specific = [d for d in found if re.search(r"\d", d)]
    return (specific or found or [None])[0]


def _place(document: SourceDocument) -> str:
    """The place the document's agencies belong to ("Cam Ranh, Khánh Hòa"; "toàn quốc")."""
    return document.metadata.get("place") or ", ".join(places_in(document.title)) or ""


class _Walker:
    def __init__(self, document: SourceDocument):
        self.doc = document
        self.paragraphs = document.text.split("\n")
        self.starts, offset = [], 0
        for p in self.paragraphs:
            self.starts.append(offset)
            offset += len(p) + 1
        self.place = _place(document)
        self.duties: list[Duty] = []

    def add(self, agency: str, role: str, i: int, path: list[str]) -> None:
        task = self.paragraphs[i]
        key = agency_key(agency)
        if len(key) < 4 or len(agency) > 100 or _NOT_AGENCY.match(agency) or _NOT_NAME.search(f" {agency} "):
            return
        if any(d.key == key and d.start == self.starts[i] for d in self.duties):
            return
        self.duties.append(Duty(
            agency=agency, key=key, place=self.place, role=role, task=task, deadline=_deadline(task),
            source=self.doc.source, title=self.doc.title, section=" › ".join(path),
            start=self.starts[i], end=self.starts[i] + len(task),
        ))

    def walk(self, node: _Node, path: list[str]) -> None:
        heading = self.paragraphs[node.paragraph] if node.paragraph is not None else ""
        if _CLOSING.match(heading):
            return  # distribution list and signature: no assignments
        here = path + [node.label] if node.label else path
        bare = _clean_agency(heading)
        end = _NAME_END.search(bare)
        name = bare[:end.start()] if end else bare
        pure_name = not end and len(bare) <= 130 and not _LEAD.match(bare) and not re.search(r"[.;]", bare)
        if heading and _AGENCY_HEADING.match(name) and node.items and (pure_name or end):
            # rule 1: a section headed by an agency — its items are its tasks
            default = "đề nghị" if re.search(r"(?:^|\.\s*)Đề nghị", heading) else "thực hiện"
            intro_role = None
            for item in node.items:
                rows = [item] if isinstance(item, int) else self._all(item)
                for i in rows:
                    text = self.paragraphs[i]
                    if text.rstrip().endswith(":") and not _MARKER.match(text):
                        intro_role = _role(text, default)  # "Chủ trì, phối hợp … các nội dung sau:"
                        continue
                    self.add(name, _role(text, intro_role or default), i, here)
                    self.scan(i, here, lead=False)  # "…, gửi Sở Kế hoạch và Đầu tư trước ngày …"
            return
        for i in ([node.paragraph] if node.paragraph is not None else []) + [
                x for x in node.items if isinstance(x, int)]:
            self.scan(i, here if i != node.paragraph else path + ([node.label] if node.label else []))
        for item in node.items:
            if not isinstance(item, int):
                self.walk(item, here)

    def _all(self, node: _Node) -> list[int]:
        out = [node.paragraph] if node.paragraph is not None else []
        for item in node.items:
            out += [item] if isinstance(item, int) else self._all(item)
        return out

    def scan(self, i: int, path: list[str], lead: bool = True) -> None:
        """Rules 2 and 3 on one paragraph (rule 2 only when no section heading owns it)."""
        text = self.paragraphs[i]
        body = _MARKER.sub("", text)
        asked = body.startswith("Đề nghị ")
        m = _LEAD.match(body[len("Đề nghị "):] if asked else body) if lead else None
        if m:
            role = "đề nghị" if asked else "chủ trì" if m.group("verb") == "chủ trì" else "thực hiện"
            for agency in _SPLIT.split(m.group("agency")):
                agency = agency.strip()
                if _AGENCY_HEADING.match(agency[0].upper() + agency[1:] if agency else agency):
                    self.add(agency, role, i, path)
        for m in _RECEIVER.finditer(body):
            role = {"gửi": "tiếp nhận", "giao": "thực hiện", "phối hợp với": "phối hợp"}[m.group("verb")]
            if role == "phối hợp":
                continue  # partners of every task would swamp the directory; the lead is what counts
            self.add(m.group("agency").strip(), role, i, path)
        for m in _IN_CHARGE.finditer(body):
            self.add(m.group("agency").strip(), "thực hiện", i, path)


def extract_duties(document: SourceDocument) -> list[Duty]:
    """Every assignment in one document, in document order."""
    walker = _Walker(document)
    walker.walk(_outline(walker.paragraphs), [])
    return sorted(walker.duties, key=lambda d: (d.start, d.key))


@dataclass
class Directory:
    duties: list[Duty]

    def agencies(self) -> list[tuple[str, str, int]]:
        """(agency as written, place, number of tasks), most tasks first."""
        counts: dict[tuple[str, str], list] = {}
        for d in self.duties:
            entry = counts.setdefault((d.key, d.place), [d.agency, 0])
            entry[1] += 1
        return sorted(((name, place, n) for (_, place), (name, n) in counts.items()), key=lambda x: (-x[2], x[0]))

    def named_agency(self, query: str) -> str | None:
        """The agency a question names, as typed ("Sở Công Thương"), or None."""
        m = re.search(r"(?<!\w)((?:Sở|Phòng|Ban|Trung tâm|Liên minh|Ủy ban|Uỷ ban|UBND|Đảng đoàn|Bộ)\s[^?,;:.]{2,80}?)"
                      r"(?=\s+(?:có|được|phải|làm|chủ trì|thì|ở|tại|của)\b|[?,;:.]|$)", query)
        return m.group(1).strip() if m else None

    def find(self, query: str, sources: list[str] | None = None) -> tuple[list[str], list[Duty]]:
        """Duties of the agency the query names ("Sở KH&ĐT Quảng Nam", accents optional).

        Returns the normalised names matched and their duties in document order.
        """
        places = places_in(query)
        q = agency_key(self.named_agency(query) or query)  # "Ủy ban nhân dân các huyện ở …" → the name
        for place in places:
            q = re.sub(r"(?<!\w)(?:tinh |thanh pho |tp\.? )?" + re.escape(fold(canonical(place))) + r"(?!\w)", " ", q)
        q = re.sub(r"\b(?:co nhiem vu gi|nhiem vu cua|nhiem vu|duoc giao|nhung gi|gi|la|cua|o|tai|co|trach nhiem)\b",
                   " ", q)
        q = re.sub(r"\s+", " ", q).strip(" ?,.")
        if len(q) < 3:
            return [], []
        keys = {d.key for d in self.duties}
        # the query must name an agency ("sở …", "phòng …"), not merely share words with one
        named = re.match(r"(?:so|phong|ban|trung tam|uy ban|lien minh|mat tran|hoi dong|dang doan|bo|chinh phu|"
                         r"thu truong|co quan|quy|cap uy)\b", q)
        matched = sorted(k for k in keys if named and _phrase_in(q, k))
        if not matched:  # the full name inside a longer question, or its words in another order
            matched = sorted(k for k in keys if _phrase_in(k, q) or (named and _words_in(q, k)))
        duties = [d for d in self.duties if d.key in matched
                  and (not places or any(p in d.place or d.place in p for p in places))
                  and (not sources or d.source in sources)]
        return sorted({d.key for d in duties}), duties


def _phrase_in(needle: str, hay: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", hay) is not None


def _words_in(query: str, key: str) -> bool:
    words = [w for w in query.replace("-", " ").split() if len(w) > 1]
    kw = set(key.replace("-", " ").split())
    return len(words) >= 2 and all(w in kw for w in words)


def build_directory(documents: list[SourceDocument]) -> Directory:
    return Directory([d for doc in documents for d in extract_duties(doc)])


def save_directory(directory: Directory, path) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for d in directory.duties:
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")


def load_directory(path) -> Directory:
    import json

    with open(path, encoding="utf-8") as f:
        return Directory([Duty(**json.loads(line)) for line in f if line.strip()])
