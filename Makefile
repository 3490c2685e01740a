# Two entry points on a fresh machine with only Python 3.10+:
#   make demo   set up, then check, report, build and train a spec on the built-in digits
#   make test   set up, then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARCHSPEC := $(VENV)/bin/archspec
SPEC ?= specs/lenet5.yaml
MINUTES ?= 10

.PHONY: setup demo test lint bench fuzz readme clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[keras,dev]'
	touch $@

demo: setup
	$(ARCHSPEC) check specs/
	$(ARCHSPEC) report $(SPEC)
	mkdir -p runs/demo
	$(ARCHSPEC) build $(SPEC) -o runs/demo/model.keras
	$(ARCHSPEC) train $(SPEC) --out runs/demo/train

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

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
