"""Stage 4 — retrieval: dense (Chroma), sentence and lexical (BM25) rankings fused by reciprocal rank.

Dense retrieval carries paraphrases ("phòng nào lo các HTX chở khách?" → "giao thông vận
tải"); the sentence ranking (each chunk by its best sentence or list item, from the piece
vectors stored with the index) carries the one clause of a long article that answers,
which the whole chunk's vector dilutes; BM25 carries exact names, numbers and document
codes; reciprocal rank fusion needs no score calibration between them. A question typed
without diacritics is matched on the accent-folded BM25 field (dense embeddings cope with
it less well), one with diacritics on both fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .index import IndexHandle, PieceVectors
from .vietnamese import has_diacritics, nfc

RRF_K = 60  # the constant from Cormack et al.; small changes do not matter


@dataclass
class Hit:
    """One retrieved chunk with the evidence of why it was retrieved."""

    row: int  # position in ``IndexHandle.chunks``
    score: float  # fused RRF score
    dense: float | None  # cosine similarity, when in the dense candidates
    lexical: float  # best BM25 score over the fields used


def hybrid_search(handle: IndexHandle, embeddings, query: str, k: int = 6, candidates: int = 40,
                  sources: list[str] | None = None, lexical_query: str | None = None,
                  query_vector: list[float] | None = None, stats: dict | None = None,
                  pieces: PieceVectors | None = None) -> list[Hit]:
    """Top ``k`` chunks for ``query`` by RRF over dense, sentence and lexical rankings.

    ``lexical_query`` (default: the query) is what BM25 sees — for an English question
    only its names and numbers, possibly nothing ("": dense only);
    ``query_vector`` an embedding of the query already computed by the caller;
    ``stats``, when given, receives the dense cosines of the candidates in rank order
    (the gate's evidence, whether or not they survive the fusion);
    ``pieces``, when given, adds a third ranking: every chunk by its best sentence or
    list item (the clause that answers, inside a long article the chunk's own vector
    dilutes).
    """
    query = nfc(query).strip()
    lexical_query = query if lexical_query is None else nfc(lexical_query).strip()  # "" = no lexical side
    chunks = handle.chunks
    allowed = np.ones(len(chunks), dtype=bool)
    if sources:
        allowed[:] = False
        spans = handle.source_rows()
        for source in set(sources):
            if source in spans:
                allowed[spans[source].start:spans[source].stop] = True
    row_of = handle.row_of()
    fused: dict[int, float] = {}

    # dense ranking
    dense_score: dict[int, float] = {}
    collection = handle.collection()
    where = {"source": {"$in": list(sources)}} if sources else None
    if query_vector is None:
        query_vector = embeddings.embed_query(query)
    result = collection.query(query_embeddings=[query_vector],
                              n_results=min(candidates, max(1, int(allowed.sum()))), where=where,
                              include=["distances"])
    if stats is not None:
        stats["dense"] = [1.0 - float(d) for d in result["distances"][0]]
    for rank, (chunk_id, distance) in enumerate(zip(result["ids"][0], result["distances"][0])):
        row = row_of.get(chunk_id)
        if row is None:
            continue
        dense_score[row] = 1.0 - float(distance)
        fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)

    # sentence ranking: each chunk by its best piece, over the whole index
    if pieces is not None:
        best = np.where(allowed, pieces.best(query_vector), -2.0)
        for rank, row in enumerate(np.argsort(-best)[:candidates]):
            if best[row] <= -1.0:
                break
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (RRF_K + rank + 1)

    # lexical rankings: folded always, accented when the user typed accents
    lexical_best = np.zeros(len(chunks), dtype=np.float32)
    # An accented query is ranked on both fields; an unaccented one on the folded field
    # only, counted twice — the embeddings understand unaccented Vietnamese poorly.
    fields = ([True, False] if has_diacritics(lexical_query) else [True, True]) if lexical_query else []
    for folded in fields:
        scores = np.where(allowed, handle.lexical.scores(lexical_query, folded=folded), 0.0)
        lexical_best = np.maximum(lexical_best, scores)
        order = np.argsort(-scores)[:candidates]
        for rank, row in enumerate(order):
            if scores[row] <= 0:
                break
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (RRF_K + rank + 1)

    ranked = sorted(fused.items(), key=lambda item: -item[1])[:k]
    return [Hit(row, score, dense_score.get(row), float(lexical_best[row])) for row, score in ranked]


class HybridRetriever(BaseRetriever):
    """LangChain retriever over :func:`hybrid_search`; documents carry the chunk metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    handle: IndexHandle
    embeddings: object
    k: int = 6
    sources: list[str] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        out = []
        for hit in hybrid_search(self.handle, self.embeddings, query, self.k, sources=self.sources):
            chunk = self.handle.chunks[hit.row]
            metadata = {key: value for key, value in chunk.items() if key != "id"}
            metadata.update(score=hit.score, dense=hit.dense, lexical=hit.lexical, row=hit.row)
            out.append(Document(id=chunk["id"], page_content=chunk["text"], metadata=metadata))
        return out
