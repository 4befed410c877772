PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Shared libraries open3d's wheel links against (soname:Debian package); installed with apt-get
# when missing and when run as root (CI), otherwise listed for the user to install.
SYSTEM_LIBS := libusb-1.0.so.0:libusb-1.0-0 libGL.so.1:libgl1 libEGL.so.1:libegl1 libX11.so.6:libx11-6 \
	libudev.so.1:libudev1 libgomp.so.1:libgomp1

.PHONY: install system-libs test bench bench-real synth docs clean

install: system-libs $(BIN)/anomalygen

system-libs:
	@missing=""; for entry in $(SYSTEM_LIBS); do \
		ldconfig -p | grep -q "$${entry%%:*}" || missing="$$missing $${entry#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system libraries:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else echo "missing system libraries for open3d; install:$$missing" >&2; exit 1; fi; fi

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
	$(BIN)/python benchmarks/run.py --repeat 3

bench-real: install
	$(BIN)/python benchmarks/real_meshes.py --compare

docs: install
	$(BIN)/python docs/make_figures.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
