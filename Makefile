# Two commands do all set-up on a fresh Debian machine with Python 3.11:
#   make run   — install, build the index if missing, start the assistant
#   make test  — install with test extras, lint (ruff), run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PIP    := $(VENV)/bin/pip
PY     := $(VENV)/bin/python
# The CPU wheel; a bare "torch" requirement would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: run test index install install-test browser clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(PY) app.py

index: $(VENV)/.installed
	$(PY) -m bot index

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.installed-test browser
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) index/v-* index/CURRENT
