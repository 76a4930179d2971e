# The two commands of the README: `make run` (the main job) and `make test` (the suite).
# Both create the virtual environment on first use; nothing else needs installing by hand
# beyond Python 3.11+, Java 17+ and Maven 3.8+.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install browser run demo-run demo-receivers test test-slow test-faults check format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "seabus needs Python 3.11+ (set PYTHON=python3.11)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[bus,dev]'
	@touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the dashboard's browser test (Playwright drives /usr/bin/chromium).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "Chromium could not be installed: apt-get install -y chromium" >&2; exit 1; }

## The main job: local Kafka (unless SEABUS_BOOTSTRAP is set), topics, worker.
run: install
	$(BIN)/seabus run

## The README's demo: the bus with windows of seconds, webhooks for the demo states and OSC,
## and on-call paged, all at `make demo-receivers` on 127.0.0.1:8090. The secret and the routing
## key are synthetic and for this demo only; real endpoints get their own (recipients.yaml).
DEMO_ENV := SEABUS_POLICIES_FILE=deploy/config/policies.demo.yaml \
	SEABUS_RECIPIENTS_FILE=deploy/config/recipients.demo.yaml \
	SEABUS_DELIVERY_FILE=deploy/config/delivery.demo.yaml \
	SEABUS_DEMO_WEBHOOK_SECRET=whsec_c2VhYnVzLWRlbW8tb25seS1ub3QtYS1zZWNyZXQtMDE= \
	SEABUS_DEMO_ROUTING_KEY=synthetic-demo-routing-key
demo-run: install
	$(DEMO_ENV) $(BIN)/seabus run

demo-receivers: install
	$(DEMO_ENV) $(BIN)/seabus demo-receivers

## The test suite against a real broker (started by the suite unless SEABUS_BOOTSTRAP is set).
## Six processes (pytest-xdist) share that one broker; most tests wait on Kafka, on bus
## processes and on real deadline windows, so six keep two cores 91 % busy (four: 75 %; measured:
## docs/TESTING.md). Each file stays in one process (its module fixtures), dealt heaviest first
## (tests/support/schedule.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 6
test: install browser check
	$(BIN)/pytest -m "not slow" --timeout=600 -n $(TEST_WORKERS) --dist loadfile --durations=15

## Slow fault and load runs, kept out of `make test` (includes the full fault schedule, ~20 min).
test-slow: install
	$(BIN)/pytest -m slow --timeout=2400

## The fault test (docs/RELIABILITY.md): SIGKILL 10 brokers and 10 workers while 3,000
## allegations are published on a 3-node cluster; fails if any acknowledged event is not delivered.
FAULT_ARGS ?= --broker-kills 10 --worker-kills 10 --allegations 3000
test-faults: install
	PYTHONPATH=tests $(BIN)/python -m faults.run $(FAULT_ARGS)

## Format, lint, types and the schema compatibility gate (CI runs it before the tests).
# mypy maps files to modules by folder: .build/ns/seabus/<pkg> links give it the installed
# layout (seabus.streams, ...) without a seabus/ folder in the repository.
NS := .build/ns/seabus
$(NS):
	mkdir -p $(NS) && for p in streams schemas connectors deploy; do ln -sfn ../../../$$p $(NS)/$$p; done

check: install $(NS)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/seabus schema check

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .build
