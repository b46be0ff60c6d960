"""Stage 3b — index: Chroma (dense) + BM25 (lexical), incremental and crash-safe.

Layout of ``index/``::

    CURRENT              name of the published version folder (replaced atomically)
    models/              converted embedding model(s), kept across rebuilds
    v-<id>/chroma/       Chroma PersistentClient (cosine space, our own embeddings)
    v-<id>/records.sqlite  LangChain record manager: chunk hash → id, grouped by source
    v-<id>/lexical/      bm25s indexes: accented syllables+bigrams, and accent-folded
    v-<id>/manifest.json documents (hash, title, metadata), skipped files, settings
    v-<id>/chunks.jsonl  every chunk in document order (the lexical index's row order)
    v-<id>/duties.jsonl  the duties directory: who must do what (bot/duties.py)
    v-<id>/targets.jsonl quantitative targets of the plans (bot/targets.py)
    v-<id>/pieces/       a vector for every sentence and list item of every chunk (the
                         reranker's evidence), keyed by a hash of the embedded text
    v-<id>/documents.jsonl, documents.offsets.json, restorer.pickle, folded.txt
                         what the answer stages read, derived once here (bot/corpus.py)
    journal/             vectors of a run not yet published (a killed run resumes from it)

A run copies the published version into a new folder, brings it up to date there, and
only then rewrites ``CURRENT``. A crash (even ``kill -9``) at any point leaves the
previous version published and usable; the half-built folder is removed next run.

Incremental: unchanged documents (same file hash, same pipeline settings) are not even
re-chunked; changed ones go through LangChain's ``index()`` with the SQL record
manager, which embeds only chunks it has not seen; removed files are purged.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterator

from .chunking import Chunk, chunk_document, piece_context, pieces
from .config import Settings, quiet_libraries
from .documents import Skipped, SourceDocument, load_documents
from .vietnamese import lexical_tokens

CHUNKER_VERSION = "4"  # bump when chunking rules change: forces a re-chunk of every file
CURRENT = "CURRENT"
PIECES = "pieces"  # folder: key.npy, vector.npy (float16, memory-mapped by readers), row.npy


@dataclass
class IndexSummary:
    """What one indexing run did (printed by the CLI, returned to the UI and tests)."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks newly embedded in this run
    pieces_embedded: int = 0  # sentences/items newly embedded (the reranker's vectors)
    deleted: int = 0  # chunks removed (changed or deleted files)
    unchanged_documents: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    version: str = ""

    def lines(self) -> list[str]:
        out = [
            f"Tài liệu: {self.documents} (không đổi: {self.unchanged_documents}) · "
            f"đoạn: {self.chunks} · nhúng mới: {self.embedded} đoạn, {self.pieces_embedded} câu · xóa: {self.deleted} · "
            f"{self.seconds:.1f} giây",
        ]
        out += [str(s) for s in self.skipped]
        return out


# ------------------------------------------------------------ versions ----

def current_version(index_dir: Path) -> Path | None:
    """The published version folder, or None when no index was ever completed."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = index_dir / name
    return path if name and (path / "manifest.json").exists() else None


def _publish(index_dir: Path, version: Path) -> None:
    tmp = index_dir / f".{CURRENT}.{uuid.uuid4().hex}"
    tmp.write_text(version.name + "\n", encoding="utf-8")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _collect_garbage(index_dir: Path, keep: set[str], settings: Settings | None = None) -> None:
    """Remove crash leftovers and superseded versions (keeping the previous one for
    readers that still have it open), their collections on a Chroma server included."""
    for path in index_dir.glob("v-*"):
        if path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in index_dir.glob(f".{CURRENT}.*"):
        path.unlink(missing_ok=True)
    if settings is not None and settings.chroma_url:
        client = chroma_client(settings, index_dir)
        prefix = f"{settings.collection}-v-"
        for collection in client.list_collections():
            name = getattr(collection, "name", collection)
            if name.startswith(prefix) and name[len(settings.collection) + 1:] not in keep:
                client.delete_collection(name)


@contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time (the CLI and the chat's upload may both index)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------ stores ----

def chroma_client(settings: Settings, version: Path):
    """Chroma with telemetry off: the server at ``BOT_CHROMA_URL`` (shared by every
    replica), or a persistent store inside the version folder."""
    quiet_libraries()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlsplit

        url = urlsplit(settings.chroma_url)
        return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or (443 if url.scheme == "https" else 8000),
                                   ssl=url.scheme == "https", settings=chroma_settings)
    return chromadb.PersistentClient(path=str(version / "chroma"), settings=chroma_settings)


def collection_name(settings: Settings, version: Path) -> str:
    """One collection per version on a shared server (a reader never sees half an
    update); inside a version folder the folder already is the version."""
    return f"{settings.collection}-{version.name}" if settings.chroma_url else settings.collection


def release_chroma(client) -> None:
    """Close a client so its files can be copied, removed or reopened cleanly."""
    close = getattr(client, "close", None)
    if close is not None:
        close()


# HNSW search breadth. Chroma's default (ef_search 100, 16 neighbours) sometimes missed
# the best match — cosine 0.91 against 0.86 for the runner-up — of a chunk added
# incrementally to a copied index (3 of 6 runs; see tests/test_index.py and chroma-core/chroma
# #7758 on 1.5.9). A policy corpus holds hundreds to a few thousand chunks: on ours a dense
# query takes a median 2.8 ms at ef_search 100 and at 1000, and the ranking becomes exact.
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 1000, "max_neighbors": 32}


def vector_store(client, name: str, embeddings):
    """The LangChain view of our Chroma collection. Never Chroma's default embedder."""
    from langchain_chroma import Chroma

    store = Chroma(
        collection_name=name, client=client, embedding_function=embeddings,
        collection_configuration={"hnsw": HNSW},
    )
    widen_search(client, name)
    return store


def widen_search(client, name: str) -> None:
    """Give a collection made before :data:`HNSW` was widened the wider search too.

    ef_search is the one HNSW setting Chroma lets an existing collection change; an index
    built by an older version keeps working and needs no rebuild."""
    from chromadb.errors import NotFoundError

    try:
        collection = client.get_collection(name)
    except NotFoundError:  # no collection yet (an index of only unreadable files)
        return
    hnsw = (collection.configuration or {}).get("hnsw") or {}
    if hnsw.get("ef_search", 0) < HNSW["ef_search"]:
        collection.modify(configuration={"hnsw": {"ef_search": HNSW["ef_search"]}})


# Rows per read. Chroma turns a read into one SQL statement with a variable per record,
# and SQLite allows 32,766: reading 50,000 chunks at once failed. Every read of the
# store goes through :func:`read_all`.
PAGE = 5000


def pages(collection, include: list[str], where: dict | None = None) -> Iterator[dict]:
    """The records of ``collection`` (matching ``where``), ``PAGE`` at a time."""
    offset = 0
    while True:
        page = collection.get(include=include, where=where, limit=PAGE, offset=offset)
        yield page
        if len(page["ids"]) < PAGE:
            return
        offset += PAGE


def read_all(collection, include: list[str], where: dict | None = None) -> dict[str, list]:
    """Every record of ``collection`` (matching ``where``), read page by page."""
    out: dict[str, list] = {"ids": [], **{k: [] for k in include}}
    for page in pages(collection, include, where):
        for key in out:
            values = page[key]
            out[key].extend(list(values) if values is not None else [])
    return out


def in_pages(items: list, size: int = PAGE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def record_manager(version: Path, settings: Settings):
    from langchain_classic.indexes import SQLRecordManager

    manager = SQLRecordManager(f"chroma/{settings.collection}", db_url=f"sqlite:///{version / 'records.sqlite'}")
    manager.create_schema()
    return manager


def _to_langchain(chunk: Chunk):
    from langchain_core.documents import Document

    metadata = {
        "source": chunk.source, "title": chunk.title, "section": chunk.section, "text": chunk.text,
        "start": chunk.start, "end": chunk.end, "index": chunk.index,
    }
    if chunk.page is not None:
        metadata["page"] = chunk.page
    metadata.update(chunk.extra)
    return Document(page_content=chunk.context_text, metadata=metadata)


def text_key(text: str) -> bytes:
    """A vector's key: the hash of exactly the text the model read (prefix aside)."""
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode()


class Journal:
    """Vectors embedded by a run that has not published yet, one SQLite row each,
    committed batch by batch.

    A run killed after an hour of embedding leaves them here; the next run with the
    same model reads them back instead of embedding again. Emptied when a version is
    published (its vectors then live in Chroma and ``pieces/``)."""

    def __init__(self, path: Path):
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def load(self) -> dict[bytes, object]:
        import numpy as np

        return {k: np.frombuffer(v, dtype=np.float16) for k, v in self.db.execute("SELECT key, vector FROM vectors")}

    def add(self, items: list[tuple[bytes, object]]) -> None:
        import numpy as np

        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                [(k, np.asarray(v, dtype=np.float16).tobytes()) for k, v in items])

    def clear(self) -> None:
        """Forget every run's vectors (this model's and any other's): the published
        version holds what is needed now."""
        self.db.close()
        for path in self.path.parent.glob("*.sqlite*"):
            path.unlink(missing_ok=True)


class KnownVectors:
    """The embedder as LangChain's ``index()`` sees it: every text was embedded (or
    found) beforehand, so writing to Chroma costs no model call. A text it does not know
    is embedded on the spot (it would be a bug, but not a wrong vector)."""

    def __init__(self, vectors: dict[bytes, object], inner):
        self.vectors, self.inner = vectors, inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        missing = [t for t in texts if text_key(t) not in self.vectors]
        if missing:
            for t, v in zip(missing, self.inner.embed_documents(missing)):
                self.vectors[text_key(t)] = np.asarray(v, dtype=np.float16)
        return [self.vectors[text_key(t)].astype(np.float32).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# ------------------------------------------------------------ lexical ----

class LexicalIndex:
    """BM25 over syllables + syllable bigrams, in an accented and an accent-folded field."""

    FIELDS = ("accented", "folded")

    def __init__(self, retrievers: dict, chunk_ids: list[str]):
        self.retrievers = retrievers
        self.chunk_ids = chunk_ids

    @classmethod
    def build(cls, texts: list[str], chunk_ids: list[str]) -> "LexicalIndex":
        import bm25s

        retrievers = {}
        for name in cls.FIELDS:
            retriever = bm25s.BM25()
            retriever.index([lexical_tokens(t, folded=name == "folded") or ["∅"] for t in texts],
                            show_progress=False)
            retrievers[name] = retriever
        return cls(retrievers, chunk_ids)

    def save(self, folder: Path) -> None:
        for name, retriever in self.retrievers.items():
            retriever.save(str(folder / name), show_progress=False)
        (folder / "ids.json").write_text(json.dumps(self.chunk_ids), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        # memory-mapped: a question touches the postings of its own few tokens only
        retrievers = {name: bm25s.BM25.load(str(folder / name), show_progress=False, mmap=True) for name in cls.FIELDS}
        return cls(retrievers, json.loads((folder / "ids.json").read_text(encoding="utf-8")))

    def scores(self, query: str, folded: bool):
        """BM25 score of every chunk (row order = ``chunk_ids``) for the query."""
        name = "folded" if folded else "accented"
        tokens = lexical_tokens(query, folded=folded)
        retriever = self.retrievers[name]
        known = [t for t in tokens if t in retriever.vocab_dict]
        import numpy as np

        if not known:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return retriever.get_scores(known)


# ------------------------------------------------------------ build ----

def _fingerprint(settings: Settings) -> dict[str, str]:
    """Settings that change chunks, vectors or what is extracted from documents: when they
    differ, every file is redone (vectors are still reused when the model is the same)."""
    from .duties import FORMAT as DUTIES_FORMAT
    from .embeddings import model_name
    from .questions import question_texts

    return {
        "chunker": CHUNKER_VERSION, "chunk_max_chars": str(settings.chunk_max_chars),
        "duties_format": str(DUTIES_FORMAT),
        # the accent restorer learns the question register too (bot/questions.py)
        "question_register": hashlib.sha256("\n".join(question_texts()).encode("utf-8")).hexdigest()[:12],
        "embedding_model": model_name(settings),
        "query_prefix": str(settings.query_prefix), "passage_prefix": str(settings.passage_prefix),
    }


# progress(stage, done, total): stage is one of these; done/total count texts (embedding)
# or chunks (writing), so a bar moves with the work, not once per document
EMBEDDING, WRITING = "Nhúng", "Ghi chỉ mục"
Progress = Callable[[str, int, int], None]


def build_index(
    settings: Settings,
    rebuild: bool = False,
    progress: Progress | None = None,
    embeddings=None,
) -> IndexSummary:
    """Bring the index in ``settings.index_dir`` up to date with ``settings.documents_dir``.

    Three passes over the changed documents, so the model never waits for anything:
    chunk them all; embed every text not yet known (chunks and their sentences, longest
    first, progress per text, committed to the :class:`Journal` as it goes); then write
    Chroma, the record manager, the lexical index and the pieces from those vectors.
    ``embeddings`` may be passed in to reuse an already loaded model.
    """
    started = time.perf_counter()
    index_dir = settings.index_dir
    with _lock(index_dir):
        published = current_version(index_dir)
        previous = None if rebuild else published
        old_manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8")) if previous else {}
        fingerprint = _fingerprint(settings)
        same_pipeline = old_manifest.get("fingerprint") == fingerprint
        if old_manifest and (old_manifest.get("fingerprint", {}).get("embedding_model") != fingerprint["embedding_model"]
                             or old_manifest.get("chroma_url", "") != settings.chroma_url):
            previous, old_manifest, same_pipeline = None, {}, False  # other vectors or store: start afresh

        documents, skipped = load_documents(settings.documents_dir, settings.max_file_mb, settings.max_unzipped_mb)
        old_docs: dict[str, dict] = old_manifest.get("documents", {})
        # a document is redone when its bytes, or what is read about it (title, letterhead,
        # catalog entry), changed: the title is part of every chunk's embedded text
        changed = [d for d in documents if not same_pipeline or old_docs.get(d.source, {}).get("sha256") != d.sha256
                   or old_docs[d.source].get("title") != d.title or old_docs[d.source].get("metadata") != d.metadata]
        removed = sorted(set(old_docs) - {d.source for d in documents})
        summary = IndexSummary(documents=len(documents), skipped=skipped,
                               unchanged_documents=len(documents) - len(changed))
        old_skipped = [Skipped(**s) for s in old_manifest.get("skipped", [])]
        if previous and not changed and not removed and old_skipped == skipped:
            # Nothing to do: the published version stays as it is.
            summary.chunks = old_manifest.get("chunks", 0)
            summary.version = previous.name
            summary.seconds = time.perf_counter() - started
            return summary

        version = index_dir / f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        _collect_garbage(index_dir, {published.name} if published else set(), settings)
        name = collection_name(settings, version)
        if previous:
            shutil.copytree(previous, version, ignore=shutil.ignore_patterns("chroma") if settings.chroma_url else None)
        else:
            version.mkdir(parents=True)
        client = chroma_client(settings, version)
        if previous and settings.chroma_url:
            _copy_collection(client, old_manifest.get("collection", collection_name(settings, previous)), name)

        journal = Journal(index_dir / "journal" / f"{text_key(json.dumps(fingerprint, sort_keys=True)).decode()[:16]}.sqlite")
        try:
            collection = client.get_or_create_collection(name, configuration={"hnsw": HNSW})
            chunked = {d.source: [_to_langchain(c) for c in chunk_document(d, settings.chunk_max_chars)] for d in changed}
            # what is already known: vectors of a killed run, of the old version's chunks and pieces
            known = journal.load()
            known.update(_old_vectors(collection, [d.source for d in changed if d.source in old_docs]))
            old_pieces = _old_pieces(version / PIECES)
            needed = [c.page_content for docs in chunked.values() for c in docs]
            piece_texts = [piece_context(c.metadata, p) for docs in chunked.values() for c in docs for p in pieces(c.metadata)]
            chunk_keys = {text_key(t) for t in needed}
            todo = {}
            for text in needed + piece_texts:
                key = text_key(text)
                if key not in known and key not in old_pieces:
                    todo[key] = text
            def model():
                nonlocal embeddings
                if embeddings is None:
                    from .embeddings import load_embeddings

                    embeddings = load_embeddings(settings)
                return embeddings

            fresh = _embed(list(todo.items()), model() if todo else None, journal, progress)
            known.update(fresh)
            summary.embedded = sum(1 for k in fresh if k in chunk_keys)
            summary.pieces_embedded = len(fresh) - summary.embedded

            store = vector_store(client, name, KnownVectors(known, embeddings))
            manager = record_manager(version, settings)
            from langchain_core.indexing import index as lc_index

            for source in removed:
                keys = manager.list_keys(group_ids=[source])
                for page in in_pages(keys):
                    store.delete(page)
                    manager.delete_keys(page)
                summary.deleted += len(keys)
            total, done = sum(len(v) for v in chunked.values()), 0
            for source, docs in chunked.items():
                result = lc_index(docs, manager, store, cleanup="incremental", source_id_key="source",
                                  key_encoder="sha256", batch_size=256)
                summary.deleted += result["num_deleted"]
                done += len(docs)
                if progress:
                    progress(WRITING, done, total)
            records = read_all(collection, ["metadatas"])
            rows = _write_chunks_and_lexical(version, records)
            vectors = {**old_pieces, **known}
            # pieces of unchanged documents missing from the old version (one built before
            # sentence vectors existed) are embedded now
            late = {text_key(t): t for t in (piece_context(c, p) for c in rows for p in pieces(c)) if text_key(t) not in vectors}
            if late:
                vectors.update(_embed(list(late.items()), model(), journal, progress))
                summary.pieces_embedded += len(late)
            _write_pieces(version, rows, vectors)
            summary.chunks = len(records["ids"])
        finally:
            release_chroma(client)

        per_source = Counter(m["source"] for m in records["metadatas"])
        manifest = {
            "fingerprint": fingerprint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "chroma_url": settings.chroma_url,
            "collection": name,
            "documents": {d.source: {"sha256": d.sha256, "title": d.title, "metadata": d.metadata,
                                     "chunks": per_source[d.source]} for d in documents},
            "skipped": [asdict(s) for s in skipped],
            "chunks": summary.chunks,
        }
        _write_json(version / "manifest.json", manifest)
        _write_documents(version, documents)
        from .duties import build_directory, save_directory

        save_directory(build_directory(documents), version / "duties.jsonl")
        from .targets import build_targets, save_targets

        save_targets(build_targets(documents), version / "targets.jsonl")
        _write_derived(version, documents)
        _publish(index_dir, version)
        journal.clear()
        _collect_garbage(index_dir, {version.name} | ({published.name} if published else set()), settings)
        summary.version = version.name
        summary.seconds = time.perf_counter() - started
        return summary


def _embed(todo: list[tuple[bytes, str]], embeddings, journal: Journal, progress: Progress | None) -> dict[bytes, object]:
    """Embed ``todo`` longest first (batches of equal length waste no padding), saving
    each batch to the journal; ``progress`` hears every batch."""
    import numpy as np

    todo = sorted(todo, key=lambda kv: -len(kv[1]))
    out: dict[bytes, object] = {}
    step = 128
    if progress:
        progress(EMBEDDING, 0, len(todo))
    for start in range(0, len(todo), step):
        batch = todo[start:start + step]
        vectors = embeddings.embed_documents([t for _, t in batch])
        items = [(k, np.asarray(v, dtype=np.float16)) for (k, _), v in zip(batch, vectors)]
        journal.add(items)
        out.update(items)
        if progress:
            progress(EMBEDDING, start + len(batch), len(todo))
    return out


def _old_vectors(collection, sources: list[str]) -> dict[bytes, object]:
    """The stored vectors of documents about to be redone, by text: an edited document
    re-embeds only the passages whose text changed."""
    import numpy as np

    out: dict[bytes, object] = {}
    for source in sources:
        got = read_all(collection, ["embeddings", "documents"], where={"source": source})
        for text, vector in zip(got["documents"], got["embeddings"]):
            out[text_key(text)] = np.asarray(vector, dtype=np.float16)
    return out


def _old_pieces(path: Path) -> dict[bytes, object]:
    import numpy as np

    if (path / "key.npy").exists():
        return dict(zip(np.load(path / "key.npy").tolist(), np.load(path / "vector.npy")))
    if path.with_suffix(".npz").exists():  # a version written before pieces/ was a folder
        with np.load(path.with_suffix(".npz")) as data:
            return dict(zip(data["key"].tolist(), data["vector"]))
    return {}


def _copy_collection(client, source: str, target: str) -> None:
    """A new version's collection on the server starts as a copy of the published one
    (vectors included: copying is far cheaper than embedding)."""
    from chromadb.errors import NotFoundError

    try:
        old = client.get_collection(source)
    except NotFoundError:
        return
    new = client.get_or_create_collection(target, configuration={"hnsw": HNSW})
    for page in pages(old, ["embeddings", "documents", "metadatas"]):
        if len(page["ids"]):
            new.add(ids=page["ids"], embeddings=page["embeddings"], documents=page["documents"], metadatas=page["metadatas"])


def _write_chunks_and_lexical(version: Path, records: dict) -> list[dict]:
    """All chunks in document order, and the BM25 indexes over their contextual text."""
    rows = sorted(zip(records["ids"], records["metadatas"]), key=lambda r: (r[1]["source"], r[1]["index"]))
    with (version / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for chunk_id, meta in rows:
            f.write(json.dumps({"id": chunk_id, **meta}, ensure_ascii=False) + "\n")
    lexical_dir = version / "lexical"
    shutil.rmtree(lexical_dir, ignore_errors=True)
    lexical_dir.mkdir()
    texts = [f"{m['title']} | {m['section']} | {m['text']}" for _, m in rows]
    LexicalIndex.build(texts, [r[0] for r in rows]).save(lexical_dir)
    return [{"id": chunk_id, **meta} for chunk_id, meta in rows]


def _write_pieces(version: Path, rows: list[dict], vectors: dict[bytes, object]) -> None:
    """A vector for every sentence and list item of every chunk, in chunk order.

    The reranker compares the question with these, so an answer can come from the one
    clause of a long article that says what was asked, with no model call at query time
    but the question's own. Stored float16, one ``.npy`` per array so readers can map
    them instead of reading them (start-up does not grow with the corpus)."""
    import numpy as np

    keys, owner = [], []
    for row, chunk in enumerate(rows):
        for piece in pieces(chunk):
            keys.append(text_key(piece_context(chunk, piece)))
            owner.append(row)
    dim = len(next(iter(vectors.values()))) if vectors else 0
    matrix = np.zeros((len(keys), dim), dtype=np.float16)
    for i, k in enumerate(keys):
        matrix[i] = vectors[k]
    folder = version / PIECES
    shutil.rmtree(folder, ignore_errors=True)
    (version / "pieces.npz").unlink(missing_ok=True)
    folder.mkdir()
    np.save(folder / "key.npy", np.array(keys, dtype="S40"))
    np.save(folder / "vector.npy", matrix)
    np.save(folder / "row.npy", np.array(owner, dtype=np.int32))


def _write_documents(version: Path, documents: list[SourceDocument]) -> None:
    """The normalised text of every document (what citations are verified against), and
    where each line starts, so a reader loads one document when it needs it."""
    offsets = {}
    with (version / "documents.jsonl").open("wb") as f:
        for d in documents:
            line = (json.dumps({"source": d.source, "title": d.title, "text": d.text, "pages": d.pages,
                                "metadata": d.metadata, "units": [asdict(u) for u in d.units]},
                               ensure_ascii=False) + "\n").encode("utf-8")
            offsets[d.source] = [f.tell(), len(line)]
            f.write(line)
    _write_json(version / "documents.offsets.json", offsets)


def _write_derived(version: Path, documents: list[SourceDocument]) -> None:
    """What the assistant would otherwise derive from every document at every start
    (seconds at 1x, minutes at 100x): the accent restorer's counts and the corpus's
    accent-folded text."""
    import pickle
    import re

    from .questions import question_texts
    from .vietnamese import AccentRestorer, canonical, fold

    texts = [d.text for d in documents]
    with (version / "restorer.tmp").open("wb") as f:
        pickle.dump(AccentRestorer(texts + question_texts()), f, protocol=pickle.HIGHEST_PROTOCOL)
    (version / "restorer.tmp").replace(version / "restorer.pickle")
    (version / "folded.txt").write_text(" ".join(fold(canonical(re.sub(r"\s+", " ", t))) for t in texts), encoding="utf-8")


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


# ------------------------------------------------------------ reading ----

@dataclass
class PieceVectors:
    """The vectors of :func:`_write_pieces`: ``vectors[starts[row]:starts[row + 1]]`` are
    the pieces of chunk ``row``, in the order :func:`bot.chunking.pieces` gives them."""

    vectors: object  # float16 array (pieces × dim), memory-mapped on disk
    starts: object  # int array, one more entry than there are chunks
    _dense: object = None  # float32 copy of ``vectors`` (:attr:`dense`), made on first use

    @classmethod
    def load(cls, path: Path, chunks: int) -> "PieceVectors":
        import numpy as np

        if (path / "vector.npy").exists():
            rows = np.load(path / "row.npy")
            starts = np.searchsorted(rows, np.arange(chunks + 1), side="left")
            return cls(np.load(path / "vector.npy", mmap_mode="r"), starts)
        if path.with_suffix(".npz").exists():  # a version written before pieces/ was a folder
            with np.load(path.with_suffix(".npz")) as data:
                starts = np.searchsorted(data["row"], np.arange(chunks + 1), side="left")
                return cls(data["vector"], starts)
        # a version built before pieces existed: no evidence, no crash
        return cls(np.zeros((0, 1), dtype=np.float16), np.zeros(chunks + 1, dtype=np.int64))

    def of(self, row: int) -> slice:
        return slice(int(self.starts[row]), int(self.starts[row + 1]))

    @property
    def dense(self):
        """The vectors as float32, converted once: float16 products have no BLAS path, and
        every question reads all of them (:meth:`best`) — 4 bytes a dimension a piece in
        memory (141 MB at the 33x scale of the README), against ~3 ms a question to convert
        them each time even at 1x."""
        import numpy as np

        if self._dense is None:
            self._dense = np.asarray(self.vectors, dtype=np.float32)
        return self._dense

    def best(self, query_vector):
        """An array: each chunk's best piece cosine to the question (-1 for a chunk without pieces):
        the sentence-level ranking of the whole index, one matrix product."""
        import numpy as np

        out = np.full(len(self.starts) - 1, -1.0, dtype=np.float32)
        if not len(self.vectors):
            return out
        sims = self.dense @ np.asarray(query_vector, dtype=np.float32)
        has = np.diff(self.starts) > 0
        out[has] = np.maximum.reduceat(sims, self.starts[:-1][has])
        return out


@dataclass
class IndexHandle:
    """A published index version, opened for reading."""

    version: Path
    manifest: dict
    chunks: list[dict]  # document order; rows of the lexical index
    lexical: LexicalIndex
    client: object
    settings: Settings
    name: str = ""  # the Chroma collection
    _pieces: "PieceVectors | None" = None
    _collection: object = None
    _rows: "dict[str, int] | None" = None
    _sources: "dict[str, range] | None" = None

    def collection(self):
        """The Chroma collection, looked up once (a lookup per question cost ~7 % of a
        loaded server's CPU)."""
        if self._collection is None:
            self._collection = self.client.get_collection(self.name or self.settings.collection)
        return self._collection

    def row_of(self) -> dict[str, int]:
        """Chunk id → row, built once."""
        if self._rows is None:
            self._rows = {c["id"]: i for i, c in enumerate(self.chunks)}
        return self._rows

    def source_rows(self) -> dict[str, range]:
        """Source → its rows (chunks are stored grouped by document), built once."""
        if self._sources is None:
            out: dict[str, range] = {}
            start = 0
            for i in range(1, len(self.chunks) + 1):
                if i == len(self.chunks) or self.chunks[i]["source"] != self.chunks[start]["source"]:
                    out[self.chunks[start]["source"]] = range(start, i)
                    start = i
            self._sources = out
        return self._sources

    def store(self, embeddings):
        return vector_store(self.client, self.name or self.settings.collection, embeddings)

    def directory(self):
        """The duties directory (who must do what), extracted when the version was built."""
        from .duties import build_directory, load_directory

        path = self.version / "duties.jsonl"
        if path.exists():
            directory = load_directory(path)
            if not directory.stale:
                return directory
        # missing, or written in an older format: derived again from the stored documents
        return build_directory(self._source_documents())

    def _source_documents(self):
        from .documents import SourceDocument

        return [SourceDocument(source=s, title=d["title"], text=d["text"], sha256="", metadata=d.get("metadata", {}),
                               pages=d.get("pages", [])) for s, d in self.documents().items()]

    def targets(self):
        """Quantitative targets of the plans (bot/targets.py), extracted when the version was built."""
        from .targets import build_targets, load_targets

        path = self.version / "targets.jsonl"
        return load_targets(path) if path.exists() else build_targets(self._source_documents())

    def pieces(self) -> "PieceVectors":
        """The sentence/item vectors of every chunk (loaded once, on first use)."""
        if self._pieces is None:
            self._pieces = PieceVectors.load(self.version / PIECES, len(self.chunks))
        return self._pieces

    def documents(self) -> dict[str, dict]:
        out = {}
        with (self.version / "documents.jsonl").open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                out[row["source"]] = row
        return out


def open_index(settings: Settings) -> IndexHandle | None:
    """The published index, or None if none was built yet."""
    version = current_version(settings.index_dir)
    if version is None:
        return None
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    with (version / "chunks.jsonl").open(encoding="utf-8") as f:
        chunks = [json.loads(line) for line in f]
    client = chroma_client(settings, version)
    name = manifest.get("collection", settings.collection)
    widen_search(client, name)
    return IndexHandle(version, manifest, chunks, LexicalIndex.load(version / "lexical"), client, settings, name)


def watch_versions(settings: Settings, current: Callable[[], str | None], on_new: Callable[[IndexHandle], None],
                   interval: float, stop=None):
    """Follow the published version from a daemon thread: every ``interval`` seconds read
    ``CURRENT`` (one small file on the storage the replicas share) and, when it names
    another version than ``current()``, open that version and hand it to ``on_new``.
    Versions are complete before they are published, so a reader switches from one whole
    version to the next; an update made by another process (a replica's upload, a ``bot
    index`` job) reaches every replica within ``interval``."""
    import logging
    import threading

    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                version = current_version(settings.index_dir)
                if version is not None and version.name != current():
                    handle = open_index(settings)
                    if handle is not None and handle.version.name != current():
                        on_new(handle)
            except Exception:  # a version removed under us, a server restarting: try again later
                logging.getLogger("bot").exception("following the index failed")

    thread = threading.Thread(target=loop, name="index-follower", daemon=True)
    thread.start()
    return stop


def ensure_index(settings: Settings, progress=None, out=sys.stderr) -> IndexHandle:
    """Open the index, building it first when it is missing (chat/ask do this)."""
    handle = open_index(settings)
    if handle is None:
        print("Chưa có chỉ mục — đang lập chỉ mục lần đầu…", file=out)
        bar = None
        if progress is None:
            bar = ProgressBar(out)
            progress = bar
        summary = build_index(settings, progress=progress)
        if bar is not None:
            bar.close()
        for line in summary.lines():
            print(line, file=out)
        handle = open_index(settings)
        assert handle is not None
    return handle


class ProgressBar:
    """A terminal progress callback: one tqdm bar per stage, with rate and time left."""

    def __init__(self, out=sys.stderr, disable: bool = False):
        self.out, self.disable, self.bar, self.stage = out, disable, None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            unit = "câu/đoạn" if stage == EMBEDDING else "đoạn"
            self.bar = tqdm(total=total, unit=unit, desc=stage, file=self.out, disable=self.disable, smoothing=0.1)
            self.stage = stage
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
