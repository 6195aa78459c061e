"""The mutation-testing setup (make mutation) stays whole: mutmut runs every metrics and nn test
module against the mutants, and every mutant declared equivalent says why."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mutmut_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mutmut"]


def test_every_metrics_and_nn_test_module_is_in_mutmuts_selection() -> None:
    selection = set(mutmut_config()["pytest_add_cli_args_test_selection"])
    modules = {f"tests/{p.name}" for pattern in ("test_metrics_*.py", "test_nn_*.py")
               for p in (REPO / "tests").glob(pattern)}
    assert modules - selection == set(), "add these to [tool.mutmut] pytest_add_cli_args_test_selection"
    for entry in selection:
        assert entry.startswith("-") or (REPO / entry.split("::")[0]).is_file(), entry


def test_mutmut_mutates_gans_metrics_and_gans_nn_only() -> None:
    config = mutmut_config()
    assert config["source_paths"] == ["gans"]
    assert config["only_mutate"] == ["gans/metrics/*", "gans/nn/*"]


def test_every_documented_equivalent_mutant_is_named_and_argued() -> None:
    equivalent = tomllib.loads((REPO / "tools" / "mutation_equivalents.toml").read_text())["equivalent"]
    for name, reason in equivalent.items():
        assert re.fullmatch(r"gans\.(metrics|nn)\.[\w.ǁ]+__mutmut_\d+", name), name
        assert isinstance(reason, str) and len(reason.split()) >= 4, f"{name}: say why it is equivalent"
