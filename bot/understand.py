"""Stage 1 — understand: what the question asks, decided once, before any search.

Cleans the question, makes a follow-up standalone from the history, recognises English,
places, named instruments ("Nghị định 92"), direct references ("khoản 2 Điều 42"), an
agency's duties, a targets comparison, a how-to, a list or a definition, and restores
missing diacritics for the embeddings. The result is a typed :class:`Query`; later stages
read it and never look at the raw text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corpus import Corpus
from .questions import clean_question, content_terms, is_chitchat, is_english, named_instruments, places_in, standalone
from .references import Reference, Resolved, instrument_sources, once_per_catalog, resolve
from .vietnamese import canonical, expand_abbreviations, fold

# Question kinds, read on the accent-folded question.
_LIST_QUESTION = re.compile(
    r"nhiem vu|nhung gi|nhung viec|gom nhung|bao gom|gom gi|cac buoc|ho so|giai phap|lam gi|trach nhiem|"
    r"duoc giao|quyen|nghia vu|nhung noi dung|tasks|duties|what must"
)
# "X là gì?", "thế nào là X": looked up in the definitions first
_DEFINITION = re.compile(r"^(?:the nao la|khai niem|dinh nghia)\s+(.+?)\??$|^(.+?)\s+(?:la gi|nghia la gi|duoc hieu (?:la gi|nhu the nao))\s*\??$")
_COMPARE = re.compile(r"\bso sanh\b|\bdoi chieu\b|\bcompare\b|\bbang (?:muc|chi) tieu\b")
_YEARS = re.compile(r"\b(2025|2030|2045)\b")
# a question about targets ("mục tiêu", "chỉ tiêu", "phấn đấu") that names two places or
# more is a comparison even without the word "so sánh"
_TARGETS = re.compile(r"\b(?:muc tieu|chi tieu|phan dau)\b")
_DUTY_QUESTION = re.compile(r"nhiem vu|duoc giao|trach nhiem|lam gi|phai lam|chu tri|tasks|duties")
_SIGNER = re.compile(r"\b(?:ai|nguoi) (?:da )?ky\b|\bky ban hanh\b|\bky van ban\b|\bwho signed\b|\bnguoi ky\b")
# "How do I …": answered as ordered steps. Only questions about a procedure as a whole:
# "những giấy tờ gì" asks for one list.
_HOW_TO = re.compile(r"\b(?:cac buoc|quy trinh|trinh tu|lam (?:the )?nao de|lam sao de|(?:phai|can) lam (?:nhung )?gi"
                     r"|lam (?:the )?nao|thu tuc\b.*\b(?:nhu the nao|ra sao|the nao)|how (?:do|can|should) (?:i|we)"
                     r"|what are the steps|step by step)\b")
_NORMATIVE = ("bo luat", "luat", "nghi dinh", "thong tu")


@dataclass
class Query:
    """Everything the later stages need to know about one question."""

    question: str  # as asked, cleaned
    standalone: str  # a follow-up rewritten to stand alone
    folded: str  # accent-folded
    english: bool
    dense_query: str  # what the embeddings read (diacritics restored)
    lexical: str  # what BM25 reads (abbreviations expanded)
    terms: list[str]  # distinctive content terms (the gate's coverage)
    sources: list[str] | None  # documents searched (user's filter, narrowed by place or number)
    filtered: bool  # the user chose documents
    named: list[str]  # places named
    uncovered: list[str]  # places named that no document is about
    unknown: list[str]  # instruments named that are not loaded
    chitchat: bool
    duties: list  # the agency's tasks from the directory, when it asks for duties
    unassigned: str | None  # an agency named that has no task
    compare: tuple[int, list[str]] | None  # (year, places) for a targets comparison
    reference: Reference | None  # "khoản 2 Điều 42 …"
    resolved: list[Resolved]  # the units it resolves to
    ref_named: bool  # the reference names an instrument that is loaded
    how_to: bool
    wants_list: bool
    asks_signer: bool
    definition: str  # the term of "X là gì?", folded ("" if not a definition question)
    parts: list[str]  # a compound question's own questions ("X là gì? Y gồm những gì?"), else []


def understand(raw: object, history: list[dict] | None, sources: list[str] | None, corpus: Corpus) -> Query:
    """Raises :class:`bot.questions.BadQuestion` for an unusable question."""
    question = clean_question(raw)
    full = standalone(question, history or [])
    english = is_english(full)
    named = places_in(full)
    uncovered = [p for p in named if not any(p in places for places in corpus.places.values())]
    narrowed = [s for s, places in corpus.places.items() if places & set(named)] if named and not uncovered else []
    narrowed = narrowed or _by_number(full, corpus)
    chosen = sources
    if narrowed:
        chosen = [s for s in narrowed if not sources or s in sources] or sources
    # place names already selected the documents: the evidence need not repeat them
    drop = {t for p in named for t in fold(canonical(p)).split()} if narrowed else set()
    folded = fold(canonical(full))
    duties, unassigned = [], None
    if _DUTY_QUESTION.search(fold(canonical(full))):
        duties = corpus.directory.find(full, chosen)[1]
        if not duties and not english:
            unassigned = corpus.directory.named_agency(full)
    compare = None
    if (_COMPARE.search(folded) or (len(named) >= 2 and _TARGETS.search(folded))) and not uncovered:
        years = _YEARS.findall(full)
        compare = (int(years[0]) if years else 2030, named)
    reference, resolved = resolve(full, corpus.records, sources, corpus.documents)
    definition = _DEFINITION.match(fold(canonical(full)).strip())
    term = ((definition.group(1) or definition.group(2)).strip(" ?") if definition else "")
    return Query(
        question=question, standalone=full, folded=folded, english=english,
        # English is read by the multilingual embeddings as it is; BM25 sees only what
        # carries across languages — names and numbers ("Kon Tum", "2030", "2651") —
        # since English words folded look like Vietnamese syllables ("can" = cần)
        dense_query=full if english else expand_abbreviations(corpus.restorer.restore(full)),
        lexical=_names_and_numbers(full) if english else full,
        terms=content_terms(full, drop),
        sources=chosen, filtered=bool(sources), named=named, uncovered=uncovered,
        unknown=[surface for surface, phrase in named_instruments(full) if _missing_instrument(surface, phrase, corpus)],
        chitchat=is_chitchat(question), duties=duties, unassigned=unassigned, compare=compare,
        reference=reference, resolved=resolved, ref_named=bool(reference) and bool(instrument_sources(full, corpus.documents)),
        how_to=bool(_HOW_TO.search(fold(canonical(full)).lower())), wants_list=bool(_LIST_QUESTION.search(folded)),
        asks_signer=bool(_SIGNER.search(folded)), definition=term if len(term) >= 3 else "",
        parts=parts(question) if not (reference or duties or compare) else [],
    )


def parts(question: str) -> list[str]:
    """The questions inside a compound one: each sentence that ends in "?" and says
    something of its own (three words or more). Fewer than two: not compound."""
    pieces = [p.strip() for p in re.split(r"(?<=\?)\s+", question) if p.strip()]
    pieces = [p for p in pieces if len(p.split()) >= 3]
    return pieces if len(pieces) >= 2 else []


def _names_and_numbers(text: str) -> str:
    """The capitalised words (not the first) and the tokens with digits of a sentence."""
    words = re.findall(r"[\w'’/-]+", text)
    keep = [w for i, w in enumerate(words) if any(ch.isdigit() for ch in w) or (i > 0 and w[:1].isupper())]
    return " ".join(re.sub(r"['’]s$", "", w) for w in keep)


def _missing_instrument(surface: str, phrase: str, corpus: Corpus) -> bool:
    """Is an instrument the question names absent? A law, decree or circular is present
    only as a loaded document — another text that merely mentions "Luật Doanh nghiệp"
    does not state its rules; a resolution or conclusion is present when the documents
    name it (plans restate the targets of the resolutions they implement)."""
    kind = fold(canonical(surface)).lower()
    if kind.startswith(_NORMATIVE) and corpus.normative_loaded:
        return not instrument_sources(surface, corpus.documents)
    return not _has_words(corpus.folded, phrase)


def _has_words(text: str, phrase: str) -> bool:
    """``phrase`` in ``text`` as whole words — ``re.search(r"(?<!\\w)phrase(?!\\w)")``
    without the regex, whose lookbehind makes it scan every character of the corpus's text
    in Python's engine; ``str.find`` skips ahead in C."""
    at = text.find(phrase)
    while at != -1:
        end = at + len(phrase)
        if (at == 0 or not _word(text[at - 1])) and (end == len(text) or not _word(text[end])):
            return True
        at = text.find(phrase, at + 1)
    return False


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _by_number(question: str, corpus: Corpus) -> list[str]:
    """Documents whose number the question quotes ("công văn 2651", "41-CTr/TU").

    A key can match only where each of its digit runs stands as a whole digit run of the
    question (a key never continues into a digit), so only documents whose digits the
    question holds are tried: the cost follows the question, not the corpus."""
    c = canonical(question)
    digits = set(re.findall(r"\d+", c))
    found = []
    for source, runs, keys in once_per_catalog(corpus.documents, _number_keys):
        if runs <= digits and any(re.search(r"(?<![\w/])" + re.escape(k) + r"(?![\w])", c) for k in keys):
            found.append(source)
    return found


def _number_keys(documents) -> list[tuple[str, set[str], set[str]]]:
    """(source, digit runs of its number, the keys a question may quote it by)."""
    out = []
    for source, doc in documents.items():
        number = canonical(doc.get("metadata", {}).get("number", ""))
        if not re.search(r"\d", number):
            continue
        head = number.split("/")[0]
        keys = {number} | ({head} if len(re.sub(r"\D", "", head)) >= 3 or "-" in head else set())
        # a document is tried when the digits of its shortest key are all in the question
        runs = min((set(re.findall(r"\d+", k)) for k in keys), key=len)
        out.append((source, runs, keys))
    return out
