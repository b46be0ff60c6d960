"""Scale benchmark: the shipped corpus (1x) and 10x / 100x of it, in one run.

    python benchmarks/bench_scale.py [--scales 1,10,100] [--questions 40] [--sample 1500]

Each scale is ``documents/`` plus the first Pháp điển topics of ``../shared/phapdien/topics/``
(sorted by name) until the chunks reach ``scale`` times those of ``documents/`` alone, or
all 46 topics when they do not reach it (the row says the multiple reached). Per scale it
prints:

* chunks, and texts embedded (chunks + their sentences/items, distinct);
* index seconds: ``python -m bot index`` from nothing, in a fresh process (model load included);
* throughput ratio: texts/s of that build ÷ texts/s of the bare model on a random sample
  of the same texts (``--sample``; same batching), i.e. how close indexing runs to the model;
* peak RSS of the indexing process;
* start-up: a fresh process from launch to an ``Assistant`` ready to answer, median of 3;
* warm answer p50/p95 over ``--questions`` questions of the validation set, after a warm-up;
* re-index with nothing changed, in-process, median of 3.

With ``--keep DIR`` the corpora and indexes are kept in DIR; ``--reuse DIR`` then measures
start-up and answers again on them without rebuilding (after a change to the answer path).
Everything runs on this machine's CPU; the README quotes the output.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.chunking import chunk_document, piece_context, pieces  # noqa: E402
from bot.config import get_settings  # noqa: E402
from bot.documents import load_documents  # noqa: E402
from bot.evaluation import load_set  # noqa: E402
from bot.index import build_index, open_index  # noqa: E402
from bot.answer import Assistant  # noqa: E402

TOPICS = ROOT.parent / "shared" / "phapdien" / "topics"
STARTUP = ("import time, sys; t = time.perf_counter(); from bot.answer import Assistant; from bot.config import get_settings; "
           "a = Assistant(get_settings()); print(time.perf_counter() - t)")


def chunk_count(path: Path, settings) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-one-"))
    shutil.copy(path, folder / path.name)
    docs, _ = load_documents(folder, settings.max_file_mb, settings.max_unzipped_mb)
    shutil.rmtree(folder)
    return sum(len(chunk_document(d, settings.chunk_max_chars)) for d in docs)


def corpus_for(scale: int, base: int, counts: dict[Path, int], settings, work: Path) -> Path:
    """documents/ plus topics in name order until the chunks reach scale × base."""
    folder = work / f"documents-{scale}x"
    shutil.copytree(settings.documents_dir, folder, ignore=shutil.ignore_patterns(".*"))
    total = base
    for topic in sorted(TOPICS.glob("*.md")):
        if total >= scale * base:
            break
        if topic not in counts:
            counts[topic] = chunk_count(topic, settings)
        shutil.copy(topic, folder / topic.name)
        total += counts[topic]
    return folder


def run_child(args: list[str], env: dict) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, stdout) of a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{args} failed")
    return time.perf_counter() - start, usage.ru_maxrss // 1024, out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--keep", help="keep corpora and indexes in this folder")
    parser.add_argument("--reuse", help="measure start-up and answers on the indexes kept in this folder")
    args = parser.parse_args()
    settings = get_settings()
    if args.reuse:
        return measure_again(Path(args.reuse), args.scales, args.questions, settings)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    base_docs, _ = load_documents(settings.documents_dir, settings.max_file_mb, settings.max_unzipped_mb)
    base = sum(len(chunk_document(d, settings.chunk_max_chars)) for d in base_docs)
    questions = [q["question"] for q in load_set("validation (independent)")
                 if not q.get("history")][:args.questions]
    from bot.embeddings import load_embeddings

    embeddings = load_embeddings(settings)
    counts: dict[Path, int] = {}
    print(f"model: {embeddings.name}; CPU threads: {os.cpu_count()}; 1x = {base} chunks (documents/)", flush=True)
    header = ("scale", "reached", "chunks", "texts", "index s", "ratio", "peak MB", "start s", "p50 ms", "p95 ms", "re-index s")
    print(" | ".join(header), flush=True)
    for scale in (int(s) for s in args.scales.split(",")):
        folder = corpus_for(scale, base, counts, settings, work)
        index_dir = work / f"index-{scale}x"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "BOT_DOCUMENTS_DIR": str(folder), "BOT_INDEX_DIR": str(index_dir),
               "BOT_MODEL_CACHE": str(settings.model_cache_dir)}
        index_s, peak_mb, _ = run_child([sys.executable, "-m", "bot", "index", "--quiet"], env)
        local = settings.with_(documents_dir=folder, index_dir=index_dir)
        handle = open_index(local)
        texts = sorted({f"{c['title']} | {c['section']} | {c['text']}" for c in handle.chunks}
                       | {piece_context(c, p) for c in handle.chunks for p in pieces(c)})
        sample = random.Random(0).sample(texts, min(args.sample, len(texts)))
        t = time.perf_counter()
        embeddings.embed_documents(sample)
        model_rate = len(sample) / (time.perf_counter() - t)
        ratio = (len(texts) / index_s) / model_rate

        starts, times = startup_and_answers(local, env, handle, embeddings, questions)
        reindex = []
        for _ in range(3):
            t = time.perf_counter()
            build_index(local, embeddings=embeddings)
            reindex.append(time.perf_counter() - t)
        row = (f"{scale}x", f"{len(handle.chunks) / base:.1f}x", len(handle.chunks), len(texts), f"{index_s:.0f}", f"{ratio:.2f}", peak_mb,
               f"{statistics.median(starts):.1f}", f"{statistics.median(times):.0f}", f"{pct(times, 0.95):.0f}",
               f"{statistics.median(reindex):.1f}")
        print(" | ".join(str(x) for x in row), flush=True)
        print(json.dumps({"scale": scale, "model_texts_per_s": round(model_rate, 1), "index_texts_per_s": round(len(texts) / index_s, 1),
                          "topics": sorted(p.name for p in folder.glob("*.md") if p.name in {t.name for t in TOPICS.glob('*.md')})},
                         ensure_ascii=False), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def startup_and_answers(local, env: dict, handle, embeddings, questions: list[str]) -> tuple[list[float], list[float]]:
    """Start-up of a fresh process (3 times), then warm answer times in milliseconds."""
    starts = [float(run_child([sys.executable, "-c", STARTUP], env)[2].strip()) for _ in range(3)]
    assistant = Assistant(local, handle, embeddings)
    for q in questions:  # warm-up: what a running server has read by then
        assistant.ask(q)
    times = []
    for q in questions:
        assistant._vectors.clear()  # the question is embedded, as a new one would be
        t = time.perf_counter()
        assistant.ask(q)
        times.append((time.perf_counter() - t) * 1000)
    return starts, times


def measure_again(work: Path, scales: str, n: int, settings) -> None:
    from bot.embeddings import load_embeddings

    embeddings = load_embeddings(settings)
    questions = [q["question"] for q in load_set("validation (independent)") if not q.get("history")][:n]
    print("scale | chunks | start s | p50 ms | p95 ms", flush=True)
    for scale in (int(s) for s in scales.split(",")):
        folder, index_dir = work / f"documents-{scale}x", work / f"index-{scale}x"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "BOT_DOCUMENTS_DIR": str(folder), "BOT_INDEX_DIR": str(index_dir),
               "BOT_MODEL_CACHE": str(settings.model_cache_dir)}
        local = settings.with_(documents_dir=folder, index_dir=index_dir)
        handle = open_index(local)
        starts, times = startup_and_answers(local, env, handle, embeddings, questions)
        print(f"{scale}x | {len(handle.chunks)} | {statistics.median(starts):.1f} | {statistics.median(times):.0f} | "
              f"{pct(times, 0.95):.0f}", flush=True)


if __name__ == "__main__":
    main()
