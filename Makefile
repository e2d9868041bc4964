# polvo — every target runs from a fresh clone; `make install` then `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python

.PHONY: install venv generate test test-slow test-all lint typecheck seed check drift api-diff update-spec bench clean corpus docs

install: venv generate seed

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

generate: venv
	$(PYTHON) -m generator

seed: generate
	$(PYTHON) examples/seed.py

# The suite runs on the default httpx transport, then the wire-level tests again on the
# aiohttp transport (static checks, generator, model, webhook-decoding and in-process contract
# tests don't touch it; the multi-process Redis tests pick their transport themselves).
# `make test` leaves out the tests marked slow (@pytest.mark.slow: mypy over the generated
# code, wheel build, corpus, whole-spec contract, fuzz and hostile-model runs, multi-process
# Redis, long load tests) and stays within 4 minutes on a 2-core machine; `make test-slow` runs just those, the
# same two ways; CI (.ci/run) runs both. A plain `pytest` runs everything on httpx.
AIOHTTP_IGNORE := --ignore=tests/test_static.py \
	--ignore=tests/contract --ignore=tests/test_generator.py --ignore=tests/test_api_diff.py \
	--ignore=tests/test_spec_pins.py --ignore=tests/test_packaging.py --ignore=tests/test_docs.py \
	--ignore=tests/test_generated_code.py --ignore=tests/test_webhooks_events.py \
	--ignore=tests/test_webhooks_typing.py --ignore=tests/test_webhooks_config.py \
	--ignore=tests/test_lenient.py --ignore=tests/test_response_types.py \
	--ignore=tests/test_redis_processes.py

# `make test` runs its two passes at once, each on pytest-xdist workers (TEST_WORKERS for the
# httpx pass, TEST_WORKERS_AIOHTTP for the aiohttp pass; 0 runs a pass in one pytest process).
# Many tests wait on sockets, servers and timers, so four processes keep 2 cores busy: on a
# quiet 2-core machine 2+2 took 3 min 10 s, 2+0 4 min 17 s. On a machine busy with other
# work, fewer processes leave the timing tests' wall-clock bounds more CPU
# (`make test TEST_WORKERS_AIOHTTP=0`). The aiohttp pass's output is printed after the httpx
# pass's; either failing fails the target.
# Every fixture is safe for this: servers bind port 0, each Redis test has its own
# redis-server, files go to pytest's per-worker tmp_path.
# Byte code is cached (in .cache/pycache, out of the source tree) even where
# PYTHONDONTWRITEBYTECODE is set: every worker and every subprocess a test starts would
# otherwise compile the imported generated modules (52 MB of source) again.
TEST_WORKERS ?= 2
TEST_WORKERS_AIOHTTP ?= 2
TEST_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache

test: generate
	@export $(TEST_ENV); log=$$(mktemp); \
	POLVO_TRANSPORT=aiohttp $(PYTHON) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS_AIOHTTP) --dist worksteal -m "not slow" $(AIOHTTP_IGNORE) >$$log 2>&1 & aio=$$!; \
	echo "== httpx pass (the aiohttp pass runs alongside; its output follows) =="; \
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not slow"; httpx_rc=$$?; \
	wait $$aio; aio_rc=$$?; \
	echo "== aiohttp pass (POLVO_TRANSPORT=aiohttp) =="; cat $$log; rm -f $$log; \
	test $$httpx_rc -eq 0 && test $$aio_rc -eq 0

test-slow: generate
	$(PYTHON) -m pytest -q -m slow
	POLVO_TRANSPORT=aiohttp $(PYTHON) -m pytest -q -p no:cacheprovider -m slow $(AIOHTTP_IGNORE)

test-all: test test-slow

# generated/ is checked with generator/ruff_generated.toml, the settings the generator applies to it
lint: generate
	$(BIN)/ruff check src generator tests examples hatch_build.py
	$(BIN)/ruff format --check src generator tests examples hatch_build.py
	$(BIN)/ruff check --config generator/ruff_generated.toml generated/usepolvo
	$(BIN)/ruff format --check --config generator/ruff_generated.toml generated/usepolvo

# Markdown API reference per provider and pinned version → docs/api/ (git-ignored: it quotes the specs)
docs: venv
	$(PYTHON) -m generator docs

# every generated provider: the pinned ones, the corpus (tests/corpus) and the synthetic specs
typecheck: generate corpus
	$(BIN)/mypy src/usepolvo generator
	$(BIN)/mypy generated/usepolvo
	MYPYPATH=src:.cache/corpus $(BIN)/mypy --explicit-package-bases .cache/corpus/usepolvo

# the corpus and synthetic-spec providers, generated into .cache/corpus (not shipped)
corpus: venv
	$(PYTHON) -m generator --specs tests/corpus --out .cache/corpus
	$(PYTHON) -m generator --specs tests/specs --out .cache/corpus

check: drift lint typecheck test test-slow

# generated/ must be built from the checked-in pins, provider.toml, templates and generator
drift: venv
	$(PYTHON) -m generator --check

# make api-diff PROVIDER=stripe FROM=2022-11-15 TO=2023-08-16  → reports/api-diff-….md
api-diff: venv
	@test -n "$(PROVIDER)" -a -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make api-diff PROVIDER=stripe FROM=2022-11-15 TO=2023-08-16"; exit 2; }
	$(PYTHON) -m generator api-diff --provider $(PROVIDER) --from $(FROM) --to $(TO)

# make update-spec PROVIDER=stripe VERSION=2024-04-10 SOURCE=https://… [SHA256=…] [DEFAULT=1]
update-spec: venv
	@test -n "$(PROVIDER)" -a -n "$(VERSION)" -a -n "$(SOURCE)" || { echo "usage: make update-spec PROVIDER=… VERSION=… SOURCE=… [SHA256=…] [DEFAULT=1]"; exit 2; }
	$(PYTHON) -m generator update-spec --provider $(PROVIDER) --version $(VERSION) --source "$(SOURCE)" $(if $(SHA256),--sha256 $(SHA256)) $(if $(DEFAULT),--make-default)

bench: generate
	$(PYTHON) scripts/bench.py
	$(PYTHON) scripts/bench_models.py
	$(PYTHON) scripts/bench_generate.py
	$(PYTHON) scripts/bench_limits.py
	$(PYTHON) scripts/bench_redis.py

clean:
	rm -rf generated/usepolvo docs/api .cache .mypy_cache .pytest_cache

# Contract tests (issue 7): every operation checked against its pinned spec, models fuzzed.
.PHONY: contract fuzz prism
PRISM_VERSION ?= 5.14.2

prism: .cache/node/node_modules/.bin/prism

.cache/node/node_modules/.bin/prism:
	mkdir -p .cache/node
	npm install --silent --no-audit --no-fund --prefix .cache/node @stoplight/prism-cli@$(PRISM_VERSION)

# in-process report for every pinned spec, fuzz summary, then GitHub and OpenAI against Prism
contract: generate prism
	$(PYTHON) scripts/contract.py --prism

fuzz: generate
	POLVO_FUZZ_EXAMPLES=10 POLVO_FUZZ_DEPTH=4 POLVO_FUZZ_SEEDS=3 $(PYTHON) -m pytest -q tests/contract/test_fuzz.py
