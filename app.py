"""Entry point: ``python app.py`` — the assistant's chat page.

Builds the index on first run (offline, embedded model, progress in the terminal), then
serves the Gradio chat on BOT_HOST:BOT_PORT (default 127.0.0.1:7860) and document
management at /quan-tri (see bot/server.py for who may use it).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.config import get_settings  # noqa: E402
from bot.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(get_settings()))
