# Two entry points, both idempotent on a fresh machine (as root, nothing done before):
#   make run    venv + pinned stack + Fashion-MNIST, then the default suite through Snakemake
#   make test   the same setup, then pytest
#   make reproduce   the default suite again in portable mode, in results/portable, then a
#                    bit-for-bit comparison with the committed reports/default/digest.json
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= all
SNAKEMAKE_ARGS ?=
# a job killed with the workflow (kill -9, power loss) is rerun instead of stopping the run
# (README: Troubleshooting)
RERUN := --rerun-incomplete
FASHION_MNIST_DIR ?=
SOURCE_ARG := $(if $(FASHION_MNIST_DIR),--source-dir $(FASHION_MNIST_DIR),)
DATA := results/data/fashion-mnist

# pytest processes of `make test` (pytest-xdist): most tests wait on subprocesses (Snakemake,
# torchrun), so two keep both cores busy (measured: 8 min 43 s against 15 min 47 s for one)
TEST_WORKERS ?= 2

# mutation testing (not part of `make test`: hours on 2 shared cores); MUTANTS: a glob of mutant
# names to (re)run only those, e.g. MUTANTS='gans.nn.losses*'
MUTATION_CHILDREN ?= 2
MUTANTS ?=

.PHONY: setup data run test smoke toy toy-veegan toy-pacgan report-html reproduce mutation clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

data: $(DATA)/train.pt $(DATA)/test.pt

$(DATA)/%.pt: | setup
	$(PY) -m gans prepare --dataset fashion-mnist --split $* --out $@ $(SOURCE_ARG)

run: setup data
	$(VENV)/bin/snakemake --cores $(CORES) $(RERUN) $(SNAKEMAKE_ARGS)

smoke: setup data
	$(VENV)/bin/snakemake --cores $(CORES) --config suite=smoke $(RERUN) $(SNAKEMAKE_ARGS)

# Portable mode (gans/portable.py) in its own results folder, so the native results stay apart;
# the workflow prepares the data there itself.
PORTABLE_DIR ?= results/portable
reproduce: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(RERUN) --config portable=true \
		results_dir=$(PORTABLE_DIR) reports_dir=$(PORTABLE_DIR)/reports $(SNAKEMAKE_ARGS)
	$(PY) -m gans check-digest reports/default/digest.json $(PORTABLE_DIR)/reports/default/digest.json

toy: setup
	$(VENV)/bin/snakemake --cores $(CORES) --config suite=toy-2d $(RERUN) $(SNAKEMAKE_ARGS)

# the mode-collapse benchmark on the VEEGAN / GDPP and on the PacGAN protocols (README)
toy-veegan toy-pacgan: setup
	$(VENV)/bin/snakemake --cores $(CORES) --config suite=$@ $(RERUN) $(SNAKEMAKE_ARGS)

report-html: setup
	$(VENV)/bin/snakemake --cores 1 --report reports/default/report.html

test: setup data
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS)

mutation: setup data
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,mutation]'
	OMP_NUM_THREADS=1 nice -n 15 $(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) $(if $(MUTANTS),'$(MUTANTS)',)
	$(PY) tools/mutation_score.py

clean:
	rm -rf results .snakemake .gpu-locks mutants
