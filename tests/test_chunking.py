"""Chunking the real corpus along its own structure; text verbatim, sentences whole."""

from __future__ import annotations

import re

import pytest

from bot.chunking import SEPARATOR, chunk_document
from bot.documents import load_document, load_documents
from bot.vietnamese import nfc

from .conftest import DOCUMENTS, FIXTURES

LAW = "luat-hop-tac-xa-2023_17-2023-qh15.txt"  # the Law as a standalone file (Chương › Điều)

MAX = 1400


@pytest.fixture(scope="module")
def corpus():
    docs, skipped = load_documents(DOCUMENTS)
    assert not skipped
    docs.append(load_document(FIXTURES / LAW, LAW))
    return {d.source: (d, chunk_document(d, MAX)) for d in docs}


def _find(corpus, source, needle):
    return [c for c in corpus[source][1] if needle in c.text]


def test_agency_bullets_stay_with_their_heading(corpus):
    [chunk] = _find(corpus, "cam-ranh_ke-hoach-thuc-hien-ctr-46.md", "Giải quyết thủ tục hành chính thuộc lĩnh vực thành lập")
    assert chunk.section == "III. TỔ CHỨC THỰC HIỆN › 2. Phòng Tài chính – Kế hoạch"
    assert chunk.text.startswith("2. Phòng Tài chính – Kế hoạch\n- Chủ trì")
    assert chunk.text.count("\n- ") == 3  # all three duties of the office, in one chunk


def test_numbered_subsection_path(corpus):
    [chunk] = _find(corpus, "kon-tum_chuong-trinh-41-ctr-tu_2022.txt", "khoảng 300 tổ hợp tác, 150 hợp tác xã")
    assert chunk.section == "II. MỤC TIÊU › 2. Mục tiêu cụ thể › 2.1. Đến năm 2030"


def test_law_article_path_and_split_by_clause(corpus):
    law = LAW
    article = [c for c in corpus[law][1] if "Điều 42. Đăng ký thành lập hợp tác xã" in c.section]
    assert article, "Điều 42 must appear in heading paths"
    assert all(c.section.startswith("Chương IV") for c in article)
    assert any("a) Giấy đề nghị đăng ký thành lập;" in c.text for c in article)
    # a long article is split along its clauses, each part keeping the article in its path
    definitions = [c for c in corpus[law][1] if c.section.endswith("Điều 4. Giải thích từ ngữ")]
    assert len(definitions) >= 3
    assert any(c.text.startswith("7.Hợp tác xã là tổ chức") for c in definitions) or any(
        "\n7.Hợp tác xã là tổ chức" in c.text for c in definitions)


def test_distribution_list_is_its_own_section(corpus):
    for source, (_, chunks) in corpus.items():
        for c in chunks:
            if "Nơi nhận" in c.text:
                assert c.section.startswith("Nơi nhận"), (source, c.section)


def test_chunk_text_is_verbatim_slice_and_covers_the_document(corpus):
    for source, (doc, chunks) in corpus.items():
        covered = [False] * len(doc.text)
        for c in chunks:
            assert c.text == doc.text[c.start:c.end]
            assert c.text == c.text.strip() and c.text
            for i in range(c.start, c.end):
                covered[i] = True
        missing = "".join(ch for ch, cov in zip(doc.text, covered) if not cov)
        assert missing.strip() == "", (source, missing[:200])
        ordered = [c.start for c in chunks]
        assert ordered == sorted(ordered) and all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))


def _squash(text: str) -> str:
    text = re.sub(r"\[([^\]\n]+)\]\([^)\s]*\)", r"\1", nfc(text))  # a Markdown link reads as its text
    return re.sub(r"[\s*#]+", " ", text).strip()


def test_chunk_text_is_unaltered_versus_the_raw_file(corpus):
    for source, (_, chunks) in corpus.items():
        file = source.split("#", 1)[0]  # a Pháp điển instrument comes from its topic file
        raw = _squash(((DOCUMENTS / file) if (DOCUMENTS / file).exists() else (FIXTURES / file)).read_text(encoding="utf-8"))
        for c in chunks:
            # paragraph by paragraph: decorative lines ("-----") and a stray path line
            # between two paragraphs are dropped by design
            for paragraph in c.text.split("\n"):
                assert _squash(paragraph) in raw, (source, c.section, paragraph[:120])


def test_no_chunk_cuts_a_sentence(corpus):
    for source, (doc, chunks) in corpus.items():
        for c in chunks:
            ends_paragraph = c.end == len(doc.text) or doc.text[c.end] == "\n"
            starts_paragraph = c.start == 0 or doc.text[c.start - 1] == "\n"
            if not ends_paragraph:
                assert c.text[-1] in ".!?…", (source, c.text[-80:])
            if not starts_paragraph:
                assert doc.text[c.start - 2] in ".!?…", (source, c.text[:80])


def test_chunk_sizes_respect_the_budget(corpus):
    for source, (doc, chunks) in corpus.items():
        for c in chunks:
            single_sentence = not re.search(r"[.!?…]\s", c.text[:-1])
            assert len(c.text) <= MAX + 200 or single_sentence, (source, c.section, len(c.text))


def test_context_text_prefixes_title_and_path(corpus):
    doc, chunks = corpus["cam-ranh_ke-hoach-thuc-hien-ctr-46.md"]
    c = chunks[5]
    assert c.context_text == f"{doc.title} | {c.section} | {c.text}"
    assert SEPARATOR in chunks[-3].section


def test_pieces_are_verbatim_sentences_and_items_without_the_heading(corpus):
    """What the reranker scores and the answer quotes: each piece is a slice of its chunk,
    the chunk's own heading is not one, and a short item keeps its bullets with it."""
    from dataclasses import asdict

    from bot.chunking import pieces

    total = 0
    for _, chunks in corpus.values():
        for chunk in chunks:
            as_dict = {**asdict(chunk), **chunk.extra}
            heading = chunk.section.split(SEPARATOR)[-1] if chunk.section else None
            for p in pieces(as_dict):
                total += 1
                assert chunk.text[p.offset:p.offset + len(p.text)] == p.text
                assert p.text.strip() and p.text.rstrip(":") != heading
    assert total > sum(len(chunks) for _, chunks in corpus.values())  # finer than chunks
    grouped = [p for _, chunks in corpus.values() for chunk in chunks
               for p in pieces({**asdict(chunk), **chunk.extra}) if "\n- " in p.text]
    assert grouped and all(p.item for p in grouped)  # "a) Đến năm 2030" with its "- …" targets
