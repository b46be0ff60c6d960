"""Entry point: ``python app.py`` — the assistant's chat page.

Builds the index on first run (offline, embedded model, progress in the terminal), then
serves the Gradio chat on BOT_HOST:BOT_PORT (default 127.0.0.1:7860).
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.config import get_settings  # noqa: E402
from bot.ui import main  # noqa: E402

if __name__ == "__main__":
    main(get_settings())
