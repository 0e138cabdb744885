# fastapi-concurrency-lab. `make help` lists the targets.
# Settings are Make variables (make up CPUS=0.5, make sweep USERS=10,40); each target hands on
# the ones it uses; their defaults live in compose.yaml and in loadlab, not here, and every
# list of them comes from src/loadlab/stack/variables.py.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

HOST_PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
WHEELHOUSE := $(BUILD)/wheelhouse
COMPOSE_BIN = $(shell $(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
VARIANT ?= uvicorn
export COMPOSE_BAKE := false
# uv reads the system trust store, the one pip and the machine already use.
export UV_NATIVE_TLS := 1

# Make exports every variable given on the command line (or found in the environment) to every
# recipe, sub-makes included, and `docker compose build` interpolates the whole compose.yaml:
# `make sweep CPUS=0.5,1` is a list to the sweep but a parse error in Compose's `cpus:` field,
# and a stray THREAD_LIMIT would silently reconfigure a variant. So the lab's settings are never
# exported; a target that uses them passes them on by name: the sweep as loadlab options,
# `up` and `serve` as an environment prefix (env_of). Infrastructure (IMAGE_TAG, BASE_IMAGE,
# COMPOSE_PROJECT_NAME, the *_PORT variables) is still exported, builds and tests need it.
# Every list of variables comes from the one table in code (src/loadlab/stack/variables.py),
# read with the machine's python3 (it needs nothing the lab's environments bring). The same
# call checks the command line: a variable the lab does not know is
# refused, with the nearest known name, before anything starts (`make sweep PYTHON=3.13` would
# otherwise run Python 3.11: the setting is PYTHONS).
given_names := $(foreach w,$(MAKEOVERRIDES),$(firstword $(subst =, ,$(w))))
lab_lists := $(shell PYTHONPATH=src $(HOST_PYTHON) -m loadlab.stack.variables make $(given_names) 2>&1)
$(if $(filter-out 0,$(.SHELLSTATUS)),$(error $(lab_lists)))
list_of = $(patsubst $(1):%,%,$(filter $(1):%,$(lab_lists)))
SWEEP_VARS := $(call list_of,SWEEP_VARS)
SERVICE_VARS := $(call list_of,SERVICE_VARS)
unexport $(call list_of,UNEXPORTED_VARS)
given = $(filter command line environment,$(origin $(1)))
# $(call env_of,A B) -> A='1' B='2' for those of A, B that were given.
env_of = $(strip $(foreach v,$(1),$(if $(call given,$(v)),$(v)='$($(v))')))

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# --- Python environment -------------------------------------------------------------------
$(UV):
	$(HOST_PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

.PHONY: venv
venv: $(VENV)/.synced ## create .venv from uv.lock (driver, service and dev tools)

.PHONY: lock
lock: | $(UV) ## re-resolve uv.lock after editing pyproject.toml
	$(UV) lock

.PHONY: lint
lint: venv ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: serve
serve: venv ## run the target on 127.0.0.1:8000 with uvicorn (make serve THREAD_LIMIT=4)
	$(call env_of,$(SERVICE_VARS)) PYTHONPATH=services \
	  $(VENV)/bin/uvicorn target.main:app --host 127.0.0.1 --port $(or $(PORT),8000)

# --- Engine and images --------------------------------------------------------------------
.PHONY: engine
engine: venv ## make a Docker engine and Compose v2 reachable (installs them on Debian as root)
	@COMPOSE_BIN="$(COMPOSE_BIN)" scripts/engine.sh

# A second engine on this machine for the two-engine tests: dockerd in netns loadlab-engine2,
# context loadlab-engine2 (src/loadlab/engines/second.py); SECOND_ENGINE_NET (a /30 or /29)
# and SECOND_ENGINE_BRIDGE (its docker0) choose its addresses; KEEP_DATA=1 keeps its images.
second_args = $(if $(SECOND_ENGINE_NET),--net='$(SECOND_ENGINE_NET)') \
  $(if $(SECOND_ENGINE_BRIDGE),--bridge='$(SECOND_ENGINE_BRIDGE)')

.PHONY: second-engine
second-engine: venv ## a second Docker engine on this machine (own netns); prints the settings that use it
	@$(PY) -m loadlab.engines.second up --dry-run $(second_args)  # bad input fails here
	@$(MAKE) engine
	@$(PY) -m loadlab.engines.second up $(second_args)

.PHONY: second-engine-down
second-engine-down: venv ## remove the second engine: its daemons, context, namespace, links (KEEP_DATA=1 keeps images)
	@$(PY) -m loadlab.engines.second down $(if $(filter 1 true yes,$(KEEP_DATA)),--keep-data)

$(WHEELHOUSE)/.done: uv.lock scripts/wheelhouse.sh | $(UV)
	UV=$(UV) scripts/wheelhouse.sh $(WHEELHOUSE) service locust
	touch $@

.PHONY: wheelhouse
wheelhouse: $(WHEELHOUSE)/.done ## download the images' wheels on the host, from uv.lock

.PHONY: images
images: engine wheelhouse ## build the target and Locust images (offline; local base if no registry)
	@[ "$${TARGET_TAG:-}" != py3.13 ] || { echo "error: TARGET_TAG=py3.13 is made by make images-py313" >&2; exit 2; }
	@mkdir -p $(BUILD)
	@base=$$(BUILD_DIR=$(BUILD) scripts/base-image.sh); echo "images: base $$base"; \
	  BASE_IMAGE=$$base docker compose --profile '*' build --quiet uvicorn locust-master
	@docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' 'loadlab/*'

# --- Running the lab ----------------------------------------------------------------------
.PHONY: up
up: images ## start one variant, healthy: make up VARIANT=gunicorn CPUS=0.5 [CPUSET=0]
	@eval "$$($(PY) -m loadlab cpus --cpus '$(or $(CPUS),1)' --cpuset '$(CPUSET)')"; \
	  $(call env_of,CPUS MEM_LIMIT $(SERVICE_VARS)) \
	  docker compose --profile $(VARIANT) up --detach --wait --no-build $(VARIANT)
	@docker compose --profile $(VARIANT) ps --format '{{.Service}} {{.Status}} {{.Ports}}'

.PHONY: down
down: ## stop and remove every container and network of the lab
	@docker compose --profile '*' down --remove-orphans --volumes --timeout 10

# --- Sweeps and reports ------------------------------------------------------------------
# Make variables given on the command line or in the environment become CLI options:
# make sweep USERS=10,40 CPUS=1 -> loadlab sweep --users=10,40 --cpus=1
lower = $(shell echo '$(1)' | tr 'A-Z_' 'a-z-')
sweep_args = $(strip $(foreach v,$(SWEEP_VARS),$(if $(call given,$(v)),--$(call lower,$(v))='$($(v))')))

# A Python 3.13 target is built only for the sweeps that run one.
py313_images = $(if $(findstring 3.13,$(PYTHONS)$(VARIANTS))$(filter cpucount,$(PROFILE)),images-py313)

.PHONY: sweep
sweep: venv ## the main job: sweep variants x endpoints x CPU limits x users, write reports/<run-id>
	@$(PY) -m loadlab sweep --dry-run $(sweep_args)  # bad input fails here, before any set-up
	@$(MAKE) images $(py313_images)
	$(PY) -m loadlab sweep $(sweep_args)

# make capacity: the CPU range is CPUS (0.25..2), THREAD_LIMIT a list to try (20,40,80).
capacity_args = $(if $(call given,RATE),--rate='$(RATE)') $(if $(call given,SLO),--slo='$(SLO)') \
  $(if $(call given,CPU_STEP),--cpu-step='$(CPU_STEP)') \
  $(if $(call given,HEADROOM),--headroom='$(HEADROOM)') \
  $(if $(call given,ATTEMPTS),--attempts='$(ATTEMPTS)')

.PHONY: capacity
capacity: venv ## the cheapest configuration meeting an SLO: make capacity ENDPOINTS=e RATE=300 'SLO=p99<250ms' CPUS=0.25..2
	@$(PY) -m loadlab capacity --dry-run $(sweep_args) $(capacity_args)
	@$(MAKE) images
	$(PY) -m loadlab capacity $(sweep_args) $(capacity_args)

.PHONY: verify
verify: venv ## a target's endpoints answered once as its file says, nothing measured: make verify TARGET=dir
	@$(PY) -m loadlab verify --dry-run $(sweep_args)
	@$(MAKE) images
	$(PY) -m loadlab verify $(sweep_args)

.PHONY: report
report: venv ## re-render summary.csv and index.html of a run: make report RUN=reports/<run-id>
	$(PY) -m loadlab report $${RUN:-reports/latest}

.PHONY: bench
bench: venv ## the lab's own capacity: max requests/s through Locust and uvicorn, per point cost
	@$(MAKE) sweep PROFILE=bench RUN_ID=bench-$$(date -u +%Y%m%d-%H%M%S)

.PHONY: kubernetes
kubernetes: venv ## the plan as Kubernetes manifests, not applied: make kubernetes MANIFESTS=dir [NAMESPACE= REGISTRY=]
	$(PY) -m loadlab kubernetes $(sweep_args) --manifests='$(MANIFESTS)' \
	  $(if $(NAMESPACE),--namespace='$(NAMESPACE)') $(if $(REGISTRY),--registry='$(REGISTRY)')

.PHONY: compare
compare: venv ## compare run B with reference A: make compare A=reports/<a> B=reports/<b> [FORCE=1]
	@test -n "$${A:-}" -a -n "$${B:-}" || { echo "error: give A=<run dir> and B=<run dir>" >&2; exit 2; }
	$(PY) -m loadlab compare "$$A" "$$B" $(if $(FORCE),--force) $(if $(THRESHOLD),--threshold=$(THRESHOLD)) $(if $(P95_THRESHOLD),--p95-threshold=$(P95_THRESHOLD))

.PHONY: baseline
baseline: venv ## record a run as the nightly baseline (baseline/, committed): make baseline RUN=...
	@test -n "$${RUN:-}" || { echo "error: give RUN=<run dir>" >&2; exit 2; }
	$(PY) -m loadlab baseline "$$RUN"

# STORE: the folder of baselines per machine and history (CI keeps it in actions/cache);
# REBASELINE=1 (or true): make this night its machine's baseline, accepting what it measured.
nightly_args = $(if $(STORE),--store='$(STORE)') $(if $(THRESHOLD),--threshold=$(THRESHOLD)) \
  $(if $(P95_THRESHOLD),--p95-threshold=$(P95_THRESHOLD)) \
  $(if $(filter 1 true yes,$(REBASELINE)),--rebaseline)

.PHONY: nightly
nightly: venv ## what the scheduled job runs: nightly sweep, then the gate against this machine's baseline
	@$(PY) -m loadlab nightly --dry-run $(sweep_args)
	@$(MAKE) images
	$(PY) -m loadlab nightly $(sweep_args) $(nightly_args)

# --- Tests --------------------------------------------------------------------------------
.PHONY: browser
browser: ## headless Chromium for the report test (from Debian, as root, when missing)
	@command -v chromium >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    || { echo "error: chromium is missing and cannot be installed here" >&2; exit 1; }; \
	  echo "browser: installing chromium from Debian" >&2; \
	  apt-get update -qq >/dev/null; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Two passes: the tests that need no engine on TEST_JOBS processes (nothing they measure is
# timed against a container, and no container runs beside them), then the container tests
# one at a time, so no measurement shares the machine with another. Exit 5 is "nothing
# collected" (PYTEST_ARGS chose tests of one kind); either pass failing fails the target.
TEST_JOBS ?= 2

.PHONY: test
test: lint engine images images-py313 browser ## the test suite: lint, service physics, driver logic, real containers
	@status=0; \
	$(PY) -m pytest -m "not docker" -n $(TEST_JOBS) $(PYTEST_ARGS) || { s=$$?; [ $$s = 5 ] || status=$$s; }; \
	$(PY) -m pytest -m docker $(PYTEST_ARGS) || { s=$$?; [ $$s = 5 ] || status=$$s; }; \
	exit $$status

# --- Mutation testing (a benchmark of the tests, not part of make test) ----------------------
# mutmut, pinned in the `mutation` dependency group, lives in an environment of its own so that
# `make venv` (which syncs the default groups exactly) and `make mutation` never undo each other.
MUTATION_VENV := $(BUILD)/mutation-venv

$(MUTATION_VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(MUTATION_VENV) $(UV) sync --frozen --quiet --group mutation
	touch $@

.PHONY: mutation
mutation: $(MUTATION_VENV)/.synced ## mutmut over measure/ judge/ search/, score to reports/mutation-<date>: [MODULES=measure/status.py,judge JOBS=1]
	$(MUTATION_VENV)/bin/python scripts/mutation.py run $(if $(MODULES),--modules='$(MODULES)') \
	  $(if $(JOBS),--jobs='$(JOBS)')

# --- A Python 3.13 target (the cpu_count axis: 3.13 sizes pools from os.process_cpu_count) --
# Same Dockerfile, other base (Debian trixie's python3 is 3.13) and cp313 wheels from uv.lock.
# The context is exactly the files the image copies, streamed as a tar, so .dockerignore (kept
# to the 3.11 build's files) needs no entry for this wheelhouse. Run it: TARGET_TAG=py3.13.
PY313_WHEELS := $(WHEELHOUSE)/service-py313

$(PY313_WHEELS)/.done: uv.lock scripts/wheelhouse.sh | $(UV)
	UV=$(UV) PYTHON_VERSION=3.13 scripts/wheelhouse.sh $(WHEELHOUSE) service
	touch $@

.PHONY: images-py313
images-py313: engine $(PY313_WHEELS)/.done ## build loadlab/target:py3.13 (Python 3.13, offline)
	@mkdir -p $(BUILD)
	@base=$$(BUILD_DIR=$(BUILD) scripts/base-image.sh 3.13); echo "images-py313: base $$base"; \
	  tar -cf - services/Dockerfile services/target/*.py src/loadlab/shared/*.py src/loadlab/probe/*.py $(PY313_WHEELS) \
	  | docker build --quiet -f services/Dockerfile --build-arg BASE_IMAGE=$$base \
	      --build-arg WHEELHOUSE=$(PY313_WHEELS) -t loadlab/target:py3.13 - >/dev/null
	@docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' loadlab/target:py3.13
