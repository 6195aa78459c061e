"""Every suite shipped in benchmarks/ passes the checks Snakemake runs before any job."""

from __future__ import annotations

from pathlib import Path

import pytest
from snakemake.utils import validate

from gans.suite import check_suite, load_suite

REPO = Path(__file__).resolve().parent.parent
SUITES = sorted((REPO / "benchmarks").glob("*.yaml"))


def test_the_shipped_suites_are_found():
    assert {"default", "smoke", "toy-2d"} <= {path.stem for path in SUITES}


@pytest.mark.parametrize("suite_file", SUITES, ids=lambda path: path.stem)
def test_a_shipped_suite_is_valid_and_named_after_its_file(suite_file: Path):
    suite = load_suite(suite_file)
    validate(suite, str(REPO / "config" / "suite.schema.yaml"))
    check_suite(suite)
    assert suite["name"] == suite_file.stem  # `--config suite=<name>` finds it by file name
