"""Entry point: ``python app.py``.

Builds the index on first run (offline, embedded model), then starts the assistant.
The Gradio chat is tracked in its own issue; until it lands this entry point prepares
the index and says how to use it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.config import get_settings  # noqa: E402
from bot.index import ensure_index  # noqa: E402


def main() -> int:
    settings = get_settings()
    handle = ensure_index(settings)
    manifest = handle.manifest
    print(f"Chỉ mục sẵn sàng: {len(manifest['documents'])} tài liệu, {manifest['chunks']} đoạn "
          f"({handle.version}).")
    for name, entry in manifest["documents"].items():
        print(f"  - {entry['title']} [{name}] — {entry['chunks']} đoạn")
    for skipped in manifest.get("skipped", []):
        print(f"  ! Bỏ qua {skipped['source']}: {skipped['reason']}")
    print("Giao diện chat chưa có trong phiên bản này; cập nhật chỉ mục bằng: python -m bot index")
    return 0


if __name__ == "__main__":
    sys.exit(main())
