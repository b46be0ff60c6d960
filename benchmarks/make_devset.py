"""Generate a large development set from the documents' own structure (issue #10).

Answerable questions come from the articles of the shipped Pháp điển topic (article
titles and the terms defined in "Giải thích từ ngữ" articles), each with its gold article;
off-topic questions come from the article titles of the 46 other Pháp điển topics, which
the cooperative corpus cannot answer. Each question also appears without diacritics. Half of the other topics are not asked
about: their article titles become bot/background.txt, the gate's sample of "law in
general" (see bot/gate.py).
Templates are few and plain on purpose: the set measures the gate and the ranking at
scale; the hand-written sets measure wording.

    python benchmarks/make_devset.py [--phapdien ../shared/phapdien] [-n 300]

writes tests/eval/generated.jsonl (fixed seed: the same file every time).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.corpus import syllable_counts  # noqa: E402
from bot.documents import load_documents, load_file  # noqa: E402
from bot.vietnamese import fold  # noqa: E402

ANSWERABLE = ["{t} được quy định như thế nào?", "Quy định về {l}?", "Cho tôi biết về {l}.", "{t} gồm những nội dung gì?"]
OFF_TOPIC = ["{t} được quy định như thế nào?", "Quy định về {l}?", "Cho tôi biết về {l}."]
DEFINITION = ["{x} là gì?", "Thế nào là {x}?", "Khái niệm {x} được hiểu ra sao?"]
# Titles every instrument has: no question can be about "the" one of them.
GENERIC = re.compile(r"^(phạm vi điều chỉnh|đối tượng áp dụng|giải thích từ ngữ|hiệu lực|tổ chức thực hiện|trách nhiệm thi hành"
                     r"|điều khoản thi hành|quy định chuyển tiếp|trách nhiệm thực hiện|hiệu lực thi hành|áp dụng)", re.IGNORECASE)


def _lower_first(title: str) -> str:
    return title[:1].lower() + title[1:]


def _titles(documents) -> list[tuple[str, str, str]]:
    """(source, section "Điều N.", title) for every article with a specific title."""
    out = []
    for d in documents:
        for u in d.units:
            title = re.sub(r"^Điều\s+\S+?\.\s*", "", u.label).strip().rstrip(".:")
            if len(title.split()) >= 3 and not GENERIC.match(title) and not title.endswith("…") and title[:1].isalpha():
                out.append((d.source, f"Điều {u.number}.", title))
    return out


def _definitions(documents) -> list[tuple[str, str, str]]:
    out = []
    for d in documents:
        for u in d.units:
            if "giải thích từ ngữ" not in u.label.lower():
                continue
            for line in d.text[u.start:u.end].split("\n"):
                m = re.match(r"^\d+\.\s*(.{3,60}?)\s+là\s", line)
                if m and "," not in m.group(1):
                    out.append((d.source, f"Điều {u.number}.", m.group(1)))
    return out


def background_topics(phapdien: Path) -> list[Path]:
    """Half the other topics (every second file): the gate's picture of "law in general"."""
    return [p for n, p in enumerate(sorted((phapdien / "topics").glob("*.md"))) if n % 2 == 0]


def write_background_words(paths: list[Path], least: int = 3) -> None:
    """Syllable and syllable-pair counts of the background topics' full text (pairs seen
    fewer than ``least`` times and single syllables seen once are left out) →
    bot/background_words.tsv.gz, the background side of the gate's word evidence."""
    counts: Counter = Counter()
    for path in paths:
        for d in load_file(path, path.name):
            counts.update(syllable_counts(d.text))
    kept = sorted((w, n) for w, n in counts.items() if n >= (least if " " in w else 2))
    target = ROOT / "bot" / "background_words.tsv.gz"
    text = "".join(f"{w}\t{n}\n" for w, n in kept).encode("utf-8")
    target.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))  # the same bytes every run
    print(f"{len(kept)} background words → {target.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phapdien", default=str(ROOT.parent / "shared" / "phapdien"))
    parser.add_argument("-n", type=int, default=300, help="questions of each kind (before unaccented copies)")
    parser.add_argument("-o", default=str(ROOT / "tests" / "eval" / "generated.jsonl"))
    parser.add_argument("--background", type=int, default=2000, help="titles kept as the gate's background")
    parser.add_argument("--words-only", action="store_true", help="only write bot/background_words.tsv.gz")
    args = parser.parse_args()
    rng = random.Random(20261128)
    if args.words_only:
        write_background_words(background_topics(Path(args.phapdien)))
        return

    documents, _ = load_documents(ROOT / "documents")
    legal = [d for d in documents if d.units]
    rows = []
    answerable = [(s, sec, t, "title") for s, sec, t in _titles(legal)] + [(s, sec, x, "definition") for s, sec, x in _definitions(legal)]
    rng.shuffle(answerable)
    own_titles = {fold(t).lower() for _, _, t, _ in answerable}
    own_words = [set(t.split()) for t in own_titles]
    for source, section, text, kind in answerable[:args.n]:
        template = rng.choice(DEFINITION if kind == "definition" else ANSWERABLE)
        question = template.format(t=text, l=_lower_first(text), x=_lower_first(text))
        rows.append({"group": "generated", "question": question, "answerable": True,
                     "expected": {"source": source, "section": section}, "tags": ["generated", kind]})

    write_background_words(background_topics(Path(args.phapdien)))
    off, background = [], []
    for n, path in enumerate(sorted((Path(args.phapdien) / "topics").glob("*.md"))):
        # half the topics are the gate's picture of "law in general" (bot/background.txt),
        # the other half give the off-topic questions: no question is tested against its own topic
        if n % 2 == 0:
            for d in load_file(path, path.name):
                background += [t for _, _, t in _titles([d])]
            continue
        for d in load_file(path, path.name):
            for _, _, title in _titles([d]):
                folded = fold(title).lower()
                words = set(folded.split())
                if folded in own_titles or "hop tac" in folded or "kinh te tap the" in folded or any(
                        len(words & w) / len(words | w) >= 0.5 for w in own_words):
                    continue  # could be answered by the cooperative corpus ("chế độ báo cáo")
                off.append((path.stem, title))
    rng.shuffle(off)
    for topic, title in off[:args.n]:
        question = rng.choice(OFF_TOPIC).format(t=title, l=_lower_first(title))
        rows.append({"group": "off_topic", "question": question, "answerable": False, "topic": topic,
                     "tags": ["generated", "off_topic"]})

    rng.shuffle(background)
    background = sorted(dict.fromkeys(background[:args.background]))
    (ROOT / "bot" / "background.txt").write_text("\n".join(background) + "\n", encoding="utf-8")
    print(f"{len(background)} background titles → bot/background.txt")
    out = []
    for row in rows:
        out.append(row)
        out.append({**row, "question": fold(row["question"]), "tags": row["tags"] + ["no_diacritics"]})
    for i, row in enumerate(out):
        row["split"] = "tune" if (i // 2) % 2 == 0 else "validation"  # a question and its unaccented copy stay together
    Path(args.o).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    print(f"{len(out)} questions → {args.o} ({sum(r['answerable'] for r in out)} answerable)")


if __name__ == "__main__":
    main()
