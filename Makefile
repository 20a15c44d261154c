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

.PHONY: all setup browser test quality sanity units lint changelog-lint pytest unit sandbox-test \
        integration demo ee bench clean

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

setup: $(STAMP) $(COLLECTION_LINK)

# pytest exits 5 when it collected nothing: that is a failure here, not a green run.
define run_pytest
	@$(BIN)/python -m pytest $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1): failing" >&2; exit 1; fi; exit $$rc
endef

# Everything: Ansible's own quality gates, the unit tests through ansible-test, then the sandbox's
# tests and the integration tests (real ansible-playbook against the sandbox over HTTPS).
test: setup browser quality
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

clean:
	rm -rf .build tests/output demo-output dist
