"""Stage 7 — answer: the chain that turns a question into a grounded, cited answer.

understand (bot/understand.py: what is asked) → retrieve (bot/retrieval.py: hybrid
dense + sentence + BM25) → rerank (bot/rerank.py: by the best sentence, vectors from the index) →
gate (bot/gate.py: answer or refuse, fit on data) → compose (bot/compose.py: verbatim,
cited) → optionally an LLM rewrite whose every sentence is verified (bot/llm.py).

Each stage is a function of the typed results before it; :class:`Turn` carries them
through a LangChain runnable, so a stage can be read, measured or replaced alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

from langchain_core.runnables import RunnableLambda

from .adapter import load_adapter
from .compose import CHITCHAT, NOT_COVERED, Answer, Citation, cite, compose, legal_facts, legal_name, merge, refused, strip_markers
from .config import Settings
from .corpus import Corpus, syllables
from .gate import COVERAGE_THRESHOLD, Decision, background_vectors, decide
from .index import IndexHandle, ensure_index
from .questions import BadQuestion
from .rerank import CANDIDATES, Retrieved, names_heading, rerank
from .retrieval import hybrid_search
from .understand import Query, understand
from .vietnamese import nfc

__all__ = ["Answer", "Assistant", "Citation", "COVERAGE_THRESHOLD", "CHITCHAT", "NOT_COVERED", "Turn", "cite",
           "legal_facts", "legal_name", "strip_markers"]


@dataclass
class Turn:
    """One question on its way through the chain; each stage fills its own field."""

    raw: object
    history: list[dict]
    sources: list[str] | None
    query: Query | None = None
    found: Retrieved | None = None
    decision: Decision | None = None
    answer: Answer | None = None


class Assistant:
    """Answers questions over an index; load once, ask many times."""

    def __init__(self, settings: Settings, handle: IndexHandle | None = None, embeddings=None):
        from .embeddings import load_embeddings

        self.settings = settings
        self.handle = handle or ensure_index(settings)
        self.embeddings = embeddings or load_embeddings(settings)
        self.adapter = load_adapter(settings.embedding_model, getattr(self.embeddings, "dimension", 0), settings.query_adapter)
        self.corpus = Corpus.load(self.handle)
        self.background = background_vectors(self.embeddings, settings.model_cache_dir)
        self._vectors: dict[str, list[float]] = {}
        self.llm = None
        if settings.llm_url:
            from .llm import chat_model

            self.llm = chat_model(settings.llm_url, settings.llm_model, settings.llm_api_key,
                                  settings.llm_timeout, settings.llm_max_tokens)
        self.extractive = (RunnableLambda(self._understand) | RunnableLambda(self._retrieve)
                           | RunnableLambda(self._gate) | RunnableLambda(self._compose))
        self.chain = self.extractive | RunnableLambda(self._generate)

    # what the page, the CLI and the briefing read
    @property
    def chunks(self) -> list[dict]:
        return self.corpus.chunks

    @property
    def documents(self) -> dict[str, dict]:
        return self.corpus.documents

    @property
    def directory(self):
        return self.corpus.directory

    @property
    def terms(self):
        return self.corpus.terms

    def coverage(self, terms: list[str], row: int) -> float:
        return self.corpus.coverage(terms, row)

    # ------------------------------------------------------------------ API --

    def ask(self, question: object, history: list[dict] | None = None,
            sources: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        try:
            turn = self.chain.invoke(Turn(question, history or [], sources))
        except BadQuestion as exc:
            return refused(question, exc)
        turn.answer.latency_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        return turn.answer

    def stream(self, question: object, history: list[dict] | None = None,
               sources: list[str] | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Yield ``(text so far, None)`` as the answer grows, then ``(final text, Answer)``.

        With an LLM, only verified sentences are shown while it writes; if too little
        survives, the extractive answer replaces them at the end.
        """
        started = time.perf_counter()
        try:
            turn = self.extractive.invoke(Turn(question, history or [], sources))
        except BadQuestion as exc:
            answer = refused(question, exc)
            yield answer.answer, answer
            return
        answer = turn.answer
        if self.llm is None or answer.abstained:
            shown = ""
            for line in answer.answer.split("\n"):
                shown = f"{shown}\n{line}" if shown else line
                yield shown, None
        else:
            for shown in self._llm_stream(turn):
                yield shown, None
        answer.latency_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        yield answer.answer, answer

    def examine(self, question: object, history: list[dict] | None = None, sources: list[str] | None = None) -> Turn:
        """Every stage but composing: what is asked, what was found, and the gate's
        decision (the briefing builds on this; raises BadQuestion like ``ask``)."""
        return self._gate(self._retrieve(self._understand(Turn(question, history or [], sources))))

    def evidence(self, question: str, history: list[dict] | None = None) -> dict:
        """What the gate sees for a question (features, probability, ranked chunks) —
        for fitting and measuring the gate, not for answering."""
        turn = self.examine(question, history)
        d = turn.decision
        return {"features": d.features, "probability": d.probability, "abstain": d.reason,
                "ranked": [(self.chunks[h.row]["source"], self.chunks[h.row]["section"]) for h in turn.found.hits]}

    # ---------------------------------------------------------------- stages --

    def _understand(self, turn: Turn) -> Turn:
        return replace(turn, query=understand(turn.raw, turn.history, turn.sources, self.corpus))

    def _retrieve(self, turn: Turn) -> Turn:
        t = time.perf_counter()
        query = turn.query
        vector = self._query_vector(query.dense_query)
        stats: dict = {}
        pieces = self.handle.pieces()
        candidates = [] if query.chitchat else hybrid_search(
            self.handle, self.embeddings, query.dense_query, k=CANDIDATES, sources=query.sources,
            lexical_query=query.lexical, query_vector=vector, stats=stats, pieces=pieces)
        words = set(syllables(query.standalone))
        named = {h.row: n for h in candidates if (n := names_heading(words, self.chunks[h.row]))}
        passages = rerank(candidates, vector, pieces, named)
        found = Retrieved(vector, candidates, passages, stats.get("dense", []), round((time.perf_counter() - t) * 1000, 1),
                          named)
        return replace(turn, found=found)

    def _gate(self, turn: Turn) -> Turn:
        return replace(turn, decision=decide(turn.query, turn.found, self.corpus, self.background))

    def _compose(self, turn: Turn) -> Turn:
        if turn.query.parts and turn.decision.reason in (None, "coverage"):
            # "X là gì? Y gồm những gì?": every part goes through the stages on its own
            # (the follow-up context of the conversation still applies), then one answer
            parts = []
            for part in turn.query.parts:
                sub = self._gate(self._retrieve(self._understand(Turn(part, turn.history, turn.sources))))
                parts.append((part, compose(sub.query, sub.found, sub.decision, self.corpus)))
            return replace(turn, answer=merge(turn.query, parts, turn.found))
        return replace(turn, answer=compose(turn.query, turn.found, turn.decision, self.corpus))

    def _generate(self, turn: Turn) -> Turn:
        """The optional LLM step (a no-op without ``BOT_LLM``)."""
        if self.llm is not None and not turn.answer.abstained:
            for _ in self._llm_stream(turn):
                pass
        return turn

    def _query_vector(self, query: str):
        """The question's embedding, computed once per question and moved by the query
        adapter (retrieval, rerank and the gate's background comparison all use it)."""
        key = nfc(query).strip()
        vector = self._vectors.get(key)  # (a dict: safe across the chat's worker threads)
        if vector is None:
            vector = self.embeddings.embed_query(key)
            if self.adapter is not None:
                vector = self.adapter(vector)
            if len(self._vectors) > 256:
                self._vectors.clear()
            self._vectors[key] = vector
        return vector

    def _llm_stream(self, turn: Turn) -> Iterator[str]:
        """Stream verified LLM sentences; fall back to the extractive answer at the end."""
        from .llm import Passage, generate, verify

        t = time.perf_counter()
        answer = turn.answer
        extractive_text, extractive_citations = answer.answer, list(answer.citations)
        passages = [Passage(c.id, c.title, c.section, c.text) for c in extractive_citations]
        by_id = {c.id: c.text for c in extractive_citations}
        raw, shown, kept_lines, dropped = "", "", [], 0
        try:
            for delta in generate(self.llm, turn.query.standalone, passages):
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
