# The README's two commands: `make quickstart` and `make test`. `make bench` runs the long measurements.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.khabar-installed
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
DATA ?= sample

.PHONY: venv test lint quickstart bench clean

# torch is installed first and pinned: an unpinned torch would pull a multi-GB CUDA build on CPU machines.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,offline,onnx]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check src tests training benchmarks

test: lint
	$(PY) -m pytest

quickstart: venv
	$(VENV)/bin/khabar quickstart --data $(DATA)

bench: venv
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/analyze_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
