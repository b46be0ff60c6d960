"""Hybrid retrieval on the real index: fusion, unaccented questions, filters."""

from __future__ import annotations

import pytest

from bot.retrieval import HybridRetriever, hybrid_search

pytestmark = pytest.mark.slow


def _sections(handle, hits):
    return [handle.chunks[h.row]["section"] for h in hits]


@pytest.mark.parametrize("accented, plain, expected", [
    ("Phòng Tài nguyên và Môi trường Cam Ranh có nhiệm vụ gì?",
     "phong tai nguyen va moi truong cam ranh co nhiem vu gi", "4. Phòng Tài nguyên và Môi trường"),
    ("Hồ sơ đăng ký thành lập hợp tác xã gồm những gì?",
     "ho so dang ky thanh lap hop tac xa gom nhung gi", "Điều 42."),
    ("Sở Kế hoạch và Đầu tư Quảng Nam có nhiệm vụ gì?",
     "so ke hoach va dau tu quang nam co nhiem vu gi", "2. Sở Kế hoạch và Đầu tư"),
])
def test_unaccented_questions_retrieve_like_accented_ones(corpus_index, embeddings, accented, plain, expected):
    _, _, handle = corpus_index
    for query in (accented, plain):
        top = _sections(handle, hybrid_search(handle, embeddings, query, k=3))
        assert any(expected in s for s in top), (query, top)


def test_fusion_keeps_dense_and_lexical_evidence(corpus_index, embeddings):
    _, _, handle = corpus_index
    hits = hybrid_search(handle, embeddings, "Kon Tum phấn đấu thành lập mới bao nhiêu hợp tác xã đến năm 2030?")
    top = handle.chunks[hits[0].row]
    assert "2.1. Đến năm 2030" in top["section"]
    assert hits[0].dense is not None and hits[0].lexical > 0
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_filter_by_document(corpus_index, embeddings):
    _, _, handle = corpus_index
    source = "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"
    hits = hybrid_search(handle, embeddings, "mục tiêu đến năm 2030", k=5, sources=[source])
    assert hits and {handle.chunks[h.row]["source"] for h in hits} == {source}


def test_langchain_retriever_returns_cited_documents(corpus_index, embeddings):
    _, _, handle = corpus_index
    retriever = HybridRetriever(handle=handle, embeddings=embeddings, k=4)
    docs = retriever.invoke("Luật Hợp tác xã có hiệu lực từ ngày nào?")
    assert len(docs) == 4 and all(d.id and d.metadata["source"] and d.page_content for d in docs)
    assert any("Điều 114" in d.metadata["section"] for d in docs)
