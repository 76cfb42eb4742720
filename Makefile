# hamgeo: the two commands a newcomer types are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIPQ   := $(PIP) install --quiet --disable-pip-version-check

# The tests of the kernels with a native CPU path (hamming, codes, dispatch, blocks): `make
# test` runs them a second time on the pure-XLA paths. The consumers (transport, mmd,
# encoding, regions) call these kernels through the same public functions and are not rerun.
XLA_PATH_TESTS := tests/test_hamming.py tests/test_codes.py tests/test_dispatch.py \
	tests/test_blocks.py

.PHONY: demo test lint typecheck format docs docs-check bench bench-quick install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIPQ) --upgrade pip "setuptools>=70" wheel

# pip builds hamgeo in an isolated environment holding the jaxlib FFI headers (the
# [build-system] of pyproject.toml), native CPU kernels included: the same build as
# `pip install .` anywhere. The test install is one build with the extras, not a second.
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py $(wildcard hamgeo/csrc/*)
	$(PIPQ) -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml setup.py $(wildcard hamgeo/csrc/*)
	$(PIPQ) -e ".[test,docs]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hamgeo reproduce all --quick --out results --force
	@echo "Figures and results.json are under $(CURDIR)/results/"

test: $(VENV)/.installed-test
	$(BIN)/ruff format --check hamgeo tests benchmarks examples dev audit
	$(BIN)/ruff check hamgeo tests benchmarks examples dev audit
	$(BIN)/python -m mypy hamgeo
	@# no --quiet: it hides the warnings --strict counts (a broken cross-reference would pass)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site
	$(BIN)/python -m pytest -n auto -q
	@echo "Again with the native kernels disabled (the pure-XLA paths) for what reaches them:"
	HAMGEO_DISABLE_NATIVE=1 $(BIN)/python -m pytest -n auto -q -p no:cacheprovider $(XLA_PATH_TESTS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check hamgeo tests benchmarks examples dev audit
	$(BIN)/ruff check hamgeo tests benchmarks examples dev audit

typecheck: $(VENV)/.installed-test
	$(BIN)/python -m mypy hamgeo

format: $(VENV)/.installed-test
	$(BIN)/ruff format hamgeo tests benchmarks examples dev audit
	$(BIN)/ruff check --fix hamgeo tests benchmarks examples dev audit

docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# Screenshots of key pages in headless Chromium (Debian: apt-get install chromium); fails on
# a console error or a request that leaves the site.
docs-check: docs
	$(BIN)/python tests/test_docs.py build/site build/screenshots

bench: $(VENV)/.installed-test
	$(BIN)/hamgeo bench

bench-quick: $(VENV)/.installed-test
	$(BIN)/hamgeo bench --quick

clean:
	rm -rf $(VENV) build site *.egg-info hamgeo/*.so
