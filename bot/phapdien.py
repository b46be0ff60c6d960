"""Stage 1b — the Pháp điển reader: one codified topic → one document per source instrument.

A Pháp điển topic (``12.4_hop-tac-xa.md``) interleaves the articles of a Law, its decrees
and circulars by subject. Each article is headed by its Pháp điển code
(``Điều 12.4.NĐ.3.34. Hồ sơ …``) and followed by a note naming the instrument it comes
from, its original article number and when it took effect, sometimes also which parts
were repealed or amended later. Citizens and officials cite the *instrument* ("Điều 34
Nghị định 92/2024/NĐ-CP"), never the code, so the topic is read as the instruments it
contains: each becomes a :class:`SourceDocument` of its own articles, each article a
:class:`Unit` carrying its code, original number, effective date, status and links.

Recognised by structure, not by file name: several code headings each followed by an
instrument note. The YAML front matter gives the topic title; the metadata table, the
trailing heading index (``### 1200400…`` lines) and the chapter lines of the topic (which
belong to the topic, not to any instrument) never reach the text. Notes and
cross-reference lines are kept as article metadata, not as answer text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from .vietnamese import fold

# "Điều 12.4.NĐ.3.34. Title" — topic number, kind letters, instrument and article numbers.
CODE_HEADING = re.compile(r"^Điều\s+(\d+\.\d+\.[A-ZĐ]+(?:\.\d+[a-z]?)+)\.?\s*(.*)$")
_KINDS = ("Bộ luật", "Bộ Luật", "Luật", "Nghị định", "Thông tư liên tịch", "Thông tư", "Quyết định",
          "Nghị quyết liên tịch", "Nghị quyết", "Pháp lệnh", "Lệnh", "Sắc lệnh", "Chỉ thị")
# "(Điều 34 Nghị định số 92/2024/NĐ-CP Về … ngày 18/07/2024 của Chính phủ, có hiệu lực …)"
# (Variants seen in other topics: "(*Điều 3 …", "(27 Nghị định …" without "Điều", "(Mục 5 …".)
_NOTE_HEAD = r"^\(\s*\*?\s*(?P<unit>Điều|Mục|Khoản)?\s*(?P<article>\d+[a-z]?)\s+(?P<kind>" + "|".join(_KINDS) + r")\s+số\s"
NOTE = re.compile(_NOTE_HEAD + r"+(?P<number>[^\s,()]+)(?P<rest>.*)\)\s*$")
_ISSUED = re.compile(r"^\s*(?P<title>.*)\s+ngày\s+(?P<date>\d{1,2}/\d{1,2}/\d{4})\s+của\s+(?P<issuer>.+?)\s*$")
_EFFECTIVE = re.compile(r"có hiệu lực (?:thi hành )?kể từ ngày\s+(\d{1,2}/\d{1,2}/\d{4})")
_STATUS = re.compile(r",\s*(có nội dung (?:bị|được)\s.+)$")
_NOTE_START = re.compile(_NOTE_HEAD)  # a note whose closing parenthesis is on a later line
CROSS_REF = re.compile(r"^\((?:Điều|Chương|Mục|Phần|Tiểu mục) này có nội dung liên quan đến\s*(.*)\)\s*$")
_CHAPTER = re.compile(r"^(?:Phần|PHẦN|Chương|CHƯƠNG|Mục|MỤC)\s+(?:[IVXLC]+|\d+|thứ\s+\w+)\b\.?\s*(.*)$")
_INDEX_START = re.compile(r"^#{1,3}\s*Danh sách điều khoản", re.IGNORECASE)
_BODY_START = re.compile(r"^#{1,3}\s*VĂN BẢN\s*$")


@dataclass
class Instrument:
    """A Law, decree, circular… as the notes describe it (first full mention wins)."""

    kind: str
    number: str
    about: str = ""  # "Về đăng ký tổ hợp tác, …" / "Luật Hợp tác xã"
    date: str = ""  # date of issue
    issuer: str = ""
    effective: str = ""  # earliest effective date among its articles

    @property
    def key(self) -> str:
        return self.number.upper()

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", fold(self.number).lower()).strip("-")

    @property
    def short_title(self) -> str:
        """How people name it: "Luật Hợp tác xã 2023", "Nghị định 92/2024/NĐ-CP"."""
        year = self.date[-4:] if self.date else (re.search(r"/(\d{4})/", self.number) or [None, ""])[1]
        if self.kind.lower() in ("luật", "bộ luật") and self.about.lower().startswith(("luật", "bộ luật")):
            return f"{self.about} {year}".strip()
        return f"{self.kind} {self.number}"

    @property
    def title(self) -> str:
        if self.kind.lower() in ("luật", "bộ luật") and self.about:
            return f"{self.short_title} (Luật số {self.number})"
        about = self.about[:1].lower() + self.about[1:] if self.about else ""
        return f"{self.kind} {self.number} {about}".strip()


@dataclass
class Article:
    code: str  # "12.4.NĐ.3.34"
    heading: str  # the heading line as printed
    title: str  # "Hồ sơ, trình tự, thủ tục …"
    body: list[str] = field(default_factory=list)
    instrument: str = ""  # Instrument.key
    number: str = ""  # original article number ("34")
    effective: str = ""
    status: str = ""  # "có nội dung bị bãi bỏ bởi Điều 13 Nghị định số 104/2022/NĐ-CP …"
    links: list[str] = field(default_factory=list)
    chapter: str = ""  # the topic chapter it is filed under
    order: int = 0  # position in the topic


def is_phapdien(lines: list[str]) -> bool:
    """Several code headings, each followed (after blank lines) by an instrument note."""
    found = 0
    for i, line in enumerate(lines):
        if CODE_HEADING.match(line.strip()):
            following = next((x.strip() for x in lines[i + 1:i + 6] if x.strip()), "")
            if NOTE.match(following):
                found += 1
                if found >= 3:
                    return True
    return False


def _front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """YAML front matter (``---`` … ``---``) as a dict, and the index of the next line."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    meta = {}
    for i in range(1, min(len(lines), 60)):
        if lines[i].strip() == "---":
            return meta, i + 1
        key, _, value = lines[i].partition(":")
        if value:
            meta[key.strip()] = value.strip()
    return {}, 0


# A heading glued to the end of the previous article ("…tạm ứng.Điều 12.4.TT.1.16. Quản lý…").
_GLUED = re.compile(r"(?<=[.;:!?…)”\"])\s*(?=Điều\s+\d+\.\d+\.[A-ZĐ]+(?:\.\d+[a-z]?)+\.\s)")


def _unglue(lines: list[str]) -> list[str]:
    """Put a code heading that ends another line on its own line (when a note follows)."""
    out = []
    for i, line in enumerate(lines):
        cuts = [m.start() for m in _GLUED.finditer(line) if m.start() > 0]
        following = next((x.strip() for x in lines[i + 1:i + 6] if x.strip()), "")
        if cuts and NOTE.match(following):
            out += [line[:cuts[-1]].rstrip(), line[cuts[-1]:].lstrip()]
        else:
            out.append(line)
    return out


def parse_topic(lines: list[str]) -> tuple[dict[str, str], list[Article], dict[str, Instrument]]:
    """Topic metadata, its articles in order, and the instruments they come from.

    ``lines`` are NFC-normalised, hard wraps already joined (one paragraph per line)."""
    lines = _unglue(lines)
    meta, start = _front_matter(lines)
    body_from = next((i + 1 for i in range(start, len(lines)) if _BODY_START.match(lines[i].strip())), start)
    articles: list[Article] = []
    instruments: dict[str, Instrument] = {}
    chapter, pending_chapter = "", False
    current: Article | None = None
    note_parts: list[str] = []
    for raw in lines[body_from:]:
        line = raw.strip()
        if _INDEX_START.match(line):
            break  # the heading index repeats the titles: not text
        if not line or line.startswith("#"):
            continue  # the topic's own "# Hợp tác xã" title
        heading = CODE_HEADING.match(line)
        if heading:
            current = Article(code=heading.group(1), heading=line, title=heading.group(2).strip(),
                              chapter=chapter, order=len(articles))
            articles.append(current)
            pending_chapter = False
            continue
        chap = _CHAPTER.match(line)
        if chap and len(line) <= 200 and not line.endswith((".", ";", ",")) \
                and (not chap.group(1) or _is_upper(chap.group(1))):
            chapter, pending_chapter = line, not chap.group(1)
            continue
        if pending_chapter and _is_upper(line):
            chapter, pending_chapter = f"{chapter} {line}", False
            continue
        pending_chapter = False
        if current is None:
            continue  # text before the first article
        if note_parts:  # a note broken over lines: join until its closing parenthesis
            note_parts.append(line)
            if not line.endswith(")") and len(note_parts) < 6:
                continue
            line, note_parts = " ".join(note_parts), []
        elif _NOTE_START.match(line) and not line.endswith(")") and not current.instrument and not current.body:
            note_parts = [line]
            continue
        note = NOTE.match(line)
        if note and not current.instrument and not current.body:
            _apply_note(current, note, instruments)
            continue
        ref = CROSS_REF.match(line)
        if ref:
            current.links += [x.strip() for x in ref.group(1).split(";") if x.strip()]
            continue
        current.body.append(line)
    _adopt_orphans(articles)
    return meta, articles, instruments


def _adopt_orphans(articles: list[Article]) -> None:
    """An article printed without its note (or with no text at all) belongs to the
    instrument of its code siblings: "12.4.NĐ.3.21" is an article of whatever "12.4.NĐ.3.*"
    come from, and its number is the code's last part."""
    by_prefix = {a.code.rsplit(".", 1)[0]: a.instrument for a in articles if a.instrument}
    for a in articles:
        if not a.instrument:
            prefix, _, number = a.code.rpartition(".")
            if prefix in by_prefix:
                a.instrument, a.number = by_prefix[prefix], number


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _apply_note(article: Article, note: re.Match[str], instruments: dict[str, Instrument]) -> None:
    kind = "Bộ luật" if note.group("kind").lower() == "bộ luật" else note.group("kind")
    number = note.group("number").rstrip(".")
    rest = note.group("rest")
    instrument = instruments.setdefault(number.upper(), Instrument(kind=kind, number=number))
    head = rest.split(", có hiệu lực", 1)[0]
    issued = _ISSUED.match(head)
    if issued and not instrument.about:  # the full mention also spells the number best
        instrument.number, instrument.about, instrument.date, instrument.issuer = (
            number, issued.group("title").strip(), issued.group("date"), issued.group("issuer").strip())
    effective = _EFFECTIVE.search(rest)
    number_in_code = article.code.rsplit(".", 1)[-1]
    article.instrument = instrument.key
    article.number = note.group("article") if note.group("unit") in (None, "Điều") else number_in_code
    article.effective = effective.group(1) if effective else ""
    if article.effective and (not instrument.effective or _date_key(article.effective) < _date_key(instrument.effective)):
        instrument.effective = article.effective
    status = _STATUS.search(rest.rstrip())
    article.status = status.group(1).strip() if status else ""


def _date_key(date: str) -> tuple[int, ...]:
    d, m, y = (int(x) for x in date.split("/"))
    return (y, m, d)


def topic_code(articles: list[Article]) -> str:
    """"12.4" from the article codes."""
    return ".".join(articles[0].code.split(".")[:2]) if articles else ""


def instrument_documents(lines: list[str], source: str) -> list[dict]:
    """The instruments of a topic as document records: text, units, metadata, hash.

    Returned as plain dicts so that :mod:`bot.documents` builds its own dataclasses;
    the text of each is the article headings and bodies, verbatim, one per line."""
    meta, articles, instruments = parse_topic(lines)
    topic = meta.get("title", "") or source
    code = topic_code(articles)
    groups: dict[str, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.instrument, []).append(article)
    out = []
    used: set[str] = set()
    from .documents import clean_lines

    for key, items in groups.items():
        instrument = instruments.get(key) or Instrument(kind="Pháp điển", number="", about=f"đề mục {code} {topic}")
        parts, units, offset = [], [], 0
        for article in items:
            start = offset
            heading = clean_lines([(article.heading, None)])[0]
            body = clean_lines([(line, None) for line in article.body])[0]
            block = f"{heading}\n{body}" if body else heading
            parts.append(block)
            offset += len(block) + 1
            label = f"Điều {article.number}. {article.title}".strip() if article.number else article.heading
            unit_meta = {"article": f"Điều {article.number}" if article.number else "", "pd_code": f"Điều {article.code}",
                         "effective": article.effective, "status": article.status, "chapter": article.chapter,
                         "links": "; ".join(article.links), "order": article.order}
            units.append({"start": start, "end": start + len(block), "label": label,
                          "number": article.number, "meta": {k: v for k, v in unit_meta.items() if v != ""}})
        text = "\n".join(parts)
        # two instruments may fold to one slug ("01/2016/NQ-HĐTP" and "01/2016/NQ.HĐTP" in
        # the criminal-law topic): each needs its own id, or indexing one replaces the other
        slug = base = instrument.slug or "khac"
        n = 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        metadata = {
            "short_title": instrument.short_title if instrument.number else instrument.title,
            "kind": instrument.kind, "number": instrument.number, "issuer": instrument.issuer,
            "date": instrument.date, "effective": instrument.effective, "place": "toàn quốc",
            "topic": f"Pháp điển {code} {topic}".strip(), "file": source,
        }
        digest = hashlib.sha256((text + json.dumps(units, ensure_ascii=False, sort_keys=True)
                                 + json.dumps(metadata, ensure_ascii=False, sort_keys=True)).encode()).hexdigest()
        out.append({"source": f"{source}#{slug}", "title": instrument.title, "text": text, "units": units,
                    "metadata": {k: v for k, v in metadata.items() if v}, "sha256": digest})
    return out
