# Quick start: `make demo` and `make test` each set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ppgan-stylegan-setup
# a second environment on Paddle 2.6 (CPU), made by the same install script: `make test-paddle26`
VENV26   ?= .venv-paddle26
PADDLE26 ?= 2.6.2
STAMP26  := $(VENV26)/.ppgan-stylegan-setup
# a hung test run fails instead of hanging (per-test timeouts come from pytest-timeout, pytest.ini)
SUITE_TIMEOUT ?= 2700

.PHONY: setup setup-paddle26 test test-fast test-paddle26 demo benchmark constraints clean

setup: $(STAMP)

$(STAMP): setup.py requirements.txt constraints.txt tools/install_deps.py
	test -x $(PY) || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(PY) tools/install_deps.py
	touch $(STAMP)

$(STAMP26): setup.py requirements.txt constraints.txt tools/install_deps.py
	test -x $(VENV26)/bin/python || $(PYTHON) -m venv $(VENV26)
	$(VENV26)/bin/python tools/install_deps.py --paddle $(PADDLE26)
	touch $(STAMP26)

setup-paddle26: $(STAMP26)

test: setup
	timeout $(SUITE_TIMEOUT) $(PY) -m pytest tests

# the whole suite again on Paddle 2.6 (CI runs both)
test-paddle26: setup-paddle26
	timeout $(SUITE_TIMEOUT) $(VENV26)/bin/python -m pytest tests

# the inner loop: everything but the tests marked slow (subprocess runs, training, several processes)
test-fast: setup
	$(PY) -m pytest tests -m "not slow"

demo: setup
	$(VENV)/bin/ppgan-stylegan demo

benchmark: setup
	$(VENV)/bin/ppgan-stylegan benchmark --out output/benchmark.json

# after a green `make test`: pin what this environment has into constraints.txt (Paddle is never pinned)
constraints: setup
	$(PY) tools/install_deps.py --write-constraints

clean:
	rm -rf output .pytest_cache
