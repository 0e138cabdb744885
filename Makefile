# fastapi-concurrency-lab. `make help` lists the targets.
# Variables given on the command line (make up CPUS=0.5) reach Compose and the driver as
# environment variables; their defaults live in compose.yaml and in loadlab, not here.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
WHEELHOUSE := $(BUILD)/wheelhouse
COMPOSE_BIN = $(shell $(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
VARIANTS_ALL := uvicorn uvicorn-limiter uvicorn-workers gunicorn uvicorn-limit-concurrency
VARIANT ?= uvicorn
export COMPOSE_BAKE := false
# uv reads the system trust store, the one pip and the machine already use.
export UV_NATIVE_TLS := 1
export LAB_UID := $(shell id -u)
export LAB_GID := $(shell id -g)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# --- Python environment -------------------------------------------------------------------
$(UV):
	$(PYTHON) -m venv $(TOOLS)
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
	PYTHONPATH=services $(VENV)/bin/uvicorn target.main:app --host 127.0.0.1 --port $${PORT:-8000}

# --- Engine and images --------------------------------------------------------------------
.PHONY: engine
engine: venv ## make a Docker engine and Compose v2 reachable (installs them on Debian as root)
	@COMPOSE_BIN="$(COMPOSE_BIN)" scripts/engine.sh

$(WHEELHOUSE)/.done: uv.lock scripts/wheelhouse.sh | $(UV)
	UV=$(UV) scripts/wheelhouse.sh $(WHEELHOUSE) service locust
	touch $@

.PHONY: wheelhouse
wheelhouse: $(WHEELHOUSE)/.done ## download the images' wheels on the host, from uv.lock

.PHONY: images
images: engine wheelhouse ## build the target and Locust images (offline; local base if no registry)
	@mkdir -p $(BUILD)
	@base=$$(BUILD_DIR=$(BUILD) scripts/base-image.sh); echo "images: base $$base"; \
	  BASE_IMAGE=$$base docker compose --profile '*' build --quiet uvicorn locust-master
	@docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' 'loadlab/*'

# --- Running the lab ----------------------------------------------------------------------
.PHONY: up
up: images ## start one variant, healthy: make up VARIANT=gunicorn CPUS=0.5 [CPUSET=0]
	@eval "$$($(PY) -m loadlab cpus --cpus $${CPUS:-1} --cpuset "$${CPUSET:-}")"; \
	  docker compose --profile $(VARIANT) up --detach --wait --no-build $(VARIANT)
	@docker compose --profile $(VARIANT) ps --format '{{.Service}} {{.Status}} {{.Ports}}'

.PHONY: down
down: ## stop and remove every container and network of the lab
	@docker compose --profile '*' down --remove-orphans --volumes --timeout 10

# --- Sweeps and reports ------------------------------------------------------------------
# Make variables given on the command line or in the environment become CLI options:
# make sweep USERS=10,40 CPUS=1 -> loadlab sweep --users=10,40 --cpus=1
SWEEP_VARS := PROFILE VARIANTS ENDPOINTS CPUS USERS DURATION WARMUP REPEATS WORK_SECONDS \
  CPU_ITERATIONS THREAD_LIMIT EXECUTOR_WORKERS WORKERS LIMIT_CONCURRENCY LOCUST_WORKERS OUT \
  RESUME RUN_ID
lower = $(shell echo '$(1)' | tr 'A-Z_' 'a-z-')
given = $(filter command line environment,$(origin $(1)))
sweep_args = $(foreach v,$(SWEEP_VARS),$(if $(call given,$(v)),--$(call lower,$(v))='$($(v))'))

.PHONY: sweep
sweep: venv ## the main job: sweep variants x endpoints x CPU limits x users, write reports/<run-id>
	@$(PY) -m loadlab sweep --dry-run $(sweep_args)  # bad input fails here, before any set-up
	@$(MAKE) images
	$(PY) -m loadlab sweep $(sweep_args)

.PHONY: report
report: venv ## re-render summary.csv and index.html of a run: make report RUN=reports/<run-id>
	$(PY) -m loadlab report $${RUN:-reports/latest}

.PHONY: bench
bench: venv ## the lab's own capacity: max requests/s through Locust and uvicorn, per point cost
	@$(MAKE) sweep PROFILE=bench RUN_ID=bench-$$(date -u +%Y%m%d-%H%M%S)

.PHONY: compare
compare: venv ## compare run B with reference A: make compare A=reports/<a> B=reports/<b> [FORCE=1]
	@test -n "$${A:-}" -a -n "$${B:-}" || { echo "error: give A=<run dir> and B=<run dir>" >&2; exit 2; }
	$(PY) -m loadlab compare "$$A" "$$B" $(if $(FORCE),--force) $(if $(THRESHOLD),--threshold=$(THRESHOLD)) $(if $(P95_THRESHOLD),--p95-threshold=$(P95_THRESHOLD))

.PHONY: baseline
baseline: venv ## record a run as the nightly baseline (baseline/, committed): make baseline RUN=...
	@test -n "$${RUN:-}" || { echo "error: give RUN=<run dir>" >&2; exit 2; }
	$(PY) -m loadlab baseline "$$RUN"

.PHONY: nightly
nightly: venv ## what the scheduled job runs: nightly sweep, then gate on baseline/
	@$(PY) -m loadlab nightly --dry-run $(sweep_args)
	@$(MAKE) images
	$(PY) -m loadlab nightly $(sweep_args) $(if $(THRESHOLD),--threshold=$(THRESHOLD))

# --- Tests --------------------------------------------------------------------------------
.PHONY: browser
browser: ## headless Chromium for the report test (from Debian, as root, when missing)
	@command -v chromium >/dev/null 2>&1 || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    || { echo "error: chromium is missing and cannot be installed here" >&2; exit 1; }; \
	  echo "browser: installing chromium from Debian" >&2; \
	  apt-get update -qq >/dev/null; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

.PHONY: test
test: lint engine images browser ## the test suite: lint, service physics, driver logic, real containers
	$(PY) -m pytest $(PYTEST_ARGS)
