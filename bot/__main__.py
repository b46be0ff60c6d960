"""``python -m bot …`` — see :mod:`bot.cli`."""

from .cli import main

raise SystemExit(main())
