# ECS platform on CDK for Terraform. `make synth` and `make test` set up everything they need.
#
#   TF_PROVIDER_MIRROR=/path  install Terraform providers from a local filesystem mirror
#                             (every terraform run of the project then uses it)
#   ENVS=dev                  synthesize only these environments (comma-separated)
#   SERVICES=web              synthesize only these services' stacks, without the platform's
#                             (comma-separated; the other stacks in cdktf.out/ stay as they are);
#                             with plan/deploy/destroy: only these services' stacks
#   ENV=dev                   plan/deploy/destroy: the environment (tools/environment.py)
#   WORKSPACE=pr-42           plan/deploy/destroy: the Terraform workspace (default: default)
#   LOCAL=1                   plan/deploy/destroy: against the emulator of make local-deploy
#   AUTO_APPROVE=1            destroy without asking for the environment's name

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
BUILD := .build
VENV := .venv
PY := $(VENV)/bin/python
HCL_OUT := cdktf.out.hcl
TFRC := $(BUILD)/terraformrc

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_IGNORE_VIRTUALENVS := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The cdktf CLI as the tests run it (and by hand, through `make -s tf-env`): no telemetry call
# (offline it logs `getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com`), no library version
# check. https://developer.hashicorp.com/terraform/cdktf/create-and-deploy/environment-variables
export CHECKPOINT_DISABLE := 1
export DISABLE_VERSION_CHECK := 1
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

.PHONY: help install synth hcl test unit validate scan fuzz cli e2e bench plan deploy destroy doctor local-deploy local-destroy cost diagram service tf-env clean FORCE

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
	@echo "make cost ENV=dev   synthesize ENV and print its monthly estimate (ENV=dev,prod: side by side; README: What it costs)"
	@echo "make service NAME=billing KIND=web   a new services/billing/ (web, backend, worker or job) that synthesizes and tests as is"
	@echo "make diagram ENV=dev  docs/architecture-<env>.md (Mermaid) and .svg from the configuration (no ENV: all)"
	@echo "make plan ENV=dev   terraform plan on every stack of dev in dependency order, then one table"
	@echo "                    WORKSPACE=pr-42, SERVICES=web, LOCAL=1 (the emulator) as for deploy/destroy"
	@echo "make deploy ENV=dev apply every stack, platform first; stops at the first failure"
	@echo "make destroy ENV=dev destroy every stack in reverse order (asks; AUTO_APPROVE=1 does not)"
	@echo "make doctor         check Python, Node, Terraform, the provider source, AWS credentials, the"
	@echo "                    state backend (ENV=prod: that environment's; default: every environment)"
	@echo "make local-deploy   start moto on loopback and apply dev to it; make local-destroy undoes it"
	@echo "eval \$$(make -s tf-env)  for cdktf/terraform by hand: the Terraform CLI config, and the project's cdktf first on PATH"

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

# The project's own modules' -O bytecode again once one of their sources changed (an edited
# module is compiled from source on each run until then, never read stale: tools/bytecode.py).
$(BUILD)/project-bytecode.stamp: $(VENV)/.synced $(shell find infra -name '*.py' 2>/dev/null)
	@$(PY) -m tools.bytecode --project
	@mkdir -p $(BUILD) && touch $@

node_modules/.synced: package-lock.json
	@echo "==> installing the pinned cdktf CLI from package-lock.json"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The project's cdktf command (tools/cdktf: quiet, one error line) where `npx cdktf` and
# `eval "$$(make -s tf-env)"` find it; `npm ci` above links the CLI itself there.
node_modules/.bin/.project-cdktf: node_modules/.synced tools/cdktf
	@ln -sf ../../tools/cdktf node_modules/.bin/cdktf
	@touch $@

$(TFRC): FORCE
	@$(PYTHON) -m tools.terraformrc $(TFRC)

install: $(VENV)/.synced $(BUILD)/project-bytecode.stamp node_modules/.synced node_modules/.bin/.project-cdktf $(TFRC)

# --- everyday targets -----------------------------------------------------------------
# The app itself, as `cdktf synth` runs it (cdktf.json's "app", with CDKTF_OUTDIR): the same
# files, without the CLI's second copy of every error line and its spinner (README: Errors).
# A configuration error is one line and exit code 2. Into a fresh folder first: a failed
# synthesis leaves cdktf.out/ as it was; then each stack's generated files are replaced in
# place (its .terraform/, lock file and workspace stay).
synth: install
	@rm -rf $(BUILD)/synth
	@CDKTF_OUTDIR=$(BUILD)/synth $(PY) -O main.py
	@$(PY) -m tools.stacks install $(BUILD)/synth cdktf.out $(if $(strip $(SERVICES)),,--prune)
	@$(if $(strip $(SERVICES)),true,$(PY) -m tools.diagram $(ENVS))

# The exit ramp from CDKTF: what `cdktf synth --hcl` writes (the app with SYNTH_HCL_OUTPUT=true),
# the gaps of CDKTF's HCL writer repaired (tools/hcl.py, which reads the provider's schema: the
# mirror or the registry), then `terraform fmt`.
hcl: install
	@rm -rf $(BUILD)/hcl-synth
	@CDKTF_OUTDIR=$(BUILD)/hcl-synth SYNTH_HCL_OUTPUT=true $(PY) -O main.py
	@$(PY) -m tools.hcl $(BUILD)/hcl-synth $(HCL_OUT) $(if $(strip $(SERVICES)),,--prune)

# One environment's stacks with Terraform, in dependency order (tools/environment.py).
plan deploy destroy: install
	@$(PY) -m tools.environment $@ --env "$(ENV)" --workspace "$(WORKSPACE)" --services "$(SERVICES)" \
		$(if $(filter 1 true yes,$(LOCAL)),--local) $(if $(filter 1 true yes,$(AUTO_APPROVE)),--auto-approve)

# No install first: it diagnoses the installation too (with the system Python when .venv/ is missing).
doctor: $(TFRC)
	@$(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m tools.doctor $(if $(strip $(ENV)),--env "$(ENV)")

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

# What an environment costs a month before it exists: its stacks, priced from tools/prices/.
cost: install
	@$(MAKE) --no-print-directory synth ENVS=$(or $(ENV),dev) > $(BUILD)/cost-synth.log || { cat $(BUILD)/cost-synth.log; exit 1; }
	@$(PY) -m tools.cost $(or $(ENV),dev)

# A new service folder: manifest, Dockerfile, app and tests (README: Adding a service).
service: install
	@$(PY) -m tools.scaffold "$(NAME)" "$(KIND)"

# The architecture as a picture, from the loaded configuration (README: Architecture pictures).
diagram: install
	@$(PY) -m tools.diagram $(ENV)

local-deploy: install
	@$(PY) -m tools.local_deploy deploy

local-destroy: install
	@$(PY) -m tools.local_deploy destroy

# For cdktf and terraform run by hand from the project: the mirror's CLI configuration, and the
# cdktf CLI quiet (no telemetry or version check over the network, its log into .build/).
tf-env: $(TFRC)
ifneq ($(strip $(TF_PROVIDER_MIRROR)),)
	@echo "export TF_CLI_CONFIG_FILE=$(abspath $(TFRC))"
endif
	@mkdir -p $(BUILD)
	@echo "export CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=1 CDKTF_LOG_FILE_DIRECTORY=$(abspath $(BUILD))"
	@echo 'export PATH="$(abspath node_modules/.bin):$$PATH"'

clean:
	rm -rf cdktf.out $(HCL_OUT) $(BUILD)/synth $(BUILD)/hcl-synth $(BUILD)/logs .pytest_cache

FORCE:
