# Everything runs from the project's own virtual environments. The collection is linked into
# .build/collections so FQCNs resolve to this working tree.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SANITY_VENV := .build/venv-sanity
SANITY_STAMP := $(SANITY_VENV)/.installed
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/incomes_register/certificates
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all setup browser ssh-host test quality sanity units lint changelog-lint pytest unit sandbox-test \
        integration demo ee bench clean matrix matrix-report importer

all: test

$(STAMP): requirements.txt requirements-dev.txt tests/sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e tests/sandbox
	touch $@

# ansible-test's sanity tests run against the requirement pins of the ansible-core in use.
$(SANITY_STAMP): $(STAMP)
	$(PYTHON) -m venv $(SANITY_VENV)
	req=$$($(BIN)/python -c 'import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), "_data", "requirements"))'); \
	$(SANITY_VENV)/bin/python -m pip install --quiet \
	    "ansible-core==$$($(BIN)/python -c 'import ansible.release; print(ansible.release.__version__)')" \
	    -r $$req/sanity.pylint.txt -r $$req/sanity.pep8.txt -r $$req/sanity.yamllint.txt \
	    -r $$req/sanity.validate-modules.txt -r $$req/sanity.ansible-doc.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# The HTML report is checked in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the report rendering test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      chromium fonts-liberation >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the rendering test will be skipped" >&2; fi; }

# The SSH tests (tests/integration/test_ssh_*.py) start Debian's OpenSSH server on 127.0.0.1 and log in as an
# unprivileged user with passwordless sudo; acl lets Ansible hand its temporary files to a non-root become_user,
# python3-venv gives that managed host a virtual environment of the distribution's Python.
SSH_HOST_PACKAGES := openssh-server sudo acl python3-venv
ssh-host:
	@missing=$$(for p in $(SSH_HOST_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing $$missing for the SSH tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "$$missing missing and cannot be installed here: the SSH tests will be skipped" >&2; fi; fi

# galaxy-importer (what Galaxy and Automation Hub run on an upload) in its own environment: it pins its own
# ansible-lint and flake8. tests/integration/test_galaxy_importer.py runs it on the built tarball.
IMPORTER_VENV := .build/venv-importer
IMPORTER_STAMP := $(IMPORTER_VENV)/.installed
$(IMPORTER_STAMP): requirements-importer.txt
	$(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(IMPORTER_VENV)/bin/python -m pip install --quiet -r requirements-importer.txt
	touch $@

importer: $(IMPORTER_STAMP)

setup: $(STAMP) $(COLLECTION_LINK)

# pytest exits 5 when it collected nothing: that is a failure here, not a green run.
define run_pytest
	@$(BIN)/python -m pytest $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1): failing" >&2; exit 1; fi; exit $$rc
endef

# Everything: Ansible's own quality gates, the unit tests through ansible-test, then the sandbox's
# tests and the integration tests (real ansible-playbook against the sandbox over HTTPS).
test: setup browser ssh-host importer quality
	$(call run_pytest,tests/sandbox/tests tests/integration)

quality: sanity units lint changelog-lint

sanity: setup $(SANITY_STAMP)
	PATH=$(CURDIR)/$(SANITY_VENV)/bin:$$PATH tests/ci/ansible-test.sh sanity

units: setup
	tests/ci/ansible-test.sh units

lint: setup
	$(BIN)/ansible-lint --offline playbooks/ roles/ demo/

changelog-lint: setup
	$(BIN)/antsibull-changelog lint

# Quick developer loops with plain pytest.
unit: setup
	$(call run_pytest,tests/unit)

sandbox-test: setup
	$(call run_pytest,tests/sandbox/tests)

integration: setup
	$(call run_pytest,tests/integration)

demo: setup
	bash demo/run-demo.sh

# Build context for an execution environment (AWX / Automation Platform); needs no container engine.
ee: setup
	rm -rf dist .build/ee && mkdir -p dist
	$(BIN)/ansible-galaxy collection build --force --output-path dist .
	mv dist/incomes_register-certificates-*.tar.gz dist/incomes_register-certificates.tar.gz
	$(BIN)/ansible-builder create --file execution-environment.yml --context .build/ee
	@echo "Build it with: podman build -t incomes-register-ee .build/ee"

# Audit and renewal against ansible.builtin.ping and community.crypto; writes docs/benchmarks.md.
# A quick run: make bench BENCH_ARGS="--sizes 50 --renew-sizes 10 --wave 20:10"; only the wave: --only-wave
bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The support matrix (docs/compatibility.md): every supported ansible-core minor version on each Python it
# supports (sanity, units, ansible-lint, the integration core), and the modules on managed-host Pythons
# 3.8-3.13 with the oldest and the newest supported libraries. Needs the Pythons (pyenv's, or python3.X on
# PATH); long (see docs/compatibility.md). Sessions: .venv/bin/nox -l; one of them: make matrix NOX_ARGS="-s ...".
PYENV_BINS := $(shell ls -d $(HOME)/.pyenv/versions/3.*/bin 2>/dev/null | sort -rV | tr '\n' ':')
NOX_ARGS ?=
matrix: setup
	PATH=$(PYENV_BINS)$$PATH $(BIN)/nox --noxfile noxfile.py $(NOX_ARGS); rc=$$?; \
	$(BIN)/python tests/ci/matrix_report.py; exit $$rc

# Rewrites docs/compatibility.md from the recorded results (.build/matrix/results/*.json and docs/compatibility.json).
matrix-report: setup
	$(BIN)/python tests/ci/matrix_report.py

clean:
	rm -rf .build tests/output demo-output dist
