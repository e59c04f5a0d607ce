# The two commands of the README: `make demo` and `make test`.
# Both start from a fresh Debian/Ubuntu machine with Python >= 3.11.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/.build/collections
LINK := $(COLLECTIONS)/ansible_collections/rackops/baremetal
# Ironic's venv for tests lives outside the checkout: the `ironic` service
# account must be able to read it wherever the checkout is.
export RACKOPS_TEST_VENV ?= /var/tmp/rackops-test/ironic-venv
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(BIN):$(PATH)

.PHONY: demo test deps unit sanity lint integration molecule changelog ee clean

deps: $(VENV)/.installed $(LINK)

$(VENV)/.installed: requirements.txt test-requirements.txt bindep.txt scripts/host-deps.sh
	scripts/host-deps.sh
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r test-requirements.txt
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn $(CURDIR) $(LINK)

demo: deps
	ansible-playbook playbooks/demo.yml

# molecule's scenario (the ironic role: converge, idempotence, verify, destroy) is test_engine's, on the same
# machine: `make molecule` runs it for role work, `make test` does not run it twice.
test: unit sanity lint integration changelog
	@echo "make test: all passed"

unit: deps
	cd $(LINK) && pytest -q tests/unit

sanity: deps
	scripts/ansible-test-offline.sh sanity --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') --color no

# (ansible-test's shellcheck sees *.sh files only: the others are found by their #! line; templates are Jinja)
lint: deps
	ansible-lint --offline --profile production
	shellcheck $$(grep -lrE --exclude='*.j2' '^#!(/usr/bin/env |/bin/)(ba)?sh' roles scripts .ci)

# --durations: where the suite's time goes is printed with every run (the budget is CI's time limit)
integration: deps
	cd $(LINK) && pytest -q -p no:cacheprovider --durations=40 tests/integration

molecule: deps
	cd roles/ironic && molecule test --all

changelog: deps
	antsibull-changelog lint

# The AWX execution environment's build context (execution-environment.yml): the collection's package, then
# ansible-builder's context in .build/ee/context; building the image itself needs a container registry.
ee: deps
	rm -rf .build/ee && mkdir -p .build/ee
	ansible-galaxy collection build --output-path .build/ee .
	mv .build/ee/rackops-baremetal-*.tar.gz .build/ee/rackops-baremetal.tar.gz
	ansible-builder create -f execution-environment.yml -c .build/ee/context

clean:
	rm -rf .build tests/output
