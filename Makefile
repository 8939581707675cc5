# ECS platform on CDK for Terraform. `make synth` and `make test` set up everything they need.
#
#   TF_PROVIDER_MIRROR=/path  install Terraform providers from a local filesystem mirror
#                             (every terraform run of the project then uses it)
#   ENVS=dev                  synthesize only these environments (comma-separated)
#   SERVICES=web              synthesize only these services' stacks, without the platform's
#                             (comma-separated; the other stacks in cdktf.out/ stay as they are)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
BUILD := .build
VENV := .venv
PY := $(VENV)/bin/python
CDKTF := node_modules/.bin/cdktf
HCL_OUT := cdktf.out.hcl
TFRC := $(BUILD)/terraformrc

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_IGNORE_VIRTUALENVS := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1
export CDKTF_DISABLE_PLUGIN_CACHE_ENV := 1
export TF_IN_AUTOMATION := 1

TF_PROVIDER_MIRROR ?=
ifneq ($(strip $(TF_PROVIDER_MIRROR)),)
export TF_PROVIDER_MIRROR
export TF_CLI_CONFIG_FILE := $(abspath $(TFRC))
endif
ifneq ($(strip $(ENVS)),)
export PLATFORM_ENVIRONMENTS := $(ENVS)
endif
ifneq ($(strip $(SERVICES)),)
export PLATFORM_SERVICES := $(SERVICES)
endif

.PHONY: help install synth hcl test unit validate scan fuzz cli e2e bench local-deploy local-destroy tf-env clean FORCE

help:
	@echo "make synth          install (first run only) and synthesize every environment into cdktf.out/"
	@echo "                    ENVS=dev: only these environments; SERVICES=web: only these services' stacks"
	@echo "make hcl            the same stacks as HCL into $(HCL_OUT)/ (cdktf synth --hcl, repaired; README: Exit ramp)"
	@echo "make test           install (first run only) and run every test: unit, apps, validate, scan, end-to-end"
	@echo "make validate       terraform init -backend=false + validate on every synthesized stack"
	@echo "make scan           Checkov on every synthesized stack"
	@echo "make fuzz           the configuration fuzz test with 2,000 random examples (make test repeats a fixed 80)"
	@echo "make e2e            apply/re-plan/destroy every stack of dev against moto"
	@echo "make cli            every Terraform CLI command on the dev stacks against moto (15-35 minutes; not in make test)"
	@echo "make bench          synthesis time and memory: the app, what each speed-up saves, the targets"
	@echo "make local-deploy   start moto on loopback and apply dev to it; make local-destroy undoes it"
	@echo "eval \$$(make -s tf-env)  export the Terraform CLI config for cdktf/terraform used by hand"

# --- installation (stamps make the second run skip it) ------------------------------
$(BUILD)/pipenv/bin/pipenv:
	@echo "==> bootstrapping pipenv $(PIPENV_VERSION) into $(BUILD)/pipenv"
	@$(PYTHON) -m venv $(BUILD)/pipenv
	@$(BUILD)/pipenv/bin/pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)

$(VENV)/.synced: Pipfile.lock | $(BUILD)/pipenv/bin/pipenv
	@echo "==> installing Python dependencies from Pipfile.lock into $(VENV)/"
	@$(BUILD)/pipenv/bin/pipenv sync --dev
	@echo "==> compiling optimized bytecode for the synthesis (python -O; see tools/bytecode.py)"
	@$(PY) -m tools.bytecode
	@touch $@

node_modules/.synced: package-lock.json
	@echo "==> installing the pinned cdktf CLI from package-lock.json"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(TFRC): FORCE
	@$(PYTHON) -m tools.terraformrc $(TFRC)

install: $(VENV)/.synced node_modules/.synced $(TFRC)

# --- everyday targets -----------------------------------------------------------------
# Into a fresh folder first: a failed synthesis leaves cdktf.out/ as it was; then each stack's
# generated files are replaced in place (its .terraform/, lock file and workspace stay).
synth: install
	@rm -rf $(BUILD)/synth
	@$(CDKTF) synth --output $(BUILD)/synth > $(BUILD)/synth.log 2>&1 || { cat $(BUILD)/synth.log; exit 1; }
	@$(PY) -m tools.stacks install $(BUILD)/synth cdktf.out $(if $(strip $(SERVICES)),,--prune)

# The exit ramp from CDKTF: HashiCorp's `cdktf synth --hcl`, the gaps of its HCL writer repaired
# (tools/hcl.py, which reads the provider's schema: the mirror or the registry), `terraform fmt`.
hcl: install
	@rm -rf $(BUILD)/hcl-synth
	@$(CDKTF) synth --hcl --output $(BUILD)/hcl-synth > $(BUILD)/hcl.log 2>&1 || { cat $(BUILD)/hcl.log; exit 1; }
	@$(PY) -m tools.hcl $(BUILD)/hcl-synth $(HCL_OUT) $(if $(strip $(SERVICES)),,--prune)

test: install
	@$(PY) -m pytest

unit: install
	@$(PY) -m pytest -m "not terraform and not e2e"

validate: install
	@$(PY) -m pytest tests/test_terraform_validate.py -q

scan: install
	@$(PY) -m pytest tests/test_checkov.py

cli: install
	@PLATFORM_TEST_CLI=1 $(PY) -m pytest tests/test_cli.py -n 0 -s

fuzz: install
	@HYPOTHESIS_PROFILE=explore $(PY) -m pytest tests/test_config_fuzz.py -n 0 -q

e2e: install
	@$(PY) -m pytest tests -m e2e

bench: install
	@$(PY) -m tools.bench

local-deploy: install
	@$(PY) -m tools.local_deploy deploy

local-destroy: install
	@$(PY) -m tools.local_deploy destroy

tf-env: $(TFRC)
ifneq ($(strip $(TF_PROVIDER_MIRROR)),)
	@echo "export TF_CLI_CONFIG_FILE=$(abspath $(TFRC))"
endif

clean:
	rm -rf cdktf.out $(HCL_OUT) $(BUILD)/synth.log $(BUILD)/hcl.log .pytest_cache

FORCE:
