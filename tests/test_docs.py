"""What a newcomer reads: a model card for every model of the package (naming its identity tests
and the published anchor the report prints), links that resolve, no pointers to files outside
the repository, and report folders of new suites kept out of git."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gans.models import MODELS
from gans.report.anchors import load_anchors

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
# models of the package itself (tests and plugins may register others for a while)
PACKAGE_MODELS = [name for name in MODELS.names()
                  if MODELS.get(name).__module__.startswith("gans.")]
OUTSIDE_FILES = ("shared/spec", "MODELS.md", "ANCHORS.md", "METRICS.md", "DESIGN.md")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def card(name: str) -> Path:
    return DOCS / "models" / f"{name}.md"


def flat(text: str) -> str:
    """Text with markdown emphasis and line breaks taken out."""
    return " ".join(text.replace("**", "").split())


def test_the_package_models_are_found() -> None:
    assert {"gan", "cgan", "dcgan", "wgan", "wgan-gp"} <= set(PACKAGE_MODELS)


@pytest.mark.parametrize("name", PACKAGE_MODELS)
def test_every_model_has_a_card(name: str) -> None:
    assert card(name).is_file(), f"docs/models/{name}.md is missing (README: Adding a GAN)"


@pytest.mark.parametrize("name", PACKAGE_MODELS)
def test_card_names_exactly_the_models_identity_tests(name: str) -> None:
    tests = REPO / "tests" / f"test_models_{name.replace('-', '_')}.py"
    defined = set(re.findall(r"^def (test_\w+)", tests.read_text(), re.MULTILINE))
    named = set(re.findall(r"`(test_\w+)`", card(name).read_text()))
    assert defined, f"{tests.name} has no identity tests"
    assert named == defined, (f"not in the card: {sorted(defined - named)}; "
                              f"no such test: {sorted(named - defined)}")


@pytest.mark.parametrize("name", PACKAGE_MODELS)
def test_card_gives_the_published_anchor_the_report_prints(name: str) -> None:
    papers = load_anchors()["papers"]
    text = flat(card(name).read_text())
    for result in papers[papers["model"] == name]["result"]:
        assert flat(result.replace("+-", "±")) in text, result
    assert "not comparable" in text.lower(), "say that published numbers are not comparable"


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def headings(path: Path) -> set[str]:
    """GitHub's anchors of a markdown file's headings."""
    titles = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_links_resolve(path: Path) -> None:
    for target in LINK.findall(path.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.exists(), f"{target} does not exist"
        if anchor:
            assert anchor in headings(linked), f"{target}: no such heading"


def test_readme_points_to_the_docs() -> None:
    readme = (REPO / "README.md").read_text()
    assert "(docs/protocol.md)" in readme and "(docs/models/)" in readme


def test_nothing_points_to_files_outside_the_repository() -> None:
    files = [*markdown_files(), *(p for p in (REPO / "gans").rglob("*")
                                  if p.suffix in (".py", ".yaml", ".md"))]
    for path in files:
        text = path.read_text()
        for name in OUTSIDE_FILES:
            assert name not in text, f"{path.relative_to(REPO)} mentions {name}"


@pytest.mark.parametrize("path, ignored", [
    ("reports/smoke/README.md", True),
    ("reports/a-new-suite/README.md", True),
    ("reports/a-new-suite/figures/samples.png", True),
    ("reports/default/report.html", True),
    ("reports/default/README.md", False),
    ("reports/toy-2d/figures/samples-ring-8.png", False),
    ("reports/toy-veegan/tables/published-toy-grid-25.md", False),
    ("reports/toy-pacgan/figures/published-toy-ring-8-unit.png", False),
    ("reports/wgan-long/tables/cost-fashion-mnist.md", False),
    ("reports/.gitkeep", False),
])
def test_only_the_published_reports_are_tracked(path: str, ignored: bool) -> None:
    result = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", path])
    assert result.returncode in (0, 1), "git check-ignore failed"
    assert (result.returncode == 0) == ignored


SCALED_BY_1000 = re.compile(r"[x×] ?1000\b")


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_kid_is_not_labelled_as_scaled(path: Path) -> None:
    """KID is stored and shown as torch-fidelity's raw MMD² estimate (gans/metrics/scores.py):
    no text may call it "(x 1000)"."""
    found = [line for line in path.read_text().splitlines() if SCALED_BY_1000.search(line)]
    assert not found, found
