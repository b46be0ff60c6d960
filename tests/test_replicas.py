"""Several app processes over one index: a Chroma server shared by replicas, and the
local store; an update published by a separate indexing job reaches every replica."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.answer import Assistant
from bot.index import current_version, open_index, watch_versions

from .conftest import DOCUMENTS, MODEL_CACHE, ROOT, free_port, make_settings, wait_until_up

NOTE = ("# Hướng dẫn của Hợp tác xã Sao Mai\n\n1. Quy mô\n\n- Hợp tác xã Sao Mai có 37 thành viên chính thức, "
        "chuyên trồng thanh long ruột đỏ ở xã Phước Lộc.\n")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real ``chroma run`` (the command chromadb ships) on a free loopback port."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    log = (path / "server.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path / "data"),
                             "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/api/v2/heartbeat", proc, path / "server.log", 60)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _index_job(settings) -> str:
    """`python -m bot index` as a separate process (the deployment's indexing job)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BOT_MODEL_CACHE": str(MODEL_CACHE), "BOT_CHROMA_URL": settings.chroma_url}
    done = subprocess.run([sys.executable, "-m", "bot", "index", "--quiet", "--documents", str(settings.documents_dir),
                           "--index", str(settings.index_dir)], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Replica:
    """What a server process holds: one assistant, swapped when a new version appears."""

    def __init__(self, settings, embeddings):
        self.settings = settings
        self.assistant = Assistant(settings, open_index(settings), embeddings)
        self.stop = watch_versions(settings, lambda: self.assistant.handle.version.name, self.publish, interval=0.2)

    def publish(self, handle) -> None:
        self.assistant = Assistant(self.settings, handle, self.assistant.embeddings)

    def sources(self, question: str) -> set[str]:
        return {c.source for c in self.assistant.ask(question).citations}


@pytest.mark.parametrize("mode", ["server", "local"])
def test_an_index_job_reaches_every_replica(tmp_path, chroma_server, embeddings, mode):
    docs = tmp_path / "documents"
    docs.mkdir()
    shutil.copy(DOCUMENTS / "quang-nam_cong-van-2651-ubnd-ktn_2020.txt", docs)
    settings = make_settings(tmp_path / "index", docs, chroma_url=chroma_server if mode == "server" else "")
    assert "Tài liệu: 1" in _index_job(settings)
    first = current_version(settings.index_dir)
    manifest = json.loads((first / "manifest.json").read_text())
    if mode == "server":  # vectors on the server, one collection per version; nothing local
        assert not (first / "chroma").exists() and manifest["collection"] == f"kttt-{first.name}"
    else:
        assert (first / "chroma").is_dir() and manifest["collection"] == "kttt"
    assert open_index(settings).collection().count() == manifest["chunks"] > 0

    replicas = [Replica(settings, embeddings) for _ in range(2)]
    try:
        question, old_source = "Sở Tài chính bố trí kinh phí hỗ trợ hợp tác xã thế nào?", "quang-nam_cong-van-2651-ubnd-ktn_2020.txt"
        for replica in replicas:
            assert old_source in replica.sources(question)

        (docs / "htx-sao-mai.md").write_text(NOTE, encoding="utf-8")
        assert "Tài liệu: 2 (không đổi: 1)" in _index_job(settings)
        second = current_version(settings.index_dir)
        assert second != first
        deadline = time.time() + 20
        while any(r.assistant.handle.version != second for r in replicas) and time.time() < deadline:
            time.sleep(0.1)
        for replica in replicas:
            assert replica.assistant.handle.version == second  # no restart
            assert replica.sources("Hợp tác xã Sao Mai có bao nhiêu thành viên chính thức?") == {"htx-sao-mai.md"}
            assert old_source in replica.sources(question)
    finally:
        for replica in replicas:
            replica.stop.set()

    # the version before stays readable for a replica that has not switched yet; older ones go
    assert sorted(p.name for p in settings.index_dir.glob("v-*")) == sorted([first.name, second.name])
    if mode == "server":
        client = open_index(settings).client
        ours = sorted(c.name for c in client.list_collections() if c.name.startswith("kttt-v-") and
                      c.name[5:] in (first.name, second.name))
        assert ours == sorted([f"kttt-{first.name}", f"kttt-{second.name}"])
        assert client.get_collection(f"kttt-{first.name}").count() == manifest["chunks"]
