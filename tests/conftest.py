"""Shared fixtures: real documents, the real embedding model, real Chroma in temp folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.config import ROOT, Settings, get_settings

DOCUMENTS = ROOT / "documents"
FIXTURES = Path(__file__).parent / "fixtures"
# The converted model is cached beside the real index so repeated runs reuse it.
MODEL_CACHE = Path(os.environ.get("BOT_MODEL_CACHE", ROOT / "index" / "models"))


def make_settings(index_dir: Path, documents_dir: Path = DOCUMENTS, **changes) -> Settings:
    return get_settings().with_(index_dir=index_dir, documents_dir=documents_dir,
                                model_cache_dir=MODEL_CACHE, **changes)


@pytest.fixture(scope="session")
def embeddings():
    from bot.embeddings import load_embeddings

    return load_embeddings(make_settings(Path("/nonexistent")))


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embeddings):
    """The shipped corpus indexed once per test session (real model, real Chroma)."""
    from bot.index import build_index, open_index

    settings = make_settings(tmp_path_factory.mktemp("corpus-index"))
    summary = build_index(settings, embeddings=embeddings)
    handle = open_index(settings)
    return settings, summary, handle


@pytest.fixture
def small_corpus(tmp_path):
    """A writable copy of two short real documents."""
    folder = tmp_path / "documents"
    folder.mkdir()
    for name in ("quang-nam_cong-van-2651-ubnd-ktn_2020.txt", "cam-ranh_ke-hoach-thuc-hien-ctr-46.md"):
        shutil.copy(DOCUMENTS / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def assistant(corpus_index, embeddings):
    """The default (extractive, offline) assistant over the corpus index."""
    from bot.answer import Assistant

    settings, _, handle = corpus_index
    return Assistant(settings, handle, embeddings)
