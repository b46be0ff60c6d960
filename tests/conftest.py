"""Shared fixtures: real documents, the real embedding model, real Chroma in temp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
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


HOSTILE = FIXTURES / "van-ban-doc-hai.md"


@pytest.fixture(scope="session")
def hostile_index(tmp_path_factory, embeddings):
    """A real letter beside a hostile document (instructions to the model, forged
    citation markers, HTML/JS, a fake article claiming the Law's authority, a
    zero-width-character flood, a spreadsheet formula as its first line)."""
    from bot.answer import Assistant
    from bot.index import build_index, open_index

    folder = tmp_path_factory.mktemp("hostile-docs")
    shutil.copy(DOCUMENTS / "quang-nam_cong-van-2651-ubnd-ktn_2020.txt", folder)
    shutil.copy(HOSTILE, folder)
    settings = make_settings(tmp_path_factory.mktemp("hostile-index"), folder)
    build_index(settings, embeddings=embeddings)
    return settings, Assistant(settings, open_index(settings), embeddings)


def own_links_only(shown: str) -> list[str]:
    """The links in a rendered answer that are not the page's own (a citation to its source
    under the answer, a source to the document view): none may come from a document."""
    import re

    links = re.findall(r"<a [^>]*>", shown)
    own = r'<a class="tl-(?:ref|open)" href="(?:#nguon-\d+-\d+|van-ban\?nguon=[^"<>]*)"'
    return [a for a in links if not re.match(own, a)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_corpus(corpus_index, work: Path) -> Path:
    """A writable copy of the session's index and documents (uploads change them)."""
    settings, _, _ = corpus_index
    shutil.copytree(settings.index_dir, work / "index", ignore=shutil.ignore_patterns(".lock"))
    shutil.copytree(DOCUMENTS, work / "documents")
    return work


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, seconds: float) -> None:
    """Return once ``url`` answers; fail with the end of ``log`` if ``proc`` dies or time runs out."""
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{proc.args[0]} did not start: " + log.read_text()[-3000:])
            time.sleep(0.3)


@contextmanager
def running_app(work: Path, **env_overrides: str):
    """``python app.py`` in a subprocess on a free loopback port over ``work``'s index and
    documents; yields its URL once the page answers. The log is ``work/app.log``."""
    port = free_port()
    env = {**os.environ, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1", "BOT_INDEX_DIR": str(work / "index"),
           "BOT_DOCUMENTS_DIR": str(work / "documents"), "BOT_MODEL_CACHE": str(MODEL_CACHE),
           "BOT_FEEDBACK_LOG": str(work / "feedback.jsonl"), "HF_HUB_OFFLINE": "1", **env_overrides}
    log = (work / "app.log").open("a")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, proc, work / "app.log", 240)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (Playwright cannot download its own here)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install chromium (make test does it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()
