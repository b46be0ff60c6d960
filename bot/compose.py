"""Stage 6 — compose: the cited Vietnamese answer, or the refusal that says why.

The default composer needs no LLM. It quotes verbatim the sentences and list items the
reranker (bot/rerank.py) found closest to the question, opens each passage with a
lead-in naming the instrument and article ("Theo khoản 1 Điều 30 Luật Hợp tác xã 2023
(…)") or the document and section, keeps a list whole when the question asks for one,
answers "how do I …" with ordered steps, and ends every quoted line with its [n]. Direct
references, an agency's duties, a targets comparison and "who signed" have writers of
their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .chunking import BULLET, ITEM, Piece, pieces
from .corpus import Corpus
from .gate import Decision
from .phapdien import CODE_HEADING
from .questions import BadQuestion
from .references import Resolved, instrument_sources
from .rerank import TOP, Retrieved
from .understand import Query
from .vietnamese import lexical_tokens

# How much an answer quotes (bot/rerank.py scores): passages within PASSAGE_MARGIN of the
# best one, and in each the pieces within PIECE_MARGIN of its best. Chosen on the tuning
# half of the hand-written questions (benchmarks/bench_rerank.py), reported on the other.
PASSAGE_MARGIN = 0.07
PASSAGES_MAX = 3
PIECE_MARGIN = 0.06
PIECES_MAX = 4
STEPS_MAX = 8
_QUESTION_WORDS = {"la", "gi", "nao", "bao", "nhieu", "the", "nhu", "sao", "co", "khong", "duoc", "ai", "o",
                   "dau", "khi", "hay", "cho", "biet", "toi", "can", "phai", "lam", "hoi", "ban", "thi", "con"}
_MARKER = re.compile(r"\s?\[(\d+)\]")

NOT_COVERED = "Các văn bản hiện có không đề cập đến nội dung này, nên tôi không trả lời để tránh đưa thông tin không có căn cứ."
CHITCHAT = ("Xin chào! Tôi là trợ lý tra cứu chính sách kinh tế tập thể, hợp tác xã. Tôi chỉ trả lời từ các văn bản "
            "đã nạp, kèm trích dẫn. Bạn có thể hỏi, ví dụ: “Thành lập hợp tác xã cần ít nhất bao nhiêu thành viên?”")


@dataclass
class Citation:
    id: int
    source: str  # file name under documents/
    title: str
    section: str  # heading path
    text: str  # the passage, verbatim from the normalised document
    start: int
    end: int
    page: int | None = None
    quotes: list[str] = field(default_factory=list)  # the sentences used from it
    # the article it lies in: original number, Pháp điển code, effective date, repeal/amend note
    extra: dict = field(default_factory=dict)


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    standalone_question: str = ""
    related: list[dict] = field(default_factory=list)  # nearest passages when abstaining
    error: str | None = None  # set when the question itself was unusable
    retrieved: list[dict] = field(default_factory=list)  # ranked chunks (for evaluation)
    latency_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"  # extractive | reference | directory | targets | llm | extractive-fallback | abstained
    llm_dropped: int = 0  # LLM sentences removed by verification
    # a targets comparison (bot.targets.Comparison.to_json(): the table's cells, units,
    # citations) so a page can draw its chart: bot.targets.chart_png(answer.comparison)
    comparison: dict | None = None

    def to_json(self, debug: bool = False) -> dict:
        data = {
            "question": self.question, "answer": self.answer, "abstained": self.abstained,
            "citations": [{"id": c.id, "source": c.source, "title": c.title, "section": c.section,
                           "text": c.text, "page": c.page, "quotes": c.quotes, **_citation_extra(c)}
                          for c in self.citations],
            "standalone_question": self.standalone_question, "related": self.related, "error": self.error,
            "mode": self.mode, "latency_ms": self.latency_ms, "comparison": self.comparison,
        }
        if debug:
            data["retrieved"] = self.retrieved
        return data


_EXTRA_KEYS = ("article", "pd_code", "effective", "status", "instrument")


def _citation_extra(c: Citation) -> dict:
    return {k: c.extra[k] for k in _EXTRA_KEYS if c.extra.get(k)}


def legal_facts(c: Citation) -> list[str]:
    """What a source view adds for a codified article: its Pháp điển code and effective date
    (plain text; the page escapes it)."""
    return [x for x in (c.extra.get("pd_code") and f"Pháp điển: {c.extra['pd_code']}",
                        c.extra.get("effective") and f"hiệu lực từ {c.extra['effective']}") if x]


def legal_name(chunk: dict, document: dict, clause: str = "", point: str = "") -> str | None:
    """"khoản 1 Điều 38 Luật Hợp tác xã 2023 (Giấy chứng nhận …)" for a passage of an
    article; None for passages that are not in an article (plans, letters)."""
    article = chunk.get("article")
    if not article:
        return None
    labels = chunk.get("section", "").split(" › ")
    head = next((i for i, label in enumerate(labels) if label.startswith("Điều ")), None)
    title = ""
    if head is not None:
        title = re.sub(r"^Điều\s+\S+?\.\s*", "", labels[head]).rstrip(":")
        for label in labels[head + 1:]:
            m = re.match(r"^(\d+)\.(?!\d)", label)
            if m and not clause:
                clause = m.group(1)
            m = re.match(r"^([a-zđ])\)", label)
            if m and clause and not point:
                point = m.group(1)
    name = document.get("metadata", {}).get("short_title") or chunk["title"]
    where = " ".join(x for x in (f"điểm {point}" if point else "", f"khoản {clause}" if clause else "", article) if x)
    out = f"{where} {name}"
    if title:
        out += f" ({title})"
    if chunk.get("status"):
        out += f" — lưu ý: điều này {chunk['status']}"
    return out


def refused(question: object, exc: BadQuestion) -> Answer:
    """The answer to an unusable question: what was wrong with it (echo kept short)."""
    echo = question[:200] if isinstance(question, str) else ""
    return Answer(question=echo, answer=str(exc), abstained=True, error=str(exc), mode="abstained")


def cite(text: str, n: int) -> str:
    """A line with its [n] at the end (briefings and tables; an answer's quotes carry
    theirs once, on their lead-in). A bracketed number inside the text is dropped: every
    [n] the assistant shows is one it put there and resolves to a returned source."""
    return f"{quote(text)} [{n}]"


def quote(line: str) -> str:
    """A quoted line as shown: without any bracketed number of its own (a document's
    footnote, or a forged marker in an uploaded file), so every [n] in an answer is one the
    assistant put on a lead-in and resolves to a returned source."""
    return strip_markers(line).strip()


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def compose(query: Query, found: Retrieved, decision: Decision, corpus: Corpus) -> Answer:
    """The answer for one question, from what the earlier stages decided."""
    retrieved = [{"source": corpus.chunks[p.row]["source"], "section": corpus.chunks[p.row]["section"],
                  "index": corpus.chunks[p.row]["index"], "score": round(p.score, 4), "rank": p.rank,
                  "dense": None if p.hit.dense is None else round(p.hit.dense, 4), "lexical": round(p.hit.lexical, 3)}
                 for p in found.passages[:TOP]]
    answer = Answer(question=query.question, answer="", abstained=False, standalone_question=query.standalone,
                    retrieved=retrieved, latency_ms={"retrieve": found.ms})
    if decision.reason:
        _refusal(query, found, decision.reason, corpus, answer)
    elif query.resolved:
        _reference(query.resolved[0], corpus, answer)
    elif query.compare and decision.reason is None and _comparison(query, corpus, answer):
        pass
    elif query.duties:
        _duties(query.duties, corpus, answer)
    elif query.asks_signer:
        _signer(query.sources[0], corpus, answer)
    elif (definition := _definition(query.definition, corpus)) is not None:
        _render([definition], corpus, answer)
    elif query.how_to and _steps(query, found, corpus, answer):
        pass
    else:
        _passages(query, found, corpus, answer)
    return answer


def part_not_covered(part: str) -> str:
    """The line that says one part of a compound question is not covered (no claim, no [n])."""
    return f"Về «{part}»: {NOT_COVERED_SHORT}"


NOT_COVERED_SHORT = "các văn bản hiện có không đề cập đến nội dung này."


def merge(query: Query, parts: list[tuple[str, Answer]], found: Retrieved) -> Answer:
    """One answer from the answers to a compound question's parts: their cited blocks in
    order, citations renumbered; a part the documents do not cover is said so by name."""
    answered = [(part, a) for part, a in parts if not a.abstained]
    if not answered:
        first = parts[0][1]
        first.question, first.standalone_question = query.question, query.standalone
        return first
    out = Answer(question=query.question, answer="", abstained=False, standalone_question=query.standalone,
                 retrieved=answered[0][1].retrieved, latency_ms={"retrieve": found.ms}, mode=answered[0][1].mode)
    lines = []
    for part, a in parts:
        if a.abstained:
            lines.append(part_not_covered(part))
            continue
        offset = len(out.citations)
        lines.append(re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", a.answer))
        for c in a.citations:
            c.id += offset
            out.citations.append(c)
    out.answer = "\n".join(lines)
    return out


# ------------------------------------------------------------------ writers ----

def _refusal(query: Query, found: Retrieved, reason: str, corpus: Corpus, answer: Answer) -> None:
    answer.abstained, answer.mode = True, "abstained"
    if reason == "chitchat":
        answer.answer = CHITCHAT
    elif reason == "place":
        have = sorted({p for places in corpus.places.values() for p in places})
        national = [corpus.name(s) for s, d in corpus.documents.items() if d.get("metadata", {}).get("place") == "toàn quốc"]
        nationwide = f", cùng các văn bản áp dụng toàn quốc ({', '.join(national[:3])}{', …' if len(national) > 3 else ''})" \
            if national else ""
        answer.answer = (f"Các văn bản hiện có không có văn bản nào về {', '.join(query.uncovered)}, "
                         f"nên tôi không trả lời để tránh dùng số liệu của địa phương khác. "
                         f"Hiện có văn bản của: {', '.join(have)}{nationwide}.")
    elif reason == "unassigned":
        answer.answer = (f"Các văn bản hiện có không giao nhiệm vụ nào cho {query.unassigned}"
                         f"{' trong văn bản đã chọn' if query.filtered else ''}.")
    elif reason == "which_instrument":
        names = [corpus.name(r.source) for r in query.resolved]
        answer.answer = (f"Nhiều văn bản có {query.reference.words()}: {'; '.join(names)}. "
                         "Bạn hỏi điều của văn bản nào? Hãy ghi tên hoặc số văn bản trong câu hỏi.")
    elif reason == "no_such_article":
        names = [corpus.name(s) for s in instrument_sources(query.standalone, corpus.documents)]
        answer.answer = f"Không tìm thấy {query.reference.words()} trong {', '.join(names)} (văn bản đã nạp)."
    elif reason == "instrument":
        answer.answer = (f"{', '.join(query.unknown)} không có trong các văn bản đã nạp, nên tôi không "
                         "trả lời để tránh đưa thông tin không có căn cứ.")
    else:
        answer.answer = NOT_COVERED
    if reason == "coverage":
        answer.related = [{"source": corpus.chunks[h.row]["source"], "title": corpus.chunks[h.row]["title"],
                           "section": corpus.chunks[h.row]["section"]} for h in found.hits[:3]]


def _reference(r: Resolved, corpus: Corpus, answer: Answer) -> None:
    """The clause/point/article a question quoted, verbatim, named the way it was asked."""
    record = corpus.records[r.source]
    text = record["text"][r.start:r.end]
    pseudo = {"article": f"Điều {r.reference.article}", "section": r.unit["label"], "title": record["title"],
              "status": r.unit["meta"].get("status", "")}
    clause = r.reference.clause if r.found_clause else ""
    point = r.reference.point if r.found_clause else ""
    lead = legal_name(pseudo, corpus.documents.get(r.source, {}), clause or "", point or "")
    if not r.found_clause:
        lead += f" — không có {r.reference.words().rsplit(' Điều', 1)[0]} riêng, trích toàn văn"
    lines = [f"Theo {strip_markers(lead)} [1]:"]
    quotes = []
    for i, line in enumerate(text.split("\n")):
        if i == 0 and r.start == r.unit["start"] and (CODE_HEADING.match(line) or line.startswith("Điều ")):
            continue  # the article heading: named in the lead-in
        if line.strip():
            lines.append(("" if BULLET.match(line) else "- ") + quote(line))
            quotes.append(line)
    answer.answer = "\n".join(lines)
    answer.citations.append(Citation(
        id=1, source=r.source, title=record["title"], section=r.unit["label"], text=text, start=r.start, end=r.end,
        quotes=quotes, extra=corpus.extra({**r.unit["meta"], "source": r.source, "title": record["title"]}),
    ))
    answer.mode = "reference"


def _question_terms(query: Query, corpus: Corpus) -> dict[str, float]:
    """Every question word but the pure question words, IDF-weighted ("ít nhất" counts)."""
    words = [t for t in lexical_tokens(query.folded, folded=True)
             if not set(t.split("_")) <= _QUESTION_WORDS]
    return {t: corpus.terms.weight(t) for t in dict.fromkeys(words + query.terms)}


def _lexical_score(terms: dict[str, float], text: str, total: float) -> float:
    tokens = set(lexical_tokens(text, folded=True))
    return sum(w for t, w in terms.items() if t in tokens) / total if total else 0.0


def _steps(query: Query, found: Retrieved, corpus: Corpus, answer: Answer) -> bool:
    """A how-to question as ordered steps: the articles the question retrieves, in the
    order the documents themselves put them (the codification orders articles along the
    procedure: members, founding conference, charter, dossier, certificate…), each with
    its sentence that best matches the question. False when fewer than three articles
    are retrieved (then a plain answer is better)."""
    q_terms = _question_terms(query, corpus)
    total = sum(q_terms.values())
    best: dict[tuple[str, str], tuple[int, int]] = {}
    for rank, hit in enumerate(found.candidates):
        chunk = corpus.chunks[hit.row]
        key = (chunk["source"], chunk.get("article", ""))
        if key[1] and key not in best:
            best[key] = (rank, hit.row)
    ranked = sorted(best.values())
    if len(ranked) < 3:
        return False

    # The procedure lives mostly in one part of the documents (the codification's
    # chapter, or the document): the part most of the best articles come from.
    def part(row: int) -> str:
        return corpus.chunks[row].get("chapter") or corpus.chunks[row]["source"]

    votes: dict[str, float] = {}
    for rank, row in ranked[:8]:
        votes[part(row)] = votes.get(part(row), 0.0) + 1.0 / (rank + 1)
    main = max(votes, key=votes.get)
    inside = [x for x in ranked if part(x[1]) == main][:STEPS_MAX - 2]
    outside = [x for x in ranked[:6] if part(x[1]) != main][:STEPS_MAX - len(inside)]

    def position(row: int) -> tuple:
        c = corpus.chunks[row]
        return (c.get("order", 10**6), c["source"], c["index"])

    picks = []
    for _, hit_row in sorted(inside + outside, key=lambda x: position(x[1])):
        # the whole article, not only the retrieved part: its opening clause usually
        # states the step, so it wins unless another sentence matches clearly better
        best_pick = None
        article_rows = corpus.same_article(hit_row)
        for row in article_rows:
            units = pieces(corpus.chunks[row])
            for k, unit in enumerate(units):
                opening = row == article_rows[0] and k == 0
                score = _lexical_score(q_terms, unit.text, total) + (0.2 if opening else 0.0)
                if best_pick is None or score > best_pick[0]:
                    best_pick = (score, row, units, k)
        if best_pick is None:
            continue
        _, row, units, k = best_pick
        selected = [units[k]]
        if units[k].text.rstrip().endswith(":"):  # a list intro comes with its items
            selected += [u for u in units[k + 1:k + 6] if u.item]
        picks.append((row, selected))
    _render(picks, corpus, answer, steps=True)
    return True


def _passages(query: Query, found: Retrieved, corpus: Corpus, answer: Answer) -> None:
    """The passages whose best sentence answers best (reranked, bot/rerank.py), each with
    its sentences that come close to that best one; a list intro with its items.

    Passages within PASSAGE_MARGIN of the best are quoted too (up to three): the answer
    is often split between a Law clause and the decree article that details it, and a
    second close passage costs the reader less than a wrong first one.
    """
    passages = found.passages
    if not passages:
        row = found.hits[0].row
        _render([(row, pieces(corpus.chunks[row])[:3])], corpus, answer)
        return
    top = passages[0]
    first = pieces(corpus.chunks[top.row])
    if query.wants_list and sum(p.item for p in first) >= 2 and first[int(top.sims.argmax())].item:
        # "X có nhiệm vụ gì?": the whole list of the section, even across chunks
        _render([(row, pieces(corpus.chunks[row])) for row in corpus.same_section(top.row)], corpus, answer)
        return
    if query.wants_list and _clause_outline(top.row, corpus, answer):
        return  # "các nguyên tắc … gồm những gì?": the article's clauses, by their headings
    picks: list[tuple[int, list[Piece]]] = []
    for passage in passages[:PASSAGES_MAX]:
        if passage.score < top.score - PASSAGE_MARGIN:
            break
        units = pieces(corpus.chunks[passage.row])
        chosen = [k for k in range(len(units)) if passage.sims[k] >= passage.best - PIECE_MARGIN][:PIECES_MAX]
        selected: list[int] = []
        for k in chosen:
            selected += _intro(units, k)
            if units[k].text.rstrip().endswith(":"):  # a list intro comes with its items (all of
                following = k + 1  # them when a list is asked for, else the first eight)
                while following < len(units) and units[following].item and (query.wants_list or following - k <= 8):
                    selected.append(following)
                    following += 1
        picks.append((passage.row, [units[k] for k in sorted(set(selected))]))
    _render(picks, corpus, answer)


_POINT = re.compile(r"^(?:[a-zđ]\)|[-+*•])\s")


def _intro(units: list[Piece], k: int) -> list[int]:
    """``k``, preceded by the sentence that introduces it when it is a point or bullet of a
    list ("3. Trong thời hạn 07 ngày làm việc …, … hoàn thành các công việc sau đây:" before
    "a) Gửi nghị quyết …"): an item alone loses what it is an item of."""
    j = k
    while j > 0 and _POINT.match(units[j].text):
        j -= 1
    if j < k and not _POINT.match(units[j].text) and units[j].text.rstrip().endswith(":"):
        return [j, k]
    return [k]


def _clause_intro(chunk: dict, selected: list[Piece]) -> str | None:
    """The clause's own opening line when the quote starts with its points ("2. Thành viên
    liên kết không góp vốn của hợp tác xã bao gồm:" before "a) …"): a chunk cut from a long
    article carries that line as its heading, which :func:`bot.chunking.pieces` leaves to
    the lead-in — but "khoản 2 Điều 30" alone does not say what the points are points of."""
    if not selected or not _POINT.match(selected[0].text):
        return None
    label = chunk.get("section", "").split(" › ")[-1].rstrip("…")
    if not re.match(r"^\d+\.", label):
        return None
    for line in chunk["text"].split("\n"):
        if line.startswith(label) and line.rstrip().endswith(":") and line not in (p.text for p in selected):
            return line if chunk["text"].index(line) < selected[0].offset else None
    return None


def _clause_outline(row: int, corpus: Corpus, answer: Answer) -> bool:
    """An article whose clauses each carry a heading ("1. Tự nguyện tham gia …", "2. Dân
    chủ, bình đẳng …") answers a list question with those headings, quoted from one
    citation spanning the article. False when the chunk is not one of three or more
    such clauses."""
    chunk = corpus.chunks[row]
    if not chunk.get("article") or not re.search(r" › \d+\.", chunk["section"]):
        return False
    rows = corpus.same_article(row)
    heads: list[str] = []
    for r in rows:
        label = corpus.chunks[r]["section"].split(" › ")[-1].rstrip("…")
        line = next((x for x in corpus.chunks[r]["text"].split("\n") if x.startswith(label)), None)
        if not re.match(r"^\d+\.", label) or line is None or len(line) > 150:
            return False
        if line not in heads:
            heads.append(line)
    if len(heads) < 3:
        return False
    first, last = corpus.chunks[rows[0]], corpus.chunks[rows[-1]]
    article_label = first["section"].split(" › ")[0]
    lead = legal_name({**first, "section": article_label}, corpus.documents.get(first["source"], {}))
    answer.answer = "\n".join([f"Theo {strip_markers(lead)} [1]:"] + [f"- {quote(h)}" for h in heads])
    text = corpus.records[first["source"]]["text"][first["start"]:last["end"]]
    answer.citations.append(Citation(id=1, source=first["source"], title=first["title"], section=article_label, text=text,
                                     start=first["start"], end=last["end"], quotes=heads, extra=corpus.extra(first)))
    return True


def _definition(term: str, corpus: Corpus) -> tuple[int, list[Piece]] | None:
    """The definition ("21.Tổ hợp tác là tổ chức…") of the term a "X là gì?" question asks."""
    if not term:
        return None
    found = corpus.definitions.get(term)
    if found is None:
        return None
    row, offset, line = found
    return row, [Piece(offset, line, True)]


def _render(picks: list[tuple[int, list[Piece]]], corpus: Corpus, answer: Answer, steps: bool = False) -> None:
    lines = []
    for n, (row, selected) in enumerate(picks, start=1):
        step = f"Bước {n}. " if steps else ""
        chunk = corpus.chunks[row]
        doc = corpus.documents.get(chunk["source"], {})
        # a run of clauses packed in one chunk: the clause quoted names itself ("7.Hợp tác xã …")
        numbers = {m.group(1) if m else None for m in (re.match(r"^(\d+)\.(?!\d)", u.text) for u in selected)}
        own = next(iter(numbers)) if len(numbers) == 1 and None not in numbers \
            and not re.search(r" › \d+\.", chunk.get("section", "")) else ""
        legal = legal_name(chunk, doc, clause=own or "")
        if legal:
            lines.append(f"{step}Theo {strip_markers(legal)} [{n}]:")
        else:
            where = f", mục {' › '.join(chunk['section'].split(' › ')[-2:])}" if chunk["section"] else ""
            lines.append(f"{step}Theo {strip_markers(corpus.name(chunk['source'], chunk['title']) + where)} [{n}]:")
        intro = _clause_intro(chunk, selected)
        selected = ([Piece(chunk["text"].index(intro), intro, True)] if intro else []) + list(selected)
        for piece in selected:
            for line in piece.text.split("\n"):
                bullet = "" if BULLET.match(line) else "- "
                lines.append(bullet + quote(line))
        answer.citations.append(Citation(
            id=n, source=chunk["source"], title=chunk["title"], section=chunk["section"],
            text=chunk["text"], start=chunk["start"], end=chunk["end"], page=chunk.get("page"),
            quotes=[u.text for u in selected], extra=corpus.extra(chunk),
        ))
    answer.answer = "\n".join(lines)


def _comparison(query: Query, corpus: Corpus, answer: Answer) -> bool:
    """Targets side by side: documents as columns, indicators as rows, each cell cited
    (bot/targets.py: one citation per document section, so no two [n] quote one passage;
    a document without such a target says "không đặt chỉ tiêu"). The comparison itself
    rides on the answer, for the page's chart."""
    from .targets import corpus_comparison

    year, places = query.compare
    comparison = corpus_comparison(corpus, year, query.filtered and query.sources or None, places or None)
    if comparison.empty:
        return False
    answer.answer = f"Theo các văn bản đã nạp, chỉ tiêu đến năm {year}:\n{comparison.markdown()}"
    for c in comparison.citations:
        answer.citations.append(Citation(id=c.n, source=c.source, title=c.title, section=c.section, text=c.passage,
                                         start=c.start, end=c.end, quotes=c.quotes))
    answer.comparison = comparison.to_json()
    answer.mode = "targets"
    return True


def _duties(duties: list, corpus: Corpus, answer: Answer) -> None:
    """Every task of the agency from the directory, grouped by document and section."""
    groups: dict[tuple[str, str], list] = {}
    seen: set[tuple[str, int]] = set()
    for d in duties:
        if (d.source, d.start) in seen:
            continue  # one task given to several matched agencies ("Liên minh HTX": central and provincial)
        seen.add((d.source, d.start))
        groups.setdefault((d.source, d.section), []).append(d)
    lines = []
    for n, ((source, section), items) in enumerate(groups.items(), start=1):
        start, end = min(d.start for d in items), max(d.end for d in items)
        name = corpus.name(source, items[0].title)
        where = f", mục {' › '.join(section.split(' › ')[-2:])}" if section else ""
        lines.append(f"Theo {strip_markers(name + where)} [{n}]:")
        for d in items:
            for line in d.task.split("\n"):
                lines.append(("" if BULLET.match(line) else "- ") + quote(line))
        answer.citations.append(Citation(
            id=n, source=source, title=items[0].title, section=section, text=corpus.records[source]["text"][start:end],
            start=start, end=end, quotes=[d.task for d in items],
        ))
    answer.answer = "\n".join(lines)
    answer.mode = "directory"


def _signer(source: str, corpus: Corpus, answer: Answer) -> None:
    """Who signed: the signature lines after the distribution list of the document."""
    row = corpus.handle.source_rows()[source][-1]
    signature: list[Piece] = []
    offset = 0
    for line in corpus.chunks[row]["text"].split("\n"):
        if not ITEM.match(line) and not line.startswith("Nơi nhận") and offset > 0:
            signature.append(Piece(offset, line, False))
        elif signature:
            signature = []
        offset += len(line) + 1
    if not signature:
        answer.abstained, answer.mode = True, "abstained"
        answer.answer = f"{corpus.documents.get(source, {}).get('title', source)} không ghi tên người ký trong phần văn bản hiện có."
        return
    _render([(row, signature)], corpus, answer)
