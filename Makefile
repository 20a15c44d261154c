# Everything runs from the project's own virtual environment (.venv). The collection is
# linked into .build/collections so FQCNs resolve to this working tree.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/incomes_register/certificates
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all setup test unit sandbox-test integration demo clean

all: test

$(STAMP): requirements.txt requirements-dev.txt tests/sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e tests/sandbox
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

setup: $(STAMP) $(COLLECTION_LINK)

# pytest exits 5 when it collected nothing: that is a failure here, not a green run.
define run_pytest
	@$(BIN)/python -m pytest $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in $(1): failing" >&2; exit 1; fi; exit $$rc
endef

test: setup
	$(call run_pytest,tests)

unit: setup
	$(call run_pytest,tests/unit)

sandbox-test: setup
	$(call run_pytest,tests/sandbox/tests)

integration: setup
	$(call run_pytest,tests/integration)

demo: setup
	bash demo/run-demo.sh

clean:
	rm -rf .build tests/output demo-output
