"""Stage 1c — the letterhead: title, kind, number, date, place, issuer and signer of a
Vietnamese administrative document, read from the document itself.

Nghị định 30/2020/NĐ-CP (công tác văn thư) fixes one layout for every administrative
document: the issuing body top left, "Số: 12/KH-UBND" under it, "<place>, ngày … tháng …
năm …" top right, the kind in capitals ("KẾ HOẠCH") with its subject on the next line
(or "V/v …" for a letter), the body, "Nơi nhận", and the signature block ("TM. ỦY BAN NHÂN
DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH", then the name). Real files lose parts of it (no
letterhead, number left blank); whatever is found is used and the catalog may override it.
"""

from __future__ import annotations

import re

from .questions import places_in
from .vietnamese import ABBREVIATIONS, fold

_ABBREVIATIONS = {k.upper() for k in ABBREVIATIONS}

# Capitalised kinds of document, as they head the title block.
KINDS = ("KẾ HOẠCH", "CHƯƠNG TRÌNH", "QUYẾT ĐỊNH", "NGHỊ QUYẾT", "NGHỊ ĐỊNH", "THÔNG TƯ", "CHỈ THỊ",
         "THÔNG BÁO", "BÁO CÁO", "TỜ TRÌNH", "HƯỚNG DẪN", "ĐỀ ÁN", "CÔNG VĂN", "LUẬT", "KẾT LUẬN", "QUY CHẾ")
_KIND = re.compile(r"^(" + "|".join(KINDS) + r")\b\s*(.*)$")
_NUMBER = re.compile(r"^Số\s*:?\s*(\d[\w\s./-]*?[\w])\s*$|^Số\s*:?\s*(\d+\s*/\s*[\w/.-]+)")
_PLACE_DATE = re.compile(r"^(?P<place>[^\d,;:()]{2,40}?),\s*ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})")
_SUBJECT = re.compile(r"^V/v\.?\s*(.+)$", re.IGNORECASE)
_MOTTO = re.compile(r"CỘNG HÒA XÃ HỘI|CỘNG HOÀ XÃ HỘI|Độc lập\s*-\s*Tự do|ĐẢNG CỘNG SẢN VIỆT NAM", re.IGNORECASE)
_ROLE = re.compile(r"^(?:(?:TM|KT|TL|TUQ|Q)\.\s*)?(?:PHÓ\s+)?(?:CHỦ TỊCH|BÍ THƯ|GIÁM ĐỐC|TRƯỞNG BAN|BỘ TRƯỞNG|"
                   r"THỦ TƯỚNG|CHÁNH VĂN PHÒNG|TRƯỞNG PHÒNG|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|BAN THƯỜNG VỤ|"
                   r"BAN CHẤP HÀNH|T/M|K/T)\b.*$")
_NAME = re.compile(r"^[A-ZĐÀ-Ỹ][a-zđà-ỹ]+(?:\s+[A-ZĐÀ-Ỹ][a-zđà-ỹ]+){1,4}$")
_KIND_FROM_NUMBER = {"KH": "Kế hoạch", "CTr": "Chương trình", "QĐ": "Quyết định", "NQ": "Nghị quyết",
                     "TB": "Thông báo", "BC": "Báo cáo", "CT": "Chỉ thị", "TTr": "Tờ trình", "HD": "Hướng dẫn",
                     "KL": "Kết luận"}


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:].lower() if text.isupper() else text


def _lower_caps(text: str) -> str:
    """"CỦA BAN CHẤP HÀNH KHÓA XVI thực hiện…" → "của ban chấp hành khóa XVI thực hiện…"."""
    return " ".join(w.lower() if w.isupper() and w.isalpha() and len(w) > 1 and not re.fullmatch(r"[IVXLC]+", w)
                    else w for w in text.split())


def _proper(line: str, text: str, place: str) -> str:
    """A capitalised letterhead line in ordinary case: as the body writes the same name
    ("PHÒNG TÀI CHÍNH – KẾ HOẠCH" → "Phòng Tài chính – Kế hoạch"), else lower case with
    abbreviations (UBND) and the place name kept."""
    for m in re.finditer(re.escape(line), text, re.IGNORECASE):
        found = text[m.start():m.end()]
        if not found.isupper():
            return found
    words = [w if w.upper() in _ABBREVIATIONS and len(w) > 1 else w.lower() for w in line.split()]
    out = " ".join(words)
    out = out[:1].upper() + out[1:]
    if place:
        out = re.sub(re.escape(place), place, out, flags=re.IGNORECASE)
    return out


def _role_case(role: str) -> str:
    """"PHÓ CHỦ TỊCH" → "Phó Chủ tịch"."""
    words = role.lower().split()
    if not words:
        return role
    words[0] = words[0].capitalize()
    if words[0] == "Phó" and len(words) > 1:
        words[1] = words[1].capitalize()
    return " ".join(words)


def read_letterhead(text: str, head_lines: int = 30) -> dict[str, str]:
    """The fields the document states about itself (missing ones are left out)."""
    paragraphs = [p.strip() for p in text.split("\n") if p.strip()]
    head = paragraphs[:head_lines]
    out: dict[str, str] = {}
    body_start = len(head)
    for i, p in enumerate(head):
        m = _NUMBER.match(p)
        if m and "number" not in out:
            out["number"] = re.sub(r"\s+", "", m.group(1) or m.group(2))
            continue
        m = _PLACE_DATE.match(p)
        if m and "date" not in out:
            out["place"] = m.group("place").strip()
            out["date"] = f"{int(m.group('d')):02d}/{int(m.group('m')):02d}/{m.group('y')}"
            continue
        m = _SUBJECT.match(p)
        if m and "title" not in out:
            out["kind"] = "Công văn"
            number = f" {out['number']}" if "number" in out else ""
            out["title"] = f"Công văn{number} về {m.group(1).strip()}"
            body_start = i + 1
            break
        m = _KIND.match(p)
        if m and p.isupper() and "title" not in out:
            kind = _sentence_case(m.group(1))
            rest = [m.group(2)] if m.group(2) else []
            j = i + 1
            # the subject: capitalised lines after the kind, then one line of ordinary case
            while j < len(head) and head[j].isupper() and len(rest) < 4:
                rest.append(head[j])
                j += 1
            if j < len(head) and not re.match(r"^(?:Căn cứ|Kính gửi|I\.|1\.)", head[j]) and len(head[j]) <= 400:
                rest.append(head[j])
                j += 1
            subject = " ".join(_lower_caps(r) for r in rest).strip()
            subject = re.sub(r"^(?:Về|về)\s+", "về ", subject)
            out["kind"] = kind
            out["title"] = f"{kind} {subject[:1].lower() + subject[1:]}".strip() if subject else kind
            body_start = j
            break
    issuers = [p for p in head[:body_start] if p.isupper() and not _MOTTO.search(p) and not _KIND.match(p)
               and not _NUMBER.match(p) and len(p) <= 80]
    # no place line: the place the document is about ("trên địa bàn thành phố Cam Ranh")
    scope = re.search(r"trên địa bàn ([^,.;:()]+)|(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân) ((?:tỉnh|thành phố|huyện|thị xã)"
                      r" [^,.;:()]+)", " ".join(paragraphs[:40]))
    place = out.get("place") or next(iter(places_in(scope.group(1) or scope.group(2))), "") if scope else out.get("place", "")
    if place and "place" not in out:
        out["place"] = place
    tail = paragraphs[-15:]
    on_behalf = next((p for p in tail if re.match(r"^(?:TM|T/M)\.?\s+", p)), None)
    if issuers:
        # the issuing body is the last letterhead line; a line above it is its superior
        names = [_proper(x, text, place) for x in issuers[:2]]
        out["issuer"] = names[-1] + (f" ({names[0]})" if len(names) > 1 else "")
    elif on_behalf:
        issuer = _proper(re.sub(r"^(?:TM|T/M)\.?\s+", "", on_behalf), text, place)
        out["issuer"] = f"{issuer} ({place})" if place and fold(place.lower()) not in fold(issuer.lower()) else issuer
    elif re.search(r"(?:^|[/-])UBND(?:[/-]|$)", out.get("number", "")):  # "2651/UBND-KTN": the people's committee
        out["issuer"] = f"Ủy ban nhân dân ({place})" if place else "Ủy ban nhân dân"
    if "kind" not in out and "number" in out:
        code = re.search(r"[-/]([A-Za-zĐđ]+)(?:[-/]|$)", out["number"])
        if code and code.group(1) in _KIND_FROM_NUMBER:
            out["kind"] = _KIND_FROM_NUMBER[code.group(1)]
    signer = _signer(tail)
    if signer:
        out["signer"] = signer
    return out


def _signer(tail: list[str]) -> str | None:
    """"Phó Chủ tịch Lê Văn Sử": the last role line of the signature block and the name."""
    name = next((p for p in reversed(tail) if _NAME.match(p)), None)
    if not name:
        return None
    roles = [p for p in tail[:tail.index(name)] if _ROLE.match(p.upper()) and p.isupper()]
    if not roles:
        return None
    role = re.sub(r"^(?:TM|KT|TL|TUQ|Q)\.\s*", "", roles[-1].split("  ")[-1]).strip()
    role = re.split(r"\s(?:TM|KT|TL)\.\s", role)[-1]
    return f"{_role_case(role)} {name}"
