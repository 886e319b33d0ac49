# SoftFit's single entry point. `make demo` and `make test` each set everything up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP_DEPS := $(VENV)/.deps-installed
STAMP_EXT := $(VENV)/.ext-built
CSRC := $(wildcard csrc/*.cpp csrc/*.cu csrc/*.h)

.PHONY: setup demo test test-fast lint bench extension addon-zip dist clean

setup: $(STAMP_EXT)

$(STAMP_DEPS): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The compiled extension (CPU always, CUDA when a toolkit is present) is built once and reused.
$(STAMP_EXT): $(STAMP_DEPS) setup.py pyproject.toml $(CSRC)
	$(PY) -m pip install --quiet --no-build-isolation --no-deps -e .
	$(PY) -c "import softfit.raster"
	touch $@

extension: $(STAMP_EXT)

demo: $(STAMP_EXT)
	$(VENV)/bin/softfit demo --out out/demo

lint: $(STAMP_DEPS)
	$(VENV)/bin/ruff check .

test: $(STAMP_EXT) lint
	$(PY) scripts/run_tests.py

# The edit-test loop: everything but the tests marked slow (Blender renders, end-to-end fits). CI runs
# `make test`, all of them.
test-fast: $(STAMP_EXT) lint
	$(PY) scripts/run_tests.py -m "not slow"

# The Blender extension zip under build/dist/, validated with Blender's own tool from the bpy wheel..
addon-zip: $(STAMP_DEPS)
	$(PY) scripts/build_extension.py

# For artists: the backend wheel (with the compiled rasteriser for this platform) and the extension zip
# bundling it, both in build/dist/; the add-on's "Install Local Backend" pip-installs the bundled wheel.
dist: $(STAMP_EXT)
	rm -f build/dist/softfit-*.whl
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir build/dist .
	$(PY) scripts/build_extension.py --backend-wheel $$(ls build/dist/softfit-*.whl)

bench: $(STAMP_EXT)
	$(VENV)/bin/softfit bench raster

clean:
	rm -rf build $(VENV) backend/softfit/_C*.so backend/*.egg-info
