PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test bench synth docs clean

install: $(BIN)/anomalygen

$(BIN)/anomalygen: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,detect]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

synth: install
	$(BIN)/anomalygen synth recipes/anomaly_shapenet.yaml

bench: install
	$(BIN)/python benchmarks/run.py

docs: install
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
