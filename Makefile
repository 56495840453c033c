# Matchwork: `make run` serves the product, `make test` runs the whole suite.
# Both create .venv and install what they need; with no DATABASE_URL / REDIS_URL they start the
# embedded PostgreSQL + pgvector and Redis under .data/ (127.0.0.1 only).

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

# Test runs use their own Celery queue and a fast password hasher; everything else is production code.
TEST_QUEUE ?= matchwork-test
TEST_ENV := MATCHWORK_TESTING=1 CELERY_QUEUE=$(TEST_QUEUE) CACHE_KEY_PREFIX=$(TEST_QUEUE) \
	DJANGO_PASSWORD_HASHERS=django.contrib.auth.hashers.MD5PasswordHasher

.PHONY: run test install install-dev lint format migrate demo stop status clean-data help eval \
	bench-ranking bench-embed bench-api bench-drop

help:
	@echo "make run      - install, start embedded servers if needed, migrate, load demo data, serve on :8000"
	@echo "make test     - install test deps and run the whole suite against real PostgreSQL+pgvector and Redis"
	@echo "make lint     - ruff check + format check"
	@echo "make eval     - rank ../shared/eval/dev.json with lexical, dense and hybrid (throwaway DB) and score them"
	@echo "make bench-ranking / bench-embed / bench-api - benchmarks on a separate database (docs/benchmarks.md)"
	@echo "make stop     - stop the embedded PostgreSQL and Redis of this checkout"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

run: install
	$(PY) -m config.devstack

test: install-dev
	$(TEST_ENV) $(PY) -m config.embedded run -- $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrate: install
	$(PY) -m config.embedded up
	$(PY) manage.py migrate

demo: migrate
	$(PY) manage.py seed_demo

# Matching evaluation: each strategy ranks the set in its own throwaway database, then score.py.
# With production settings (DEBUG off), so the ranking runs as it does in production: with DEBUG
# on, Django records every query and the ranking's statements run unprepared (docs/matching.md).
EVAL_SET ?= ../shared/eval/dev.json
EVAL_OUT ?= bench/out
eval: install
	mkdir -p $(EVAL_OUT)
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-eval-only-secret-$$(hostname)-not-for-production} $(PY) -m config.embedded run -- sh -c 'for s in lexical dense hybrid; do \
		$(PY) manage.py match_dataset $(EVAL_SET) --strategy $$s --top 20 --out $(EVAL_OUT)/rankings-$$s.json || exit 1; done'
	$(PY) ../shared/eval/score.py $(EVAL_SET) $(EVAL_OUT)/rankings-lexical.json $(EVAL_OUT)/rankings-dense.json \
		$(EVAL_OUT)/rankings-hybrid.json

status: install
	$(PY) -m config.embedded status

stop: install
	$(PY) -m config.embedded down

clean-data: stop
	rm -rf .data

# Benchmarks (docs/benchmarks.md): print figures, never pass/fail. They run on their own database
# (BENCH_DB) of the embedded or configured server, with production settings (DEBUG off).
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some machines set for older OpenBLAS builds, are
# dropped: they pin numpy's current OpenBLAS to a slower kernel (the machine line prints the
# kernel in use), and the ranking benchmark's numpy reference must run at full speed.
# OPENBLAS_THREAD_TIMEOUT=4: the reference's BLAS threads sleep as soon as it returns instead of
# spinning ~0.1 s on the cores the next engine ranking, measured right after it, needs.
BENCH_DB ?= matchwork_bench
BENCH_ENV := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_THREAD_TIMEOUT=4 EMBEDDED_PG_DB=$(BENCH_DB) DJANGO_DEBUG=0 \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-bench-only-secret-$$(hostname)-not-for-production} CELERY_QUEUE=matchwork-bench
BENCH_SIZES ?= 10000,100000
BENCH_ARGS ?=

bench-ranking: install
	$(BENCH_ENV) $(PY) -m config.embedded run -- $(PY) -m bench.ranking --sizes $(BENCH_SIZES) $(BENCH_ARGS)

bench-embed: install
	$(BENCH_ENV) $(PY) -m config.embedded run -- $(PY) -m bench.embed $(BENCH_ARGS)

bench-api: install
	$(PIP) install --quiet -r bench/requirements.txt
	$(BENCH_ENV) $(PY) -m config.embedded run -- $(PY) -m bench.api $(BENCH_ARGS)

# Drop the benchmark database (seeded freelancers included).
bench-drop: install
	$(PY) -m config.embedded run -- $(PY) -m bench.drop $(BENCH_DB)
