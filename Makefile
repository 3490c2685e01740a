# Two entry points on a fresh machine with only Python 3.10+:
#   make demo   set up, then check, report, build and train a spec on the built-in digits
#   make test   set up, then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARCHSPEC := $(VENV)/bin/archspec
SPEC ?= specs/lenet5.yaml
MINUTES ?= 10

.PHONY: setup demo test test-fast lint bench fuzz readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[keras,tuner,dev]'
	touch $@

demo: setup
	$(ARCHSPEC) check specs/
	$(ARCHSPEC) report $(SPEC)
	mkdir -p runs/demo
	$(ARCHSPEC) build $(SPEC) -o runs/demo/model.keras
	$(ARCHSPEC) train $(SPEC) --out runs/demo/train

# One pytest worker per core (pytest-xdist); `$(PY) -m pytest` alone runs the same tests serially.
test: setup
	$(PY) -m pytest -n auto

# The checks to run before pushing (CI runs them too): lint, then the fast tests.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test-fast: setup
	HYPOTHESIS_PROFILE=fast $(PY) -m pytest -m "not keras and not slow" -n auto -q

bench: setup
	$(PY) benchmarks/check_speed.py

fuzz: setup
	$(PY) scripts/fuzz.py --minutes $(MINUTES)

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis

readme: setup
	$(PY) scripts/readme_report.py
	$(PY) scripts/spec_reference.py
	$(PY) scripts/spec_table.py
