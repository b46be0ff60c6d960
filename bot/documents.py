"""Stage 1 — documents: read files of any supported type into clean, normalised text.

Real documents arrive messy: hard line breaks inside sentences, Markdown emphasis,
tab characters, a stray file-path line, text in legacy code pages. This stage turns each
file into one *normalised source* string (NFC, one paragraph per line, hard wraps joined,
emphasis removed). Every later offset and every cited passage refers to that string, so
a citation can always be checked against it.

Unreadable files never stop the run: they come back as :class:`Skipped` with a reason.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable

import yaml

from .vietnamese import fold, nfc

SUPPORTED = {".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"}
DEFAULT_MAX_UNZIPPED = 40_000_000  # bytes a DOCX may expand to (BOT_MAX_UNZIPPED_MB)
CATALOG_FILE = "catalog.yaml"
META_FIELDS = ("title", "short_title", "issuer", "number", "date", "place", "kind", "signer")

# Sentence-final (or clause-final) characters: a line ending in one is not hard-wrapped.
_TERMINAL = ".:;!?…\"”’)»"
# A line that opens a list item even though it starts in lower case: "a)", "đ)".
_LETTER_ITEM = re.compile(r"^[a-zđ]\)\s")
# A stray Windows/Unix path line (the Quảng Nam letter carries one after its recipients).
_PATH_START = re.compile(r"^(?:[A-Za-z]:\\|\\\\|/(?:home|Users|mnt)/)")
_PATH_END = re.compile(r"\.(?:docx?|pdf|txt|xlsx?|odt|rtf)\s*$", re.IGNORECASE)
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_EMPHASIS = re.compile(r"\*\*|__")
# "[Bộ luật Dân sự](https://…)" → "Bộ luật Dân sự": the Pháp điển links the laws it names
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|/)[^)\s]*\)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Removed from every line: control characters and invisible format characters (zero-width
# space/joiners, word joiner, BOM), which a pasted or hostile file can carry by the thousand.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b-\u200f\u2060-\u2064\ufeff]")
# Evidence of a binary file: C0 controls only (invisible format characters are text).
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UnreadableError(Exception):
    """A file that cannot become text; the message is the reason shown to the user."""


@dataclass
class Unit:
    """An article of a legal text: what a citation names ("Điều 34 Nghị định 92/2024/NĐ-CP")
    and what a question quoting "khoản 2 Điều 34" is answered from."""

    start: int  # offsets into SourceDocument.text
    end: int
    label: str  # "Điều 34. Hồ sơ, trình tự, thủ tục …"
    number: str  # original article number, "34"
    meta: dict[str, str | int] = field(default_factory=dict)  # Pháp điển code, effective date, status…


@dataclass
class SourceDocument:
    """One document as the rest of the pipeline sees it."""

    source: str  # path relative to the documents folder, with "/" — also the document id
    title: str
    text: str  # the normalised source; chunk offsets index into it
    sha256: str  # hash of the file's bytes: the incremental indexer's change detector
    metadata: dict[str, str] = field(default_factory=dict)
    # (offset in text, page number) for paginated formats; empty for plain text
    pages: list[tuple[int, int]] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)  # articles, in text order

    def unit_at(self, offset: int) -> Unit | None:
        """The article in which ``offset`` lies."""
        for unit in self.units:
            if unit.start <= offset < unit.end or (unit.start == offset == unit.end):
                return unit
        return None

    def page_at(self, offset: int) -> int | None:
        """The page on which ``offset`` lies, for PDF citations."""
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


@dataclass
class Skipped:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"Bỏ qua {self.source}: {self.reason}"


# ---------------------------------------------------------------- decoding ----

def decode_bytes(data: bytes) -> str:
    """Bytes → text, trying UTF-8, UTF-16 and the Vietnamese/Western Windows code pages.

    Raises :class:`UnreadableError` for empty or binary input rather than guessing:
    cp1258 accepts almost any byte string, so binary junk is detected first.
    """
    if not data.strip():
        raise UnreadableError("tệp rỗng")
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableError(f"mã hóa {codec} hỏng ({exc.reason})") from exc
    try:
        return _check_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    # UTF-16 without BOM: every other byte is NUL for Latin/Vietnamese text.
    if len(data) >= 4 and data.count(b"\x00") >= len(data) // 4:
        for codec in ("utf-16-le", "utf-16-be"):
            try:
                return _check_text(data.decode(codec))
            except (UnicodeDecodeError, UnreadableError):
                continue
    if b"\x00" in data:
        raise UnreadableError("tệp nhị phân, không phải văn bản")
    for codec in ("cp1258", "cp1252"):
        try:
            return _check_text(data.decode(codec))
        except UnicodeDecodeError:
            continue
    raise UnreadableError("không nhận ra bảng mã (đã thử UTF-8, UTF-16, Windows-1258, Windows-1252)")


def _check_text(text: str) -> str:
    """Reject decoded strings that are mostly control characters or lack letters."""
    controls = len(_BINARY.findall(text))
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise UnreadableError("tệp nhị phân, không phải văn bản")
    return text


# ---------------------------------------------------------------- cleaning ----

def clean_lines(lines: Iterable[tuple[str, int | None]], markdown: bool = True) -> tuple[str, list[tuple[int, int]]]:
    """Normalise raw lines (with their page numbers) into one paragraph per line.

    * NFC, tabs/odd spaces → one space, control characters dropped;
    * Markdown heading markers and ``**`` emphasis removed (they also occur in .txt);
    * decorative lines without letters or digits ("*", "-----") dropped;
    * stray file-path lines dropped;
    * hard wraps re-joined: a line that does not end a sentence, followed (even after
      blank lines) by one starting in lower case that is not a list item, continues it.
    """
    paragraphs: list[list] = []  # [text, page]
    open_paragraph = False  # is the last paragraph still waiting for its continuation?
    skipping_path = 0
    for raw, page in lines:
        line = _CONTROL.sub("", nfc(raw))
        line = _SPACES.sub(" ", line).strip()
        if markdown:
            line = _MD_LINK.sub(r"\1", _MD_EMPHASIS.sub("", _MD_HEADING.sub("", line))).strip()
        if skipping_path:
            skipping_path -= 1
            if _PATH_END.search(line):
                skipping_path = 0
            continue
        if _PATH_START.match(line):
            skipping_path = 0 if _PATH_END.search(line) else 3
            continue
        if not line:
            continue
        if not any(ch.isalnum() for ch in line):
            open_paragraph = False
            continue
        first = line[0]
        continues = (
            paragraphs
            and open_paragraph
            and first.islower()
            and not _LETTER_ITEM.match(line)
        )
        if continues:
            paragraphs[-1][0] += " " + line
        else:
            paragraphs.append([line, page])
        open_paragraph = paragraphs[-1][0][-1] not in _TERMINAL
    text_parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    for text, page in paragraphs:
        if page is not None and (not pages or pages[-1][1] != page):
            pages.append((offset, page))
        text_parts.append(text)
        offset += len(text) + 1
    return "\n".join(text_parts), pages


# ---------------------------------------------------------------- readers ----

def _text_lines(raw: bytes) -> list[tuple[str, int | None]]:
    text = decode_bytes(raw)
    return [(line, None) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _read_text(path: Path) -> list[tuple[str, int | None]]:
    return _text_lines(path.read_bytes())


def _read_pdf(path: Path) -> list[tuple[str, int | None]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        lines: list[tuple[str, int | None]] = []
        for number, page in enumerate(reader.pages, start=1):
            for line in (page.extract_text() or "").split("\n"):
                lines.append((line, number))
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableError(f"PDF hỏng hoặc không đọc được ({exc.__class__.__name__})") from exc
    if not any(line.strip() for line, _ in lines):
        raise UnreadableError("PDF không có lớp chữ (có thể là ảnh quét)")
    return lines


def check_unzipped(path: Path, max_bytes: int) -> None:
    """Refuse a ZIP-based file (DOCX) whose members expand past ``max_bytes``, before any
    parser inflates them: the compressed size says nothing (a 249 KB DOCX held 55 MB of
    XML and took 578 MB of memory to parse)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableError(f"DOCX hỏng hoặc không đọc được ({exc.__class__.__name__})") from exc
    if total > max_bytes:
        raise UnreadableError(f"nội dung giải nén quá lớn ({total / 1e6:.0f} MB > {max_bytes / 1e6:.0f} MB)")


def _read_docx(path: Path) -> list[tuple[str, int | None]]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for bad zips
        raise UnreadableError(f"DOCX hỏng hoặc không đọc được ({exc.__class__.__name__})") from exc
    lines: list[tuple[str, int | None]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    lines.append((" | ".join(dict.fromkeys(cells)), None))
        else:
            for line in block.text.split("\n"):
                lines.append((line, None))
    return lines


def _read_html(path: Path) -> list[tuple[str, int | None]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_bytes(path.read_bytes()), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return [(line, None) for line in soup.get_text("\n").split("\n")]


READERS = {
    ".txt": _read_text, ".md": _read_text, ".markdown": _read_text,
    ".pdf": _read_pdf, ".docx": _read_docx, ".html": _read_html, ".htm": _read_html,
}


# ---------------------------------------------------------------- catalog ----

def load_catalog(folder: Path) -> dict[str, dict[str, str]]:
    """Metadata for known documents (title, issuer, number, date, place…), by file name."""
    path = folder / CATALOG_FILE
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        str(name): {k: nfc(str(v)) for k, v in (fields or {}).items() if v is not None}
        for name, fields in (data.get("documents") or {}).items()
    }


def _fallback_title(text: str, source: str) -> str:
    """Title for a document without catalog entry: its first heading or first line."""
    first = text.split("\n", 1)[0].strip() if text else ""
    if not first:
        return Path(source).stem
    return first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"


# "Điều 17." / "Điều 17a." opening a paragraph: an article of a law or decree.
_ARTICLE = re.compile(r"^Điều\s+(\d+[a-z]?)\s*\.\s*(.*)$")
# What closes the last article: a new chapter/section, the distribution list, a signature.
_ARTICLE_END = re.compile(r"^(?:Chương|CHƯƠNG|Mục|MỤC|Phần|PHẦN)\s+[IVXLC\d]+\b|^(?:Nơi nhận|NƠI NHẬN)\b")


def legal_units(text: str) -> list[Unit]:
    """The articles of a law-like text ("Điều N." paragraphs); none for plans and letters."""
    starts, offset, paragraphs = [], 0, text.split("\n")
    for p in paragraphs:
        starts.append(offset)
        offset += len(p) + 1
    heads = [i for i, p in enumerate(paragraphs) if _ARTICLE.match(p)]
    if len(heads) < 3:
        return []
    units = []
    for n, i in enumerate(heads):
        last = (heads[n + 1] if n + 1 < len(heads) else len(paragraphs)) - 1
        for j in range(i + 1, last + 1):
            if _ARTICLE_END.match(paragraphs[j]):
                last = j - 1
                break
        m = _ARTICLE.match(paragraphs[i])
        label = paragraphs[i].strip()
        label = label if len(label) <= 160 else label[:157].rsplit(" ", 1)[0] + "…"
        units.append(Unit(starts[i], starts[last] + len(paragraphs[last]), label, m.group(1),
                          {"article": f"Điều {m.group(1)}"}))
    return units


def _phapdien_documents(lines: list[str], source: str) -> list[SourceDocument]:
    from .phapdien import instrument_documents

    out = []
    for record in instrument_documents(lines, source):
        units = [Unit(u["start"], u["end"], u["label"], u["number"], u["meta"]) for u in record["units"]]
        out.append(SourceDocument(source=record["source"], title=record["title"], text=record["text"],
                                  sha256=record["sha256"], metadata=record["metadata"], units=units))
    if not out:
        raise UnreadableError("tệp Pháp điển không có điều nào đọc được")
    return out


def load_file(path: Path, source: str, catalog: dict[str, dict[str, str]] | None = None,
              max_bytes: int | None = None, max_unzipped: int = DEFAULT_MAX_UNZIPPED) -> list[SourceDocument]:
    """Read one file into its documents: one for an ordinary file, one per source
    instrument for a Pháp điển topic. Raises :class:`UnreadableError` with a reason."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        check_unzipped(path, max_unzipped)
    if suffix in _TEXT_SUFFIXES:
        raw = _read_bounded(path, max_bytes)
        lines = [nfc(line) for line, _ in _text_lines(raw)]
        from .phapdien import is_phapdien

        if is_phapdien(lines):
            documents = _phapdien_documents(lines, source)
            for d in documents:  # the catalog may still override an instrument's fields
                override = dict((catalog or {}).get(d.source, {}))
                d.title = override.pop("title", None) or d.title
                d.metadata.update(override)
            return documents
        return [load_document(path, source, (catalog or {}).get(source), max_bytes, raw=raw)]
    return [load_document(path, source, (catalog or {}).get(source), max_bytes)]


_TEXT_SUFFIXES = {".md", ".markdown", ".txt"}


def _read_bounded(path: Path, max_bytes: int | None) -> bytes:
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise UnreadableError(f"tệp quá lớn ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB)")
    return path.read_bytes()


def load_document(path: Path, source: str, meta: dict[str, str] | None = None, max_bytes: int | None = None,
                  raw: bytes | None = None) -> SourceDocument:
    """Read one ordinary file (``raw``: its bytes, when already read); raises
    :class:`UnreadableError` with a user-facing reason."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise UnreadableError(f"định dạng {suffix or '(không có đuôi)'} không được hỗ trợ")
    if raw is None:
        raw = _read_bounded(path, max_bytes)
    lines = _text_lines(raw) if suffix in _TEXT_SUFFIXES else READERS[suffix](path)
    text, pages = clean_lines(lines, markdown=suffix in _TEXT_SUFFIXES)
    if sum(ch.isalpha() for ch in text) < 20:
        raise UnreadableError("không có nội dung văn bản đủ để lập chỉ mục")
    from .letterhead import read_letterhead

    # what the document says about itself, then the catalog's corrections on top
    meta = {**read_letterhead(text), **(meta or {})}
    title = meta.pop("title", None) or _fallback_title(text, source)
    if "short_title" not in meta and meta.get("kind") and meta.get("number"):
        meta["short_title"] = f"{meta['kind']} {meta['number']}"
    return SourceDocument(
        source=source, title=title, text=text, sha256=hashlib.sha256(raw).hexdigest(),
        metadata=meta, pages=pages, units=legal_units(text),
    )


def load_documents(folder: Path, max_file_mb: float = 20,
                   max_unzipped_mb: float = DEFAULT_MAX_UNZIPPED / 1e6) -> tuple[list[SourceDocument], list[Skipped]]:
    """Every readable document under ``folder`` plus the list of skipped files with reasons.
    Hidden files and folders are not documents: removed files wait in ``.removed/``."""
    catalog = load_catalog(folder)
    documents: list[SourceDocument] = []
    skipped: list[Skipped] = []
    if not folder.is_dir():
        return documents, [Skipped(str(folder), "thư mục tài liệu không tồn tại")]
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        source = path.relative_to(folder).as_posix()
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if hidden or path.name == CATALOG_FILE or path.name.lower() == "readme.md":
            continue
        try:
            documents.extend(load_file(path, source, catalog, int(max_file_mb * 1_000_000), int(max_unzipped_mb * 1e6)))
        except UnreadableError as exc:
            skipped.append(Skipped(source, str(exc)))
        except OSError as exc:
            skipped.append(Skipped(source, f"không mở được tệp ({exc.strerror or exc})"))
    return documents, skipped


def known(value: object) -> str:
    """A metadata value as it may be printed: "" for a value that says it is not known
    ("không ghi trong văn bản"), and without such a remark in brackets ("năm 2023 (không
    ghi trong văn bản)" → "năm 2023")."""
    text = re.sub(r"\s*\([^()]*\)", lambda m: "" if _unknown(m.group(0).strip(" ()")) else m.group(0),
                  str(value or "")).strip()
    return "" if _unknown(text) else text


def _unknown(text: str) -> bool:
    folded = fold(text).lower().strip(" .,;")
    return not folded or folded.startswith(("khong ghi", "khong ro", "chua ro", "chua co", "khong co", "n/a"))


def document_facts(metadata: dict, effective: bool = False) -> list[str]:
    """What a document's line of facts shows: issuer, number, date (and, if asked, its
    effective date), each only when known."""
    facts = [known(metadata.get(k)) for k in ("issuer", "number", "date")]
    if effective and known(metadata.get("effective")):
        facts.append(f"hiệu lực {known(metadata['effective'])}")
    return [f for f in facts if f]
