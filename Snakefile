# GAN Roadmap Bench: prepare data -> train (model x dataset x seed) -> sample -> evaluate ->
# aggregate -> report, for one benchmark suite.
#   snakemake --cores all                           # the embedded default suite, CPU
#   snakemake --cores 8 --resources gpu=2           # GPU box: two training jobs, one GPU each
#   snakemake --cores all --config suite=smoke      # another suite from benchmarks/
import json
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


# Variants from modules outside the package (README: Adding a GAN), named in `model_plugins`:
# registered here, and in every job through the environment it inherits.
from gans.models import load_model_plugins

load_model_plugins(config.get("model_plugins") or [], export=True)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


# The report and every result it is made from. Snakemake does not rebuild a missing input of a
# job whose outputs are present (intermediate files may be deleted on purpose), so with the
# report alone, `rm -rf results/<suite>` left "Nothing to be done" and a report of runs that no
# longer exist. Asking for the results themselves rebuilds any that is missing, and the rebuilt
# files, newer than the report, make Snakemake run aggregate and report again.
rule all:
    input:
        LAYOUT.report_index(),
        LAYOUT.digest_file(),
        report_sources(),
