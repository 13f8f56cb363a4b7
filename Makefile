# The two entry points the README opens with. Both work on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test tools engines frameworks lint golden bench clean demo

# out/ is the example specs' output (default targets); tests/test_golden.py pins it byte for byte.
GENERATE := $(BIN)/mlmon generate specs -o out

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## make run: create the environment and generate out/ from specs/
run: $(STAMP)
	$(GENERATE)

## promtool and amtool from Debian's packages, installed when missing
tools:
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
		echo "installing prometheus and prometheus-alertmanager from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; \
	fi
	@if ! command -v chromium >/dev/null; then \
		echo "installing chromium from Debian (screenshots of mlmon preview)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi
	@promtool --version | head -n 1
	@amtool --version | head -n 1

## today's engines too: Debian testing's prometheus 3.5 and alertmanager 0.33, unpacked into .engines/newer
## (nothing installed system-wide; the archive is derived from this machine's apt sources)
engines: tools
	@python3 scripts/newer_engines.py .engines/newer

## make frameworks: BentoML and MLServer, pinned, each in its own venv under .frameworks/ (their
## dependency trees conflict with .venv's); tests/test_real_frameworks.py serves them for real
FRAMEWORKS_STAMP := .frameworks/.installed

$(FRAMEWORKS_STAMP): scripts/framework_venvs.py
	$(PYTHON) scripts/framework_venvs.py --root .frameworks
	touch $(FRAMEWORKS_STAMP)

frameworks: $(FRAMEWORKS_STAMP)

## make test: install what the tests need and run them all
# pytest-xdist: six workers, fed one test at a time. The end-to-end tests (collected first) spend
# most of their ~40 s each waiting for alerts in real time; the first tests go out two per worker,
# so they hold four workers while two keep both cores of a 2-core machine busy (`-n auto` would
# start two workers with no spare for those waits; xdist's default chunks would put them all on one
# worker). First of all comes the quiet demo (tests/e2e/test_demo_quiet.py: `make demo` watched for
# 10 minutes, mostly idle), so its minutes overlap the whole suite; the test sent with it, which
# waits behind it, is a cheap one of the same file. A single file runs faster in one process:
# `.venv/bin/pytest tests/test_spec.py`.
test: $(STAMP) tools engines frameworks
	$(BIN)/ruff check mlmon_codegen tests benchmarks examples
	$(BIN)/lint-imports
	$(GENERATE) --check
	$(BIN)/pytest -n 6 --maxschedchunk=1

lint: $(STAMP)
	$(BIN)/ruff check mlmon_codegen tests benchmarks examples
	$(BIN)/lint-imports

## make golden: the one command that regenerates the committed output (review the diff like code)
golden: $(STAMP)
	$(GENERATE)

## make demo: out/ running on 127.0.0.1 (Prometheus, Alertmanager, the iris service); Ctrl-C stops it
demo: $(STAMP) tools
	$(BIN)/mlmon up out --specs specs

bench: $(STAMP)
	$(BIN)/python benchmarks/generate_bench.py
	$(BIN)/python benchmarks/generate_bench.py --all-targets
	$(BIN)/python benchmarks/runtime_bench.py
	$(BIN)/python benchmarks/dashboards_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .engines .frameworks
