# Quick start: `make demo` and `make test` each set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ppgan-stylegan-setup

.PHONY: setup test test-fast demo benchmark clean

setup: $(STAMP)

$(STAMP): setup.py requirements.txt tools/install_deps.py
	test -x $(PY) || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) tools/install_deps.py
	touch $(STAMP)

test: setup
	$(PY) -m pytest tests

# the inner loop: everything but the tests marked slow (subprocess runs, training, several processes)
test-fast: setup
	$(PY) -m pytest tests -m "not slow"

demo: setup
	$(VENV)/bin/ppgan-stylegan demo

benchmark: setup
	$(VENV)/bin/ppgan-stylegan benchmark --out output/benchmark.json

clean:
	rm -rf output .pytest_cache
