# Two commands do everything on a fresh clone:
#   make demo   set up, generate the demo talk, run the workflow on it
#   make test   set up, run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# PyTorch for the openai-whisper backend's tests; 2.13.0 has a CPU build on this project's machines
TORCH ?= torch==2.13.0
DEMO := examples/demo
CORES ?= 2

.PHONY: setup system-packages test-system-packages demo test test-slurm lint format schemas bench eval lock clean-demo

setup: system-packages $(STAMP)

system-packages:
	@bash tools/system-packages.sh

# the tests also need a real browser (chromium) for the review page
test-system-packages:
	@bash tools/system-packages.sh --test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# the exact versions of constraints.txt (make lock), so every set-up gets the environment that was tested
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev]"
	@# scenedetect >= 0.7 and movis hard-require the GUI opencv-python; we use the headless build (pyproject)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt --no-deps \
		"scenedetect>=0.7,<0.8" "movis>=0.7,<0.8"
	@touch $(STAMP)

# the openai-whisper backend is tested too; it brings PyTorch, so only `make test` installs it
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev,openai-whisper]"
	@touch $(TEST_STAMP)

demo: setup
	$(BIN)/python -m ave_core.synth demo $(DEMO)/input/talk.mp4
	$(BIN)/snakemake --cores $(CORES) -d $(DEMO)
	@echo
	@echo "Results: $(DEMO)/results/talk/ (media.json, audio.json, context.json)"
	@echo "Logs: $(DEMO)/logs/talk/  Benchmarks: $(DEMO)/benchmarks/talk/"
	@echo "Ground truth of the generated talk: $(DEMO)/input/talk.truth.json"

test: setup test-system-packages $(TEST_STAMP)
	$(BIN)/python -m pytest

# opt-in: a one-node SLURM cluster on this machine (tools/local-slurm.sh: installs slurm-wlm and munge when
# missing, as root), the workflow on two generated videos through Snakemake's SLURM executor, every daemon stopped
test-slurm: setup $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[all,dev,cluster]"
	@start=$$(date +%s); $(BIN)/python -m pytest -m slurm -s tests/cluster; status=$$?; \
		echo "test-slurm: $$(( $$(date +%s) - start )) s"; exit $$status

# mypy checks ave_core (the files and settings are in pyproject.toml)
lint: setup
	$(BIN)/ruff check ave_core scripts tests bench
	$(BIN)/ruff format --check ave_core scripts tests bench
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint -d $(DEMO) --cores 1
	$(BIN)/hadolint Dockerfile
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format ave_core scripts tests bench
	$(BIN)/ruff check --fix ave_core scripts tests bench
	$(BIN)/snakefmt Snakefile rules

schemas: setup
	$(BIN)/python -m ave_core.schemas .

bench: demo
	$(BIN)/python -m bench.stages
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.director

# the whole workflow over ../shared/media/dev and generated talks against the bare tools: docs/benchmarks.md
eval: setup
	$(BIN)/python -m bench.eval

# freeze the working environment into constraints.txt (what make setup and the Dockerfile install)
lock: setup $(TEST_STAMP)
	@echo "# The pinned environment: exact versions of everything ave installs, frozen from a working set-up" > constraints.txt
	@echo "# (make lock). make setup and the Dockerfile install with -c constraints.txt." >> constraints.txt
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -E "^(torch|triton|openai-whisper)==" >> constraints.txt

clean-demo:
	rm -rf $(DEMO)/results $(DEMO)/logs $(DEMO)/benchmarks $(DEMO)/.snakemake $(DEMO)/cache
