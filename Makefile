# Two commands for a new user: `make report` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= default
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]-*.py))
EXEC_DIR := build/notebooks/$(PROFILE)
# GNU time, where there is one, records each notebook's peak memory (the kernel's resident set)
GNU_TIME := $(shell /usr/bin/time -f %M -o /dev/null true >/dev/null 2>&1 && echo /usr/bin/time -f %M -o)

GROUP ?=
SEEDS ?=
BUDGET ?=
STOP_AFTER ?=
PRECISION ?=

.PHONY: help setup data sync report test html bench paper gpu-pack gpu-unpack clean

help:
	@echo "make report [PROFILE=smoke|default|paper]  set up, fetch MNIST, run every notebook"
	@echo "make test                                  set up, fetch MNIST, unit tests + notebooks at smoke"
	@echo "make sync                                  pair notebooks/*.py with their .ipynb (jupytext)"
	@echo "make html                                  render the executed notebooks to build/html"
	@echo "make bench                                 training/attack throughput against the machine's matmul rate"
	@echo "make paper [GROUP=adv240] [SEEDS='0 1'] [BUDGET=s] [STOP_AFTER=s] [PRECISION=bf16]  the paper's protocol, group by group"
	@echo "make gpu-pack / gpu-unpack TAR=...          carry MNIST to a GPU machine / unpack what came back"

# The venv is made once; a second run installs nothing (the stamp is newer than its inputs).
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

data: setup
	$(BIN)/python -m helpers.data

sync: setup
	$(BIN)/jupytext --sync $(NOTEBOOKS)

report: data sync
	@mkdir -p $(EXEC_DIR); rm -f $(EXEC_DIR)/timings.tsv $(EXEC_DIR)/.peak_kb
	@set -e; for py in $(NOTEBOOKS); do \
	  nb=$${py%.py}.ipynb; name=$$(basename $$nb); start=$$SECONDS; \
	  echo "== $$name (profile $(PROFILE))"; \
	  $(if $(GNU_TIME),$(GNU_TIME) $(EXEC_DIR)/.peak_kb) $(BIN)/papermill $$nb $(EXEC_DIR)/$$name -p profile $(PROFILE) --cwd notebooks --no-progress-bar; \
	  peak=$$(cat $(EXEC_DIR)/.peak_kb 2>/dev/null || true); \
	  echo -e "$${name%.ipynb}\t$$((SECONDS - start))\t$$peak" >> $(EXEC_DIR)/timings.tsv; \
	  echo "   $$((SECONDS - start)) s$${peak:+, peak memory $$((peak / 1024)) MB}"; \
	done
	@$(MAKE) --no-print-directory html

test: data sync
	REPRO_PROFILE=smoke $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-cell-timeout=900

html: setup
	$(BIN)/python -m helpers.render $(EXEC_DIR) build/html

bench: data
	$(BIN)/python bench/run.py

paper: data
	$(BIN)/python scripts/paper.py $(if $(GROUP),--group $(GROUP)) $(if $(SEEDS),--seeds $(SEEDS)) $(if $(BUDGET),--budget $(BUDGET)) $(if $(STOP_AFTER),--stop-after $(STOP_AFTER)) $(if $(PRECISION),--precision $(PRECISION))

# MNIST's raw files, gzipped (11 MB), for scripts/gpu_paper.sh on a machine with no network
gpu-pack: data
	@mkdir -p .carry/mnist
	for f in data/MNIST/raw/*-ubyte; do gzip -9 -c $$f > .carry/mnist/$$(basename $$f).gz; done

# what scripts/gpu_paper.sh brought back: results (group files, nets' records) into results/paper (never
# over one already there: delete it first to take the device's), weights into the model cache
gpu-unpack:
	@test -f "$(TAR)" || { echo "TAR=path/to/paper-results.tar.gz is required"; exit 2; }
	@rm -rf build/gpu/unpacked; mkdir -p build/gpu/unpacked results/paper .cache/models
	tar -xzf "$(TAR)" -C build/gpu/unpacked
	if [ -f build/gpu/unpacked/bench-population.json ]; then mv build/gpu/unpacked/bench-population.json bench/population-gpu.json; fi
	@cd build/gpu/unpacked && for f in *.json */*.json; do \
	  [ -f "$$f" ] || continue; \
	  if [ -e ../../../results/paper/$$f ]; then echo "kept results/paper/$$f (the device's is in build/gpu/unpacked/$$f)"; \
	  else mkdir -p ../../../results/paper/$$(dirname $$f) && cp $$f ../../../results/paper/$$f && echo "added results/paper/$$f"; fi; done
	if [ -d build/gpu/unpacked/weights ]; then cp build/gpu/unpacked/weights/*.pt .cache/models/; fi

clean:
	rm -rf build
