# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs everything, runs the embedded default grid, writes the report
#   make test   creates .venv, installs everything, runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint-imports install clean

$(BIN)/robustbench-ft: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/robustbench-ft

demo: install
	$(BIN)/robustbench-ft run --results results
	$(BIN)/robustbench-ft report --results results --out results/report --plots

# The layers of docs/architecture.md, as contracts in pyproject.toml: a back-edge fails here.
lint-imports: install
	$(BIN)/lint-imports --no-cache

# Everything (CI runs this): the import contracts, then every test, slow and Slurm ones included.
# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: lint-imports
	$(BIN)/python -m pytest -q; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest ran no tests" >&2; exit 1; fi; exit $$code

# The quick loop while working: the import contracts and the unit tests (no end-to-end runs of
# real architectures, no subprocess fleets, no Slurm).
test-fast: lint-imports
	$(BIN)/python -m pytest -q -m "not slow and not slurm"; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest ran no tests" >&2; exit 1; fi; exit $$code

clean:
	rm -rf $(VENV) results/*/ report
