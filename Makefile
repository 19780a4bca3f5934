# The README's commands. Every target installs what it needs itself, so each works on a
# fresh machine: a virtual environment with the pinned stack, Debian's chromium for the
# browser tests. Nothing is downloaded at run time except packages from the registries.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Hides Material's end-of-life banner in every build log.
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup setup-browser setup-llamacpp setup-frameworks build serve test test-swap test-hosts test-frameworks lint format notebooks clean

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

setup: $(STAMP)  ## virtual environment with the pinned stack and ftkit (editable)

setup-browser:  ## Debian's chromium, for the browser tests (never `playwright install`)
	@command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

LLAMACPP := ftkit/llamacpp
$(LLAMACPP)/node_modules/.installed: $(LLAMACPP)/package.json $(LLAMACPP)/package-lock.json
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null || \
	  { echo "setup-llamacpp needs Node.js >= 20 and npm (node-llama-cpp 3.21.1's engines)"; exit 1; }
	cd $(LLAMACPP) && npm ci --omit=optional --no-audit --no-fund
	touch $@

setup-llamacpp: $(LLAMACPP)/node_modules/.installed  ## llama.cpp for the deployment chapter (node-llama-cpp's prebuilt CPU binaries)

# The framework showdown (docs/frameworks/index.md) runs LLaMA-Factory and Axolotl, whose pins
# clash with requirements.txt, each in a virtual environment of its own, from a pinned file of
# every package (python3.11: Axolotl 0.20 and later need 3.12). About 5 and 6 minutes, 2.1 and
# 4.3 GB, on this project's 2-core machines (2026-12-01). GNU time measures the runs.
# torch==2.13.0 installs as the CPU build here only because these machines' pip finds a local
# CPU wheel; elsewhere, install it first from PyTorch's CPU index (see the requirement files).
PY311_CHECK := command -v python3.11 >/dev/null || \
	  { echo "setup-frameworks needs python3.11 (the pinned framework environments are built with it)"; exit 1; }
.venv-llamafactory/.installed: frameworks/llamafactory/requirements.txt frameworks/llamafactory/install.sh
	@$(PY311_CHECK)
	rm -rf .venv-llamafactory
	VENV=.venv-llamafactory bash frameworks/llamafactory/install.sh
	touch $@

.venv-axolotl/.installed: frameworks/axolotl/requirements.txt
	@$(PY311_CHECK)
	rm -rf .venv-axolotl
	python3.11 -m venv .venv-axolotl
	.venv-axolotl/bin/pip install --quiet -r frameworks/axolotl/requirements.txt
	touch $@

setup-frameworks: .venv-llamafactory/.installed .venv-axolotl/.installed  ## LLaMA-Factory's and Axolotl's own environments, and GNU time
	@/usr/bin/time -f %e true >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq time; }

build: setup  ## build the site into site/, failing on any warning
	$(PY) -m mkdocs build --strict

serve: setup  ## build and serve the site on http://127.0.0.1:8000, rebuilding on change
	$(PY) -m mkdocs serve --strict -a 127.0.0.1:8000

notebooks: setup  ## regenerate notebooks/*.ipynb from the chapters (the tests check they match)
	$(PY) -m tools.notebooks

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup setup-browser setup-llamacpp lint  ## all tests: ftkit units, doc tests, guards, site in a browser
	$(PY) -m pytest -n auto --dist loadgroup --no-loadscope-reorder --page-times

test-swap: setup  ## every chapter again, each knob swapped for a stand-in of its Colab model
	$(PY) -m pytest -n auto --dist loadgroup --swap tests/test_swap.py

test-hosts: setup  ## the doc tests and notebooks under stand-ins for other CPUs, each leg must pass
	$(PY) -m tools.hosts test

test-frameworks: setup setup-frameworks  ## the framework showdown's runs: TRL, LLaMA-Factory, Axolotl (about 4 minutes)
	$(PY) -m pytest --frameworks --page-times tests/test_docs.py -k "frameworks/index.md"

clean:
	rm -rf site test-artifacts .pytest_cache .ruff_cache
