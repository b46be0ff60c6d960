"""Quantitative targets (2025/2030/2045) extracted from the plans, for side-by-side comparison.

Each plan states its targets under a horizon heading ("a) Đến năm 2030", "2.2. Tầm nhìn đến
năm 2045", "- Đến năm 2030:"); each target is a number or a percentage followed by what it
counts ("400 hợp tác xã", "trên 50% hợp tác xã ứng dụng công nghệ cao"). The value is kept as
written and, where possible, as a number or range; the paragraph it comes from is kept
verbatim with its offsets, so every cell of a comparison can be cited.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .documents import SourceDocument
from .vietnamese import canonical, fold

_HORIZON = re.compile(r"^(?:[-+*•]\s*|[a-zđ]\)\s*|\d+(?:\.\d+)*\.\s*)?(?:Tầm nhìn\s+)?đến năm (\d{4})\s*:?\s*$",
                      re.IGNORECASE)
_HORIZON_INLINE = re.compile(r"(?:phấn đấu )?(?:đến|tới) năm (20\d\d)", re.IGNORECASE)
_QUANTITY = re.compile(
    r"(?P<value>(?:(?i:ít nhất|tối thiểu|trên|hơn|khoảng|từ|đạt|chiếm|có)\s+)?"
    r"\d{1,3}(?:\.\d{3})*(?:,\d+)?\s*%?(?:\s*[-–]\s*\d{1,3}(?:\.\d{3})*(?:,\d+)?\s*%?)?)"
    r"(?=(?P<rest>(?:[^;.]|\.(?=\d)){0,160}))"
)
# (indicator, folded keywords that must occur right after the value), first match wins
_INDICATORS_PERCENT = [
    ("% bán qua thương mại điện tử", ("thuong mai dien tu",)),
    ("% ứng dụng công nghệ cao", ("cong nghe cao",)),
    ("% dân số tham gia", ("dan so",)),
    ("% có lao động trẻ", ("lao dong tre",)),
    ("% truy xuất nguồn gốc", ("truy xuat",)),
    ("% khá, tốt / hiệu quả", ("kha", "tot", "hieu qua")),
    ("% liên kết chuỗi giá trị", ("chuoi", "lien ket")),
]
_INDICATORS_COUNT = [
    ("Số liên hiệp HTX", ("lien hiep hop tac xa",)),
    ("Số tổ hợp tác", ("to hop tac",)),
    ("Số hợp tác xã", ("hop tac xa",)),
    ("Số mô hình HTX", ("mo hinh",)),
    ("Số thành viên", ("thanh vien",)),
]


@dataclass
class Target:
    source: str
    title: str
    place: str
    year: int
    indicator: str
    value: str  # as written: "400", "60-70%", "trên 50%", "ít nhất 03"
    low: float | None
    high: float | None
    subject: str  # the words after the value, verbatim
    passage: str  # the paragraph, verbatim
    section: str
    start: int
    end: int

    def to_json(self) -> dict:
        return asdict(self)


def parse_number(text: str) -> float:
    """Vietnamese number: "5.200" = 5200, "12,5" = 12.5."""
    return float(text.replace(".", "").replace(",", "."))


def _range(value: str) -> tuple[float | None, float | None]:
    numbers = [parse_number(n) for n in re.findall(r"\d{1,3}(?:\.\d{3})*(?:,\d+)?", value)]
    if not numbers:
        return None, None
    v = fold(value.lower())
    if len(numbers) >= 2:
        return numbers[0], numbers[1]
    if v.startswith(("it nhat", "toi thieu", "tren", "hon")):
        return numbers[0], None
    return numbers[0], numbers[0]


def _nearest(text: str, table: list[tuple[str, tuple[str, ...]]]) -> str | None:
    """The indicator whose keyword occurs first in ``text``."""
    best = None
    for name, keys in table:
        for k in keys:
            i = text.find(k)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, name)
    return best[1] if best else None


def _indicator(value: str, rest: str, before: str, previous: str | None) -> str | None:
    after = fold(canonical(rest))[:90]
    if "%" in value:
        # "… đạt khá, tốt chiếm 60-70% tổng số …": the words may also come just before
        return _nearest(after, _INDICATORS_PERCENT) or _nearest(fold(canonical(before))[-60:][::-1][::-1],
                                                                  _INDICATORS_PERCENT)
    head = after.strip()[:40]
    for name, keys in _INDICATORS_COUNT:
        if any(head.startswith(k) or head.startswith("moi " + k) for k in keys):
            if name == "Số thành viên" and previous in ("Số tổ hợp tác", "Số hợp tác xã"):
                return f"Thành viên ({previous[3:]})"
            return name
    return None


def extract_targets(document: SourceDocument, section_of=None) -> list[Target]:
    """All quantitative targets in a plan (not in the Law), in document order."""
    if document.metadata.get("kind") == "Luật":
        return []
    paragraphs = document.text.split("\n")
    out: list[Target] = []
    year: int | None = None
    offset = 0
    for line in paragraphs:
        start = offset
        offset += len(line) + 1
        stripped = line.strip()
        m = _HORIZON.match(stripped)
        if m:
            year = int(m.group(1))
            continue
        if re.match(r"^(?:[IVXLC]+\.|\d+\.(?!\d))\s", stripped) and not re.search(r"mục tiêu", stripped, re.I):
            year = None  # a new section that is not about targets
        if re.match(r"^(?:[IVXLC]+\.)\s", stripped):
            year = None
        if year is None:
            continue
        previous = None
        for q in _QUANTITY.finditer(line):
            value = q.group("value").strip()
            if re.fullmatch(r"(?:19|20)\d\d", value):  # a year, not a target
                continue
            inline = _HORIZON_INLINE.search(line[:q.start()])
            horizon = int(inline.group(1)) if inline and int(inline.group(1)) != year and "2025" == inline.group(1) \
                else year
            indicator = _indicator(value, q.group("rest"), line[max(0, q.start() - 60):q.start()], previous)
            if indicator is None:
                continue
            if not indicator.startswith("Thành viên"):
                previous = indicator
            low, high = _range(value)
            out.append(Target(
                source=document.source, title=document.title, place=document.metadata.get("place", ""),
                year=horizon, indicator=indicator, value=value, low=low, high=high,
                subject=q.group("rest").strip(" ,"), passage=line, section=section_of(start) if section_of else "",
                start=start, end=start + len(line),
            ))
    return out


def build_targets(documents: list[SourceDocument]) -> list[Target]:
    from .chunking import chunk_document

    out = []
    for doc in documents:
        chunks = chunk_document(doc)

        def section_of(offset: int, chunks=chunks) -> str:
            for c in chunks:
                if c.start <= offset < c.end + 1:
                    return c.section
            return ""

        out += extract_targets(doc, section_of)
    return out


def comparison(targets: list[Target], year: int, sources: list[str] | None = None) -> tuple[list[str], list[str], dict]:
    """(indicators, places, {(indicator, place): [targets]}) for one horizon."""
    chosen = [t for t in targets if t.year == year and (not sources or t.source in sources)]
    indicators = list(dict.fromkeys(t.indicator for t in chosen))
    places = list(dict.fromkeys(t.place for t in chosen))
    cells: dict[tuple[str, str], list[Target]] = {}
    for t in chosen:
        cells.setdefault((t.indicator, t.place), []).append(t)
    return indicators, places, cells


def markdown_table(targets: list[Target], year: int, sources: list[str] | None = None,
                   places: list[str] | None = None) -> tuple[str, list[Target]]:
    """A Markdown comparison (indicators × places) whose cells carry [n]; returns the table
    and the passages in citation order (n = position + 1)."""
    indicators, all_places, cells = comparison(targets, year, sources)
    if places:
        all_places = [p for p in all_places if any(q in p for q in places)]
    cited: list[tuple[str, int]] = []
    passages: list[Target] = []

    def ref(t: Target) -> int:
        key = (t.source, t.start)
        if key not in cited:
            cited.append(key)
            passages.append(t)
        return cited.index(key) + 1

    rows = []
    for indicator in indicators:
        row = []
        for place in all_places:
            found = cells.get((indicator, place), [])
            row.append("; ".join(f"{t.value} [{ref(t)}]" for t in found) or "—")
        if any(c != "—" for c in row):
            rows.append(f"| {indicator} | " + " | ".join(row) + " |")
    if not rows or not all_places:
        return "", []
    header = f"| Chỉ tiêu đến năm {year} | " + " | ".join(p.split(",")[0] for p in all_places) + " |"
    return "\n".join([header, "|" + "---|" * (len(all_places) + 1)] + rows), passages


def save_targets(targets: list[Target], path) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for t in targets:
            f.write(json.dumps(asdict(t), ensure_ascii=False) + "\n")


def load_targets(path) -> list[Target]:
    import json

    with open(path, encoding="utf-8") as f:
        return [Target(**json.loads(line)) for line in f if line.strip()]
