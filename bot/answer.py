"""Stage 5 — answer: grounded, cited Vietnamese answers, or a plain "not covered".

The chain is a LangChain runnable: prepare (clean the question, resolve a follow-up,
recognise places, English, direct references like "khoản 2 Điều 42", restore missing
diacritics) → retrieve (hybrid) → evidence gate → compose → cite.

The default composer needs no LLM: it quotes the most relevant sentences and list items
of the retrieved passages verbatim, opens with a lead-in naming the instrument and
article ("Theo khoản 1 Điều 30 Luật Hợp tác xã 2023 (…)") or the document and section,
keeps a list whole when the question asks for one ("nhiệm vụ gì", "những gì", "hồ sơ
gồm"), answers "how do I …" with ordered steps, and puts [n] after every sentence. The
evidence gate (bot/gate.py, fit on data) abstains when the question is closer to law in
general than to the loaded documents; a place, law or article the documents do not hold
is refused by name before that.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from collections.abc import Iterator

import numpy as np
from langchain_core.runnables import RunnableLambda

from .chunking import SENTENCE_END, Piece, pieces
from .config import Settings
from .gate import background_vectors, load_gate
from .gate import features as gate_features
from .index import IndexHandle, ensure_index
from .phapdien import CODE_HEADING
from .questions import (GENERIC, STOPWORDS_ACCENTED, BadQuestion, TermStats, clean_question, content_terms, expand, is_chitchat,
                        is_english, named_instruments, places_in, standalone, translate_terms)
from .references import Resolved, instrument_sources, resolve
from .rerank import CANDIDATES, Passage, rerank
from .retrieval import Hit, hybrid_search
from .vietnamese import AccentRestorer, canonical, fold, has_diacritics, lexical_tokens, nfc

# Share of the question's distinctive terms (IDF-weighted) a passage must contain: the
# gate when bot/gate.json is absent, and the bar for passages worth quoting from.
COVERAGE_THRESHOLD = 0.55
TOP_K = 6
_LIST_QUESTION = re.compile(
    r"nhiem vu|nhung gi|nhung viec|gom nhung|bao gom|gom gi|cac buoc|ho so|giai phap|lam gi|trach nhiem|"
    r"duoc giao|quyen|nghia vu|nhung noi dung|tasks|duties|what must"
)
# "X là gì?", "thế nào là X", "what is X": looked up in the Law's definitions first
_DEFINITION = re.compile(r"^(?:the nao la|khai niem|dinh nghia)\s+(.+?)\??$|^(.+?)\s+(?:la gi|nghia la gi|duoc hieu (?:la gi|nhu the nao))\s*\??$")
_COMPARE = re.compile(r"\bso sanh\b|\bdoi chieu\b|\bcompare\b|\bbang (?:muc|chi) tieu\b")
_YEARS = re.compile(r"\b(2025|2030|2045)\b")
_DUTY_QUESTION = re.compile(r"nhiem vu|duoc giao|trach nhiem|lam gi|phai lam|chu tri|tasks|duties")
_SIGNER = re.compile(r"\b(?:ai|nguoi) (?:da )?ky\b|\bky ban hanh\b|\bky van ban\b|\bwho signed\b|\bnguoi ky\b")
_ASKS_DATE = re.compile(r"\bngay nao\b|\bkhi nao\b|\bbao gio\b|\bthoi gian nao\b|\bhieu luc\b|\bwhen\b|\bdate\b")
_ASKS_NUMBER = re.compile(r"\bbao nhieu\b|\bty le\b|\bphan tram\b|\bmay\b|\bhow many\b|\bhow much\b|\bso luong\b")
_DATE = re.compile(r"ngày \d{1,2} tháng \d{1,2} năm \d{4}|\b\d{1,2}/\d{1,2}/\d{4}\b|\bngày \d{1,2}[-/]\d{1,2}[-/]\d{4}")
_NUMBER = re.compile(r"\d")
_QUESTION_WORDS = {"la", "gi", "nao", "bao", "nhieu", "the", "nhu", "sao", "co", "khong", "duoc", "ai", "o",
                   "dau", "khi", "hay", "cho", "biet", "toi", "can", "phai", "lam", "hoi", "ban", "thi", "con"}
_ITEM = re.compile(r"^(?:[-+*•]\s*|[a-zđ]\)\s|\d+(?:\.\d+)*\.\s?)")
_BULLET = re.compile(r"^[-+*•]\s")
_MARKER = re.compile(r"\s?\[(\d+)\]")
# "How do I …": answered as ordered steps, one per article (see _write_steps).
# Only questions about a procedure as a whole: "những giấy tờ gì" asks for one list.
_HOW_TO = re.compile(r"\b(?:cac buoc|quy trinh|trinh tu|lam (?:the )?nao de|lam sao de|(?:phai|can) lam (?:nhung )?gi"
                     r"|lam (?:the )?nao|thu tuc\b.*\b(?:nhu the nao|ra sao|the nao)|how (?:do|can|should) (?:i|we)"
                     r"|what are the steps|step by step)\b")
STEPS_MAX = 8
# How much an answer quotes (bot/rerank.py scores): passages within PASSAGE_MARGIN of the
# best one, and in each the pieces within PIECE_MARGIN of its best. Chosen on the tuning
# half of the hand-written questions (benchmarks/bench_rerank.py), reported on the other.
PASSAGE_MARGIN = 0.03
PASSAGES_MAX = 3
PIECE_MARGIN = 0.04
PIECES_MAX = 4
_NORMATIVE = ("bo luat", "luat", "nghi dinh", "thong tu")

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
    mode: str = "extractive"  # extractive | directory | targets | llm | extractive-fallback | abstained
    llm_dropped: int = 0  # LLM sentences removed by verification

    def to_json(self, debug: bool = False) -> dict:
        data = {
            "question": self.question, "answer": self.answer, "abstained": self.abstained,
            "citations": [{"id": c.id, "source": c.source, "title": c.title, "section": c.section,
                           "text": c.text, "page": c.page, "quotes": c.quotes, **_citation_extra(c)}
                          for c in self.citations],
            "standalone_question": self.standalone_question, "related": self.related, "error": self.error,
            "mode": self.mode, "latency_ms": self.latency_ms,
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


def _refused(question: object, exc: BadQuestion) -> Answer:
    """The answer to an unusable question: what was wrong with it (echo kept short)."""
    echo = question[:200] if isinstance(question, str) else ""
    return Answer(question=echo, answer=str(exc), abstained=True, error=str(exc), mode="abstained")


def cite(text: str, n: int) -> str:
    """Put [n] after every sentence of a verbatim unit (a leading "3." is no sentence)."""
    text = text.strip()
    marker = _ITEM.match(text)
    head, body = (text[:marker.end()], text[marker.end():]) if marker else ("", text)
    parts = [p for p in SENTENCE_END.split(body) if p]
    return head + " ".join(f"{p} [{n}]" for p in parts)


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


class Assistant:
    """Answers questions over an index; load once, ask many times."""

    def __init__(self, settings: Settings, handle: IndexHandle | None = None, embeddings=None):
        from .embeddings import load_embeddings

        self.settings = settings
        self.handle = handle or ensure_index(settings)
        self.embeddings = embeddings or load_embeddings(settings)
        self.chunks = self.handle.chunks
        self.tokens = [set(lexical_tokens(f"{c['title']} | {c['section']} | {c['text']}", folded=True))
                       for c in self.chunks]
        self.terms = TermStats.from_token_sets(self.tokens)
        self.documents = self.handle.manifest["documents"]
        self.places: dict[str, set[str]] = {
            source: set(places_in(f"{d['title']} {d.get('metadata', {}).get('place', '')}"))
            for source, d in self.documents.items()
        }
        self.directory = self.handle.directory()
        self.targets = self.handle.targets()
        self.records = self.handle.documents()  # text and articles of each document, read once
        self.texts = {s: d["text"] for s, d in self.records.items()}
        self.restorer = AccentRestorer(list(self.texts.values()))
        self.corpus_folded = " ".join(
            fold(canonical(re.sub(r"\s+", " ", text))) for text in self.texts.values())
        self.background = background_vectors(self.embeddings, settings.model_cache_dir)
        self._vectors: dict[str, list[float]] = {}
        self.normative_loaded = any(d.get("metadata", {}).get("kind", "").lower() in ("luật", "bộ luật", "nghị định", "thông tư")
                                    for d in self.documents.values())
        self.llm = None
        if settings.llm_url:
            from .llm import chat_model

            self.llm = chat_model(settings.llm_url, settings.llm_model, settings.llm_api_key,
                                  settings.llm_timeout, settings.llm_max_tokens)
        self.extractive = (RunnableLambda(self._prepare) | RunnableLambda(self._retrieve)
                           | RunnableLambda(self._gate) | RunnableLambda(self._compose))
        self.chain = self.extractive | RunnableLambda(self._generate)

    # ------------------------------------------------------------------ API --

    def ask(self, question: object, history: list[dict] | None = None,
            sources: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        try:
            state = self.chain.invoke({"raw": question, "history": history or [], "sources": sources})
        except BadQuestion as exc:
            return _refused(question, exc)
        answer: Answer = state["answer"]
        answer.latency_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        return answer

    def stream(self, question: object, history: list[dict] | None = None,
               sources: list[str] | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Yield ``(text so far, None)`` as the answer grows, then ``(final text, Answer)``.

        With an LLM, only verified sentences are shown while it writes; if too little
        survives, the extractive answer replaces them at the end.
        """
        started = time.perf_counter()
        try:
            state = self.extractive.invoke({"raw": question, "history": history or [], "sources": sources})
        except BadQuestion as exc:
            answer = _refused(question, exc)
            yield answer.answer, answer
            return
        answer: Answer = state["answer"]
        if self.llm is None or answer.abstained:
            shown = ""
            for line in answer.answer.split("\n"):
                shown = f"{shown}\n{line}" if shown else line
                yield shown, None
        else:
            for shown in self._llm_stream(state):
                yield shown, None
        answer.latency_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        yield answer.answer, answer

    # ---------------------------------------------------------------- steps --

    def _prepare(self, state: dict) -> dict:
        question = clean_question(state["raw"])
        filtered = bool(state["sources"])
        full = standalone(question, state["history"])
        english = is_english(full)
        vietnamese = translate_terms(full) if english else full
        lexical = f"{full} {vietnamese}" if english else expand(full)
        named = places_in(full)
        sources = state["sources"]
        uncovered = [p for p in named if not any(p in places for places in self.places.values())]
        narrowed = [s for s, places in self.places.items() if places & set(named)] if named and not uncovered else []
        narrowed = narrowed or self._by_number(full)
        if narrowed:
            sources = [s for s in narrowed if not sources or s in sources] or sources
        # place names already selected the documents: the evidence need not repeat them
        drop = {t for p in named for t in fold(canonical(p)).split()} if narrowed else set()
        terms = content_terms(expand(vietnamese, replace=True), drop)
        duties, unassigned = [], None
        if _DUTY_QUESTION.search(fold(canonical(full))):
            duties = self.directory.find(full, sources)[1]
            if not duties and not english:
                unassigned = self.directory.named_agency(full)
        compare = None
        if _COMPARE.search(fold(canonical(full))) and not uncovered:
            years = _YEARS.findall(full)
            compare = (int(years[0]) if years else 2030, named)
        unknown = [surface for surface, phrase in named_instruments(full) if self._missing_instrument(surface, phrase)]
        # what the embeddings read: a question typed without diacritics gets them back
        dense_query = f"{full} ({vietnamese})" if english else self.restorer.restore(full)
        reference, resolved = resolve(full, self.records, state["sources"])
        ref_named = bool(reference) and bool(instrument_sources(full, self.records))
        how_to = bool(_HOW_TO.search(fold(canonical(full)).lower()))
        return {**state, "dense_query": dense_query, "reference": reference, "resolved": resolved,
                "ref_named": ref_named, "how_to": how_to, "question": question, "standalone": full, "lexical": lexical, "english": english,
                "named": named, "uncovered": uncovered, "unknown": unknown, "sources": sources, "terms": terms,
                "duties": duties, "unassigned": unassigned, "filtered": filtered, "compare": compare,
                "folded": fold(canonical(f"{full} {vietnamese}"))}

    def _missing_instrument(self, surface: str, phrase: str) -> bool:
        """Is an instrument the question names absent? A law, decree or circular is
        present only as a loaded document — another text that merely mentions "Luật Doanh
        nghiệp" does not state its rules; a resolution or conclusion is present when the
        documents name it (plans restate the targets of the resolutions they implement)."""
        kind = fold(canonical(surface)).lower()
        if kind.startswith(_NORMATIVE) and self.normative_loaded:
            return not instrument_sources(surface, self.records)
        return not re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", self.corpus_folded)

    def _by_number(self, question: str) -> list[str]:
        """Documents whose number the question quotes ("công văn 2651", "41-CTr/TU")."""
        c = canonical(question)
        found = []
        for source, doc in self.documents.items():
            number = canonical(doc.get("metadata", {}).get("number", ""))
            if not re.search(r"\d", number):
                continue
            head = number.split("/")[0]
            keys = {number} | ({head} if len(re.sub(r"\D", "", head)) >= 3 or "-" in head else set())
            if any(re.search(r"(?<![\w/])" + re.escape(k) + r"(?![\w])", c) for k in keys):
                found.append(source)
        return found

    def _retrieve(self, state: dict) -> dict:
        t = time.perf_counter()
        vector = self._query_vector(state["dense_query"])
        stats: dict = {}
        candidates = [] if is_chitchat(state["question"]) else hybrid_search(
            self.handle, self.embeddings, state["dense_query"], k=CANDIDATES, sources=state["sources"],
            lexical_query=state["lexical"], query_vector=vector, stats=stats)
        passages = rerank(candidates, vector, self.handle.pieces())
        return {**state, "hits": candidates[:TOP_K], "candidates": candidates, "passages": passages, "vector": vector,
                "dense": stats.get("dense", []), "retrieve_ms": round((time.perf_counter() - t) * 1000, 1)}

    def _query_vector(self, query: str):
        """The question's embedding, computed once per question (retrieval, steps and the
        gate's background comparison all use it)."""
        key = nfc(query).strip()
        vector = self._vectors.get(key)  # (a dict: safe across the chat's worker threads)
        if vector is None:
            vector = self.embeddings.embed_query(key)
            if len(self._vectors) > 256:
                self._vectors.clear()
            self._vectors[key] = vector
        return vector

    def _generate(self, state: dict) -> dict:
        """The optional LLM step (a no-op without ``BOT_LLM``)."""
        if self.llm is not None and not state["answer"].abstained:
            for _ in self._llm_stream(state):
                pass
        return state

    def _llm_stream(self, state: dict) -> Iterator[str]:
        """Stream verified LLM sentences; fall back to the extractive answer at the end."""
        from .llm import Passage, generate, verify

        t = time.perf_counter()
        answer: Answer = state["answer"]
        extractive_text, extractive_citations = answer.answer, list(answer.citations)
        passages = [Passage(c.id, c.title, c.section, c.text) for c in extractive_citations]
        by_id = {c.id: c.text for c in extractive_citations}
        raw, shown, kept_lines, dropped = "", "", [], 0
        try:
            for delta in generate(self.llm, state["standalone"], passages):
                raw += delta
                # verify each sentence as soon as it is complete
                while True:
                    m = re.search(r"[.!?\n](?:\s*\[\d+\])*\s", raw)
                    if not m:
                        break
                    piece, raw = raw[:m.end()], raw[m.end():]
                    text, _, d = verify(piece, by_id)
                    dropped += d
                    if text:
                        kept_lines.append(text)
                        shown = "\n".join(kept_lines)
                        yield shown
            text, _, d = verify(raw, by_id)
            dropped += d
            if text:
                kept_lines.append(text)
        except Exception as exc:  # endpoint down, timeout, bad response: extractive answer stands
            answer.error = f"LLM không phản hồi ({exc.__class__.__name__}); dùng câu trả lời trích dẫn."
            kept_lines = []
        answer.latency_ms["llm"] = round((time.perf_counter() - t) * 1000, 1)
        answer.llm_dropped = dropped
        final = "\n".join(kept_lines)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", final)}
        if not kept_lines or len(kept_lines) < dropped:
            answer.answer, answer.citations, answer.mode = extractive_text, extractive_citations, "extractive-fallback"
        else:
            answer.answer, answer.mode = final, "llm"
            answer.citations = [c for c in extractive_citations if c.id in cited]
        yield answer.answer

    def coverage(self, terms: list[str], row: int) -> float:
        """IDF-weighted share of the question's distinctive terms found in the passage
        (title and heading path included)."""
        weights = {t: self.terms.weight(t) for t in terms}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        return sum(w for t, w in weights.items() if t in self.tokens[row]) / total

    def _label_match(self, row: int, folded_question: str) -> float:
        """How much of the chunk's own headings (the last two of its path) the question
        names: "Liên minh Hợp tác xã tỉnh" for agency questions, "Điều 30. Điều kiện…"."""
        section = self.chunks[row]["section"]
        if not section:
            return 0.0
        asked = set(folded_question.replace("-", " ").replace("?", " ").split())
        best = 0.0
        for label in section.split(" › ")[-2:]:
            label = re.sub(r"^[\w.]+\.\s*|^[a-zđ]\)\s*", "", label)
            words = [fold(w) for w in canonical(label).replace("-", " ").split()
                     if w not in STOPWORDS_ACCENTED and fold(w) not in GENERIC and w.isalpha()]
            if words:
                best = max(best, sum(w in asked for w in words) / len(words))
        return best

    def _gate(self, state: dict) -> dict:
        hits: list[Hit] = state["hits"]
        terms = state["terms"]
        scored = [(self.coverage(terms, h.row), h) for h in hits]
        best = max((c for c, _ in scored), default=0.0)
        # the question's most distinctive word must itself be in a passage that passes:
        # "đăng ký kết hôn" shares "đăng ký" with the Law, but not "hôn"
        words = [t for t in terms if "_" not in t]
        key = max(words, key=self.terms.weight) if words else None
        key_rows = {h.row for h in hits if key and key in self.tokens[h.row]}
        background_top = float((self.background @ np.asarray(state["vector"], dtype=np.float32)).max()) \
            if len(self.background) else 0.0
        evidence = gate_features(scored, key_rows, terms, not has_diacritics(state["standalone"]), background_top,
                                 state["dense"])
        model = load_gate()
        if model is not None:  # fit on data (bot/gate.json, benchmarks/fit_gate.py)
            probability = model.probability(evidence)
            covered = probability >= model.threshold
        else:  # the coverage rule: distinctive terms, and the most distinctive one, in a passage
            probability = None
            covered = best >= COVERAGE_THRESHOLD and (
                not key or any(c >= COVERAGE_THRESHOLD and h.row in key_rows for c, h in scored))
        reason = None
        if is_chitchat(state["question"]):
            reason = "chitchat"
        elif state["uncovered"]:
            reason = "place"
        elif len(state["resolved"]) == 1:
            reason = None  # "khoản 3 Điều 17 …": answered from that unit
        elif len(state["resolved"]) > 1:
            reason = "which_instrument"
        elif state["reference"] is not None and state["ref_named"]:
            reason = "no_such_article"
        elif state["unknown"]:
            reason = "instrument"
        elif state["compare"] and self._comparison(state)[0]:
            reason = None  # the targets table answers it
        elif state["duties"]:
            reason = None  # the directory holds this agency's assignments
        elif state["unassigned"]:
            reason = "unassigned"
        elif _SIGNER.search(state["folded"]):
            reason = None if len(state["sources"] or []) == 1 else "coverage"
        elif not hits or not covered:
            reason = "coverage"
        return {**state, "scored": scored, "best_coverage": best, "abstain": reason, "evidence": evidence,
                "probability": probability}

    def evidence(self, question: str, history: list[dict] | None = None) -> dict:
        """What the gate sees for a question (features, probability, ranked chunks) —
        for fitting and measuring the gate, not for answering."""
        state = {"raw": question, "history": history or [], "sources": None}
        state = self._gate(self._retrieve(self._prepare(state)))
        return {"features": state["evidence"], "probability": state["probability"], "abstain": state["abstain"],
                "ranked": [(self.chunks[h.row]["source"], self.chunks[h.row]["section"]) for h in state["hits"]]}

    def _compose(self, state: dict) -> dict:
        hits: list[Hit] = state["hits"]
        retrieved = [{"source": self.chunks[p.row]["source"], "section": self.chunks[p.row]["section"],
                      "index": self.chunks[p.row]["index"], "score": round(p.score, 4), "rank": p.rank,
                      "dense": None if p.hit.dense is None else round(p.hit.dense, 4), "lexical": round(p.hit.lexical, 3)}
                     for p in state["passages"][:TOP_K]]
        answer = Answer(question=state["question"], answer="", abstained=False,
                        standalone_question=state["standalone"], retrieved=retrieved,
                        latency_ms={"retrieve": state["retrieve_ms"]})
        reason = state["abstain"]
        if reason:
            answer.abstained, answer.mode = True, "abstained"
            if reason == "chitchat":
                answer.answer = CHITCHAT
            elif reason == "place":
                have = sorted({p for places in self.places.values() for p in places})
                national = [d.get("metadata", {}).get("short_title") or d["title"] for d in self.documents.values()
                            if d.get("metadata", {}).get("place") == "toàn quốc"]
                nationwide = f", cùng các văn bản áp dụng toàn quốc ({', '.join(national[:3])}{', …' if len(national) > 3 else ''})" \
                    if national else ""
                answer.answer = (f"Các văn bản hiện có không có văn bản nào về {', '.join(state['uncovered'])}, "
                                 f"nên tôi không trả lời để tránh dùng số liệu của địa phương khác. "
                                 f"Hiện có văn bản của: {', '.join(have)}{nationwide}.")
            elif reason == "unassigned":
                answer.answer = (f"Các văn bản hiện có không giao nhiệm vụ nào cho {state['unassigned']}"
                                 f"{' trong văn bản đã chọn' if state['filtered'] else ''}.")
            elif reason == "which_instrument":
                names = [self.documents[r.source].get("metadata", {}).get("short_title") or self.documents[r.source]["title"]
                         for r in state["resolved"]]
                answer.answer = (f"Nhiều văn bản có {state['reference'].words()}: {'; '.join(names)}. "
                                 "Bạn hỏi điều của văn bản nào? Hãy ghi tên hoặc số văn bản trong câu hỏi.")
            elif reason == "no_such_article":
                names = [self.documents[s].get("metadata", {}).get("short_title") or self.documents[s]["title"]
                         for s in instrument_sources(state["standalone"], self.records)]
                answer.answer = f"Không tìm thấy {state['reference'].words()} trong {', '.join(names)} (văn bản đã nạp)."
            elif reason == "instrument":
                answer.answer = (f"{', '.join(state['unknown'])} không có trong các văn bản đã nạp, nên tôi không "
                                 "trả lời để tránh đưa thông tin không có căn cứ.")
            else:
                answer.answer = NOT_COVERED
            answer.related = [{"source": self.chunks[h.row]["source"], "title": self.chunks[h.row]["title"],
                               "section": self.chunks[h.row]["section"]} for h in hits[:3]] if reason == "coverage" else []
            return {**state, "answer": answer}
        definition = self._definition(state["standalone"])
        if state["resolved"]:
            self._write_reference(state["resolved"][0], answer)
        elif state["compare"] and self._comparison(state)[0]:
            self._write_comparison(state, answer)
        elif state["duties"]:
            self._write_duties(state["duties"], answer)
        elif _SIGNER.search(state["folded"]):
            self._write_signer(state["sources"][0], answer)
        elif definition:
            self._render([definition], answer)
        elif state["how_to"] and self._write_steps(state, answer):
            pass
        else:
            self._write(state, answer)
        return {**state, "answer": answer}

    # ------------------------------------------------------------ composing --

    def _unit_score(self, terms: dict[str, float], text: str, total: float) -> float:
        tokens = set(lexical_tokens(text, folded=True))
        return sum(w for t, w in terms.items() if t in tokens) / total if total else 0.0

    def _question_terms(self, state: dict) -> dict[str, float]:
        """Every question word but the pure question words, IDF-weighted ("ít nhất" counts)."""
        words = [t for t in lexical_tokens(expand(state["folded"], replace=True), folded=True)
                 if not set(t.split("_")) <= _QUESTION_WORDS]
        return {t: self.terms.weight(t) for t in dict.fromkeys(words + state["terms"])}

    def _extra(self, chunk: dict) -> dict:
        doc = self.documents.get(chunk["source"], {})
        extra = {k: chunk[k] for k in _EXTRA_KEYS if chunk.get(k)}
        if extra:
            extra["instrument"] = doc.get("metadata", {}).get("short_title") or chunk["title"]
        return extra

    def _write_reference(self, r: Resolved, answer: Answer) -> None:
        """The clause/point/article a question quoted, verbatim, named the way it was asked."""
        record = self.records[r.source]
        text = record["text"][r.start:r.end]
        pseudo = {"article": f"Điều {r.reference.article}", "section": r.unit["label"], "title": record["title"],
                  "status": r.unit["meta"].get("status", "")}
        clause = r.reference.clause if r.found_clause else ""
        point = r.reference.point if r.found_clause else ""
        lead = legal_name(pseudo, self.documents.get(r.source, {}), clause or "", point or "")
        if not r.found_clause:
            lead += f" — không có {r.reference.words().rsplit(' Điều', 1)[0]} riêng, trích toàn văn"
        lines = [f"Theo {lead} [1]:"]
        quotes = []
        for i, line in enumerate(text.split("\n")):
            if i == 0 and r.start == r.unit["start"] and (CODE_HEADING.match(line) or line.startswith("Điều ")):
                continue  # the article heading: named in the lead-in
            if line.strip():
                lines.append(("" if _BULLET.match(line) else "- ") + cite(line, 1))
                quotes.append(line)
        answer.answer = "\n".join(lines)
        answer.citations.append(Citation(
            id=1, source=r.source, title=record["title"], section=r.unit["label"], text=text, start=r.start, end=r.end,
            quotes=quotes, extra=self._extra({**r.unit["meta"], "source": r.source, "title": record["title"]}),
        ))
        answer.mode = "reference"

    def _write_steps(self, state: dict, answer: Answer) -> bool:
        """A how-to question as ordered steps: the articles the question retrieves, in the
        order the documents themselves put them (the codification orders articles along
        the procedure: members, founding conference, charter, dossier, certificate…),
        each with its sentence that best matches the question. False when fewer than
        three articles are retrieved (then a plain answer is better)."""
        hits = state["candidates"]
        q_terms = self._question_terms(state)
        total = sum(q_terms.values())
        best: dict[tuple[str, str], tuple[int, int]] = {}
        for rank, hit in enumerate(hits):
            chunk = self.chunks[hit.row]
            key = (chunk["source"], chunk.get("article", ""))
            if key[1] and key not in best:
                best[key] = (rank, hit.row)
        ranked = sorted(best.values())
        if len(ranked) < 3:
            return False
        # The procedure lives mostly in one part of the documents (the codification's
        # chapter, or the document): the part most of the best articles come from.
        def part(row: int) -> str:
            return self.chunks[row].get("chapter") or self.chunks[row]["source"]

        votes: dict[str, float] = {}
        for rank, row in ranked[:8]:
            votes[part(row)] = votes.get(part(row), 0.0) + 1.0 / (rank + 1)
        main = max(votes, key=votes.get)
        inside = [x for x in ranked if part(x[1]) == main][:STEPS_MAX - 2]
        outside = [x for x in ranked[:6] if part(x[1]) != main][:STEPS_MAX - len(inside)]
        chosen = inside + outside

        def position(row: int) -> tuple:
            c = self.chunks[row]
            return (c.get("order", 10**6), c["source"], c["index"])

        picks = []
        for _, hit_row in sorted(chosen, key=lambda x: position(x[1])):
            # the whole article, not only the retrieved part: its opening clause usually
            # states the step, so it wins unless another sentence matches clearly better
            best_pick = None
            article_rows = self._same_article(hit_row)
            for row in article_rows:
                units = pieces(self.chunks[row])
                for k, unit in enumerate(units):
                    opening = row == article_rows[0] and k == 0
                    score = self._unit_score(q_terms, unit[1], total) + (0.2 if opening else 0.0)
                    if best_pick is None or score > best_pick[0]:
                        best_pick = (score, row, units, k)
            if best_pick is None:
                continue
            _, row, units, k = best_pick
            selected = [units[k]]
            if units[k][1].rstrip().endswith(":"):  # a list intro comes with its items
                selected += [u for u in units[k + 1:k + 6] if u[2]]
            picks.append((row, selected))
        self._render(picks, answer, steps=True)
        return True

    def _write(self, state: dict, answer: Answer) -> None:
        """The passages whose best sentence answers best (reranked, bot/rerank.py), each
        with its sentences that come close to that best one; a list intro with its items.

        Passages within PASSAGE_MARGIN of the best are quoted too (up to three): the
        question's answer is often split between a Law clause and the decree article that
        details it, and a second close passage costs the reader less than a wrong first one.
        """
        passages: list[Passage] = state["passages"]
        if not passages:
            row = state["hits"][0].row
            self._render([(row, pieces(self.chunks[row])[:3])], answer)
            return
        top = passages[0]
        wants_list = bool(_LIST_QUESTION.search(state["folded"]))
        first = pieces(self.chunks[top.row])
        if wants_list and sum(p.item for p in first) >= 2 and first[int(top.sims.argmax())].item:
            # "X có nhiệm vụ gì?": the whole list of the section, even across chunks
            self._render([(row, pieces(self.chunks[row])) for row in self._same_section(top.row)], answer)
            return
        picks: list[tuple[int, list[Piece]]] = []
        for passage in passages[:PASSAGES_MAX]:
            if passage.score < top.score - PASSAGE_MARGIN:
                break
            units = pieces(self.chunks[passage.row])
            best = passage.best
            chosen = [k for k in range(len(units)) if passage.sims[k] >= best - PIECE_MARGIN][:PIECES_MAX]
            selected: list[int] = []
            for k in chosen:
                selected.append(k)
                if units[k].text.rstrip().endswith(":"):  # a list intro comes with its items
                    following = k + 1
                    while following < len(units) and units[following].item and following - k <= 8:
                        selected.append(following)
                        following += 1
            picks.append((passage.row, [units[k] for k in sorted(set(selected))]))
        self._render(picks, answer)

    def _definition(self, question: str) -> tuple[int, list[tuple[int, str, bool]]] | None:
        """A definition ("21.Tổ hợp tác là tổ chức…") of the term a "X là gì?" question asks."""
        m = _DEFINITION.match(fold(canonical(question)).strip())
        if not m:
            return None
        term = (m.group(1) or m.group(2)).strip(" ?")
        if len(term) < 3:
            return None
        pattern = re.compile(r"^(?:\d+\.\s*)?" + re.escape(term) + r" la ")
        for row, chunk in enumerate(self.chunks):
            offset = 0
            for line in chunk["text"].split("\n"):
                if pattern.match(fold(canonical(line))):
                    return row, [(offset, line, True)]
                offset += len(line) + 1
        return None

    def _same_article(self, row: int) -> list[int]:
        """All chunks of the article the chunk lies in, in order."""
        article = self.chunks[row].get("article")
        return self._run_around(row, lambda c: c.get("article") == article)

    def _same_section(self, row: int) -> list[int]:
        """The chunk and its neighbours that continue the same section (a split list)."""
        section = self.chunks[row]["section"]
        return self._run_around(row, lambda c: c["section"] == section) if section else [row]

    def _run_around(self, row: int, same) -> list[int]:
        """The chunk and its neighbours in the same document for which ``same`` holds."""
        source = self.chunks[row]["source"]
        rows = [row]
        for step in (-1, 1):
            r = row + step
            while 0 <= r < len(self.chunks) and self.chunks[r]["source"] == source and same(self.chunks[r]):
                rows.append(r)
                r += step
        return sorted(rows)

    def _render(self, picks: list[tuple[int, list[tuple[int, str, bool]]]], answer: Answer, steps: bool = False) -> None:
        lines = []
        for n, (row, selected) in enumerate(picks, start=1):
            step = f"Bước {n}. " if steps else ""
            chunk = self.chunks[row]
            doc = self.documents.get(chunk["source"], {})
            # a run of clauses packed in one chunk: the clause quoted names itself ("7.Hợp tác xã …")
            numbers = {m.group(1) if m else None for m in (re.match(r"^(\d+)\.(?!\d)", u[1]) for u in selected)}
            own = next(iter(numbers)) if len(numbers) == 1 and None not in numbers \
                and not re.search(r" › \d+\.", chunk.get("section", "")) else ""
            legal = legal_name(chunk, doc, clause=own or "")
            if legal:
                lines.append(f"{step}Theo {legal} [{n}]:")
            else:
                name = doc.get("metadata", {}).get("short_title") or chunk["title"]
                where = f", mục {' › '.join(chunk['section'].split(' › ')[-2:])}" if chunk["section"] else ""
                lines.append(f"{step}Theo {name}{where} [{n}]:")
            for _, text, _ in selected:
                for line in text.split("\n"):
                    bullet = "" if _BULLET.match(line) else "- "
                    lines.append(bullet + cite(line, n))
            answer.citations.append(Citation(
                id=n, source=chunk["source"], title=chunk["title"], section=chunk["section"],
                text=chunk["text"], start=chunk["start"], end=chunk["end"], page=chunk.get("page"),
                quotes=[u[1] for u in selected], extra=self._extra(chunk),
            ))
        answer.answer = "\n".join(lines)

    def _comparison(self, state: dict):
        from .targets import markdown_table

        year, places = state["compare"]
        return markdown_table(self.targets, year, state["filtered"] and state["sources"] or None, places or None)

    def _write_comparison(self, state: dict, answer: Answer) -> None:
        """Targets side by side: documents as columns, indicators as rows, each cell cited."""
        table, passages = self._comparison(state)
        year = state["compare"][0]
        answer.answer = f"Theo các văn bản đã nạp, chỉ tiêu đến năm {year}:\n{table}"
        for n, t in enumerate(passages, start=1):
            answer.citations.append(Citation(id=n, source=t.source, title=t.title, section=t.section, text=t.passage,
                                             start=t.start, end=t.end, quotes=[t.passage]))
        answer.mode = "targets"

    def _write_duties(self, duties: list, answer: Answer) -> None:
        """Every task of the agency from the directory, grouped by document and section."""
        groups: dict[tuple[str, str], list] = {}
        for d in duties:
            groups.setdefault((d.source, d.section), []).append(d)
        lines = []
        for n, ((source, section), items) in enumerate(groups.items(), start=1):
            start, end = min(d.start for d in items), max(d.end for d in items)
            doc = self.documents.get(source, {})
            name = doc.get("metadata", {}).get("short_title") or items[0].title
            where = f", mục {' › '.join(section.split(' › ')[-2:])}" if section else ""
            lines.append(f"Theo {name}{where} [{n}]:")
            for d in items:
                for line in d.task.split("\n"):
                    lines.append(("" if _BULLET.match(line) else "- ") + cite(line, n))
            answer.citations.append(Citation(
                id=n, source=source, title=items[0].title, section=section, text=self.texts[source][start:end],
                start=start, end=end, quotes=[d.task for d in items],
            ))
        answer.answer = "\n".join(lines)
        answer.mode = "directory"

    def _write_signer(self, source: str, answer: Answer) -> None:
        """Who signed: the signature lines after the distribution list of the document."""
        rows = [i for i, c in enumerate(self.chunks) if c["source"] == source]
        row = rows[-1]
        lines = self.chunks[row]["text"].split("\n")
        signature = []
        offset = 0
        for line in lines:
            if not _ITEM.match(line) and not line.startswith("Nơi nhận") and offset > 0:
                signature.append((offset, line, False))
            elif signature:
                signature = []
            offset += len(line) + 1
        if not signature:
            answer.abstained, answer.mode = True, "abstained"
            title = self.documents.get(source, {}).get("title", source)
            answer.answer = f"{title} không ghi tên người ký trong phần văn bản hiện có."
            return
        self._render([(row, signature)], answer)
