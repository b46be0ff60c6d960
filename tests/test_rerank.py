"""The sentence-level rerank over the real index: vectors from the index, one product per question."""

from __future__ import annotations

import numpy as np
import pytest

from bot.chunking import pieces
from bot.rerank import CANDIDATES, rerank
from bot.retrieval import hybrid_search

pytestmark = pytest.mark.slow


def _candidates(assistant, question: str):
    vector = assistant.embeddings.embed_query(question)
    return vector, hybrid_search(assistant.handle, assistant.embeddings, question, k=CANDIDATES, query_vector=vector)


def test_rerank_orders_by_best_piece_and_keeps_every_candidate(assistant):
    vector, hits = _candidates(assistant, "Thành viên được góp vốn tối đa bao nhiêu phần trăm vốn điều lệ của hợp tác xã?")
    passages = rerank(hits, vector, assistant.handle.pieces())
    assert {p.row for p in passages} <= {h.row for h in hits}
    assert len(passages) >= len(hits) - 3  # only chunks that are a bare heading have no piece
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    for p in passages[:5]:  # the stored vectors are the pieces' vectors: re-embedding agrees
        assert len(p.sims) == len(pieces(assistant.chunks[p.row]))


def test_the_clause_that_answers_is_the_best_piece(assistant):
    """One clause of a long article: the rerank finds the chunk and, inside it, the clause."""
    for question, expected in [
        ("Ai được nhận tiền tạm ứng của hợp tác xã?", "Người nhận tạm ứng phải là cán bộ hoặc thành viên"),
        ("Lệ phí đăng ký kinh doanh có được trả lại nếu không được cấp đăng ký không?", "không được hoàn trả"),
    ]:
        vector, hits = _candidates(assistant, question)
        top = rerank(hits, vector, assistant.handle.pieces())[0]
        best = pieces(assistant.chunks[top.row])[int(np.argmax(top.sims))]
        assert expected in best.text, (question, best.text)


def test_stored_piece_vectors_match_the_model(assistant):
    """pieces/ holds what the model gives for each piece's context text (float16 storage;
    int8 activations are scaled per batch, so a vector embedded among others moves a little)."""
    from bot.chunking import piece_context

    store = assistant.handle.pieces()
    row = next(i for i, c in enumerate(assistant.chunks) if len(pieces(c)) >= 3)
    chunk = assistant.chunks[row]
    fresh = np.asarray(assistant.embeddings.embed_documents([piece_context(chunk, p) for p in pieces(chunk)]))
    stored = np.asarray(store.vectors[store.of(row)], dtype=np.float32)
    assert stored.shape == fresh.shape and ((stored * fresh).sum(axis=1) > 0.995).all()


def test_a_question_naming_a_heading_is_recognised():
    from bot.rerank import heading_words, names_heading

    chunk = {"section": "III. TỔ CHỨC THỰC HIỆN › 2. Phòng Tài chính – Kế hoạch"}
    assert frozenset({"phong", "tai", "chinh", "ke", "hoach"}) in heading_words(chunk)
    from bot.corpus import syllables

    assert names_heading(set(syllables("Phòng Tài chính - Kế hoạch Cam Ranh làm gì?")), chunk) == 5
    assert names_heading(set(syllables("phong tai chinh ke hoach lam gi")), chunk) == 5  # accents optional
    assert names_heading(set(syllables("Phòng Kinh tế làm gì?")), chunk) == 0
    # a clause labelled by its cut first sentence is not a heading; the article's title is
    cut = {"section": "Điều 98. Giải thể tự nguyện › 3. Trong thời hạn 07 ngày làm việc kể từ ngày…"}
    assert heading_words(cut) == (frozenset({"giai", "the", "tu", "nguyen"}),)


def test_sentence_search_ranks_every_chunk_by_its_best_piece(assistant):
    """The third ranking reads the whole index: each chunk scores its best piece, and the
    chunk holding the best piece of all is a candidate even where the chunk's own vector
    and BM25 leave it out."""
    question = "tổ hợp tác muốn lên hợp tác xã thì phải hoạt động được bao lâu"  # Điều 108, clause 1
    vector = assistant.embeddings.embed_query(question)
    vectors = assistant.handle.pieces()
    best = vectors.best(vector)
    assert best.shape == (len(assistant.chunks),)
    for row in (0, len(assistant.chunks) // 2, len(assistant.chunks) - 1):
        own = np.asarray(vectors.vectors[vectors.of(row)], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        assert best[row] == pytest.approx(float(own.max()) if len(own) else -1.0, abs=1e-5)
    top = int(np.argmax(best))
    without = hybrid_search(assistant.handle, assistant.embeddings, question, k=CANDIDATES, query_vector=vector)
    with_pieces = hybrid_search(assistant.handle, assistant.embeddings, question, k=CANDIDATES, query_vector=vector,
                                pieces=vectors)
    assert top not in {h.row for h in without}  # the case this ranking exists for
    assert top in {h.row for h in with_pieces}
    assert "Điều 108." in assistant.chunks[top]["section"]
    assert len(with_pieces) == len(without) == CANDIDATES
