"""The results tree: where every file of the workflow lives, and which evaluations a suite has.

Both sides read this one module: the Snakemake rules (rules/common.smk) declare their inputs and
outputs with it, and the report (gans/report) finds the files with it, so the two cannot drift.

Each path method called with values gives a file (`layout.run_dir("mnist", "gan", 0)`); called
without them it gives the Snakemake pattern with the wildcards in their place
(`layout.run_dir()` -> ".../runs/{dataset}/{model}/seed{seed}"). Paths are strings, as
Snakemake wants them. Shared files (prepared data, extractor weights, real features) live in
the results root and serve every suite; the rest lives in the suite's own folder.

  <root>/data/{dataset}/{split}.pt                                   prepared split
  <root>/extractors/classifier-{dataset}.pt, .json                   domain classifier, retrained here
                                                                     (datasets without a frozen evaluator,
                                                                     or evaluation.classifier.source:
                                                                     retrain); else the frozen one in
                                                                     gans/metrics/evaluators/
  <root>/real-features/{dataset}/{extractor}/{split}-n{n}.pt          real features
  <root>/real-features/{dataset}/{extractor}/{domain_task}-{domain}/{split}-n{n}.pt
                                                                     one domain of a domain task
  <root>/logs/..., <root>/benchmarks/classifier-{dataset}.tsv        shared jobs' logs
  <suite>/runs/{dataset}/{model}/seed{seed}/                         final.pt, losses.csv, status.json
  <suite>/checkpoints/{dataset}/{model}/seed{seed}/                  resume source (undeclared)
  <suite>/samples/{dataset}/{model}/seed{seed}.pt, .png              samples (model "real": the floor;
                                                                     "real-{task}-{domain_task}": the
                                                                     floor of a two-domain task)
  <suite>/metrics/{dataset}/{extractor}/{model}/seed{seed}.json      one metrics record
  <suite>/truncation/samples/{dataset}/{model}/truncation{truncation}/seed{seed}.pt, .png
  <suite>/truncation/metrics/{dataset}/{extractor}/{model}/truncation{truncation}/seed{seed}.json
                                                                     the truncation sweep
  <suite>/benchmarks/{train,evaluate}/..., <suite>/logs/...          Snakemake benchmarks and logs
  <suite>/store.csv                                                  the tidy store
  <reports>/<suite>/                                                 the report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

REAL = "real"  # the real-vs-real floor: a real subset, sampled and evaluated like a model

CLASSIFIER_EXTRACTOR = "classifier"
INCEPTION_EXTRACTOR = "inception-v3-compat"
TOY_EXTRACTOR = "toy"  # toy 2D data: mode metrics against the mixture, no feature extractor

Seed = Union[int, str]
Truncation = Union[float, str]  # a value of the suite's truncation sweep, or the "{truncation}" wildcard


def truncation_label(truncation: Truncation) -> str:
    """A truncation value as it appears in file names: its shortest form (0.5, 1, 2.25); the
    wildcard passes through."""
    return truncation if isinstance(truncation, str) else f"{float(truncation):g}"


@dataclass(frozen=True)
class ResultsLayout:
    """Paths of one suite's results, of the files it shares with other suites, and of its report."""

    root: str        # results/: shared by every suite
    suite_dir: str   # results/<suite>/
    report_dir: str  # reports/<suite>/

    @classmethod
    def for_suite(cls, results_root: str, reports_root: str, suite: str) -> ResultsLayout:
        """The workflow's layout: <results_root>/<suite> and <reports_root>/<suite>."""
        return cls(str(results_root), f"{results_root}/{suite}", f"{reports_root}/{suite}")

    @classmethod
    def from_suite_dir(cls, suite_dir: Path | str, report_dir: Path | str = "") -> ResultsLayout:
        """The layout around a suite's results folder (the report commands' --results): the
        shared files are in its parent folder."""
        suite_dir = Path(suite_dir)
        return cls(suite_dir.parent.as_posix(), suite_dir.as_posix(), str(report_dir))

    # ------------------------------------------------------------------ shared by every suite
    def data_file(self, dataset: str = "{dataset}", split: str = "{split}") -> str:
        return f"{self.root}/data/{dataset}/{split}.pt"

    def prepare_log(self, dataset: str = "{dataset}", split: str = "{split}") -> str:
        return f"{self.root}/logs/prepare/{dataset}-{split}.log"

    def classifier_weights(self, dataset: str = "{dataset}") -> str:
        return f"{self.root}/extractors/classifier-{dataset}.pt"

    def classifier_info(self, dataset: str = "{dataset}") -> str:
        return f"{self.root}/extractors/classifier-{dataset}.json"

    def classifier_log(self, dataset: str = "{dataset}") -> str:
        return f"{self.root}/logs/classifier-{dataset}.log"

    def classifier_benchmark(self, dataset: str = "{dataset}") -> str:
        return f"{self.root}/benchmarks/classifier-{dataset}.tsv"

    def real_features(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                      split: str = "{split}", n: Union[int, str] = "{n}") -> str:
        return f"{self.root}/real-features/{dataset}/{extractor}/{split}-n{n}.pt"

    def real_features_log(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                          split: str = "{split}", n: Union[int, str] = "{n}") -> str:
        return f"{self.root}/logs/real-features/{dataset}-{extractor}-{split}-n{n}.log"

    def domain_features(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                        domain_task: str = "{domain_task}", domain: str = "{domain}",
                        split: str = "{split}", n: Union[int, str] = "{n}") -> str:
        """Real features of one domain of a domain task in a split: of at most n images (all the
        domain's images when it has fewer)."""
        return f"{self.root}/real-features/{dataset}/{extractor}/{domain_task}-{domain}/{split}-n{n}.pt"

    def domain_features_log(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                            domain_task: str = "{domain_task}", domain: str = "{domain}",
                            split: str = "{split}", n: Union[int, str] = "{n}") -> str:
        return (f"{self.root}/logs/real-features/{dataset}-{extractor}-{domain_task}-{domain}-"
                f"{split}-n{n}.log")

    # ------------------------------------------------------------------ one suite
    def run_dir(self, dataset: str = "{dataset}", model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/runs/{dataset}/{model}/seed{seed}"

    def final_weights(self, dataset: str = "{dataset}", model: str = "{model}",
                      seed: Seed = "{seed}") -> str:
        return f"{self.run_dir(dataset, model, seed)}/final.pt"

    def losses_file(self, dataset: str = "{dataset}", model: str = "{model}",
                    seed: Seed = "{seed}") -> str:
        return f"{self.run_dir(dataset, model, seed)}/losses.csv"

    def status_file(self, dataset: str = "{dataset}", model: str = "{model}",
                    seed: Seed = "{seed}") -> str:
        return f"{self.run_dir(dataset, model, seed)}/status.json"

    def checkpoint_dir(self, dataset: str = "{dataset}", model: str = "{model}",
                       seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/checkpoints/{dataset}/{model}/seed{seed}"

    def samples_file(self, dataset: str = "{dataset}", model: str = "{model}",
                     seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/samples/{dataset}/{model}/seed{seed}.pt"

    def samples_grid(self, dataset: str = "{dataset}", model: str = "{model}",
                     seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/samples/{dataset}/{model}/seed{seed}.png"

    def metrics_file(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                     model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/metrics/{dataset}/{extractor}/{model}/seed{seed}.json"

    def truncated_samples_file(self, dataset: str = "{dataset}", model: str = "{model}",
                               seed: Seed = "{seed}", truncation: Truncation = "{truncation}") -> str:
        return (f"{self.suite_dir}/truncation/samples/{dataset}/{model}/"
                f"truncation{truncation_label(truncation)}/seed{seed}.pt")

    def truncated_samples_grid(self, dataset: str = "{dataset}", model: str = "{model}",
                               seed: Seed = "{seed}", truncation: Truncation = "{truncation}") -> str:
        return self.truncated_samples_file(dataset, model, seed, truncation)[:-len(".pt")] + ".png"

    def truncated_metrics_file(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                               model: str = "{model}", seed: Seed = "{seed}",
                               truncation: Truncation = "{truncation}") -> str:
        return (f"{self.suite_dir}/truncation/metrics/{dataset}/{extractor}/{model}/"
                f"truncation{truncation_label(truncation)}/seed{seed}.json")

    def truncated_sample_log(self, dataset: str = "{dataset}", model: str = "{model}",
                             seed: Seed = "{seed}", truncation: Truncation = "{truncation}") -> str:
        return (f"{self.suite_dir}/logs/sample-truncation/{dataset}/{model}/"
                f"truncation{truncation_label(truncation)}/seed{seed}.log")

    def truncated_evaluate_log(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                               model: str = "{model}", seed: Seed = "{seed}",
                               truncation: Truncation = "{truncation}") -> str:
        return (f"{self.suite_dir}/logs/evaluate-truncation/{dataset}/{extractor}/{model}/"
                f"truncation{truncation_label(truncation)}/seed{seed}.log")

    def train_log(self, dataset: str = "{dataset}", model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/logs/train/{dataset}/{model}/seed{seed}.log"

    def train_benchmark(self, dataset: str = "{dataset}", model: str = "{model}",
                        seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/benchmarks/train/{dataset}/{model}/seed{seed}.tsv"

    def sample_log(self, dataset: str = "{dataset}", model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/logs/sample/{dataset}/{model}/seed{seed}.log"

    def evaluate_log(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                     model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/logs/evaluate/{dataset}/{extractor}/{model}/seed{seed}.log"

    def evaluate_benchmark(self, dataset: str = "{dataset}", extractor: str = "{extractor}",
                           model: str = "{model}", seed: Seed = "{seed}") -> str:
        return f"{self.suite_dir}/benchmarks/evaluate/{dataset}/{extractor}/{model}/seed{seed}.tsv"

    def store_file(self) -> str:
        return f"{self.suite_dir}/store.csv"

    def aggregate_log(self) -> str:
        return f"{self.suite_dir}/logs/aggregate.log"

    def report_log(self) -> str:
        return f"{self.suite_dir}/logs/report.log"

    def report_index(self) -> str:
        return f"{self.report_dir}/README.md"

    def digest_file(self) -> str:
        """Every model's and samples file's hash and every metric at full precision (gans.digest)."""
        return f"{self.report_dir}/digest.json"

    def digest_log(self) -> str:
        return f"{self.suite_dir}/logs/digest.log"


# --------------------------------------------------------------------------- what a suite evaluates
def dataset_kind(dataset: str) -> str:
    """"image" or "points" from the dataset registry; unregistered datasets count as images."""
    from gans.data import DATASETS  # the registry loads the data layer: only when asked

    return DATASETS.get(dataset).kind if dataset in DATASETS else "image"


def extractors_for(suite: Mapping[str, Any], dataset: str, inception: bool = False) -> list[str]:
    """The extractors a dataset of the suite is evaluated under: toy data only "toy"; images the
    suite's extractors, plus Inception when the workflow was given Inception weights."""
    if dataset_kind(dataset) == "points":
        return [TOY_EXTRACTOR]
    names = [e for e in suite["evaluation"]["extractors"] if e != TOY_EXTRACTOR]
    if inception and INCEPTION_EXTRACTOR not in names:
        names.append(INCEPTION_EXTRACTOR)
    return names


def runs(suite: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """Every (dataset, model, seed) the suite trains."""
    return [(d, m, int(s)) for d in suite["datasets"] for m in suite["models"] for s in suite["seeds"]]


def evaluated_models(suite: Mapping[str, Any]) -> list[str]:
    """The suite's models and the real floors: everything that gets samples and metrics."""
    return [*suite["models"], REAL, *(floor.name for floor in domain_floors(suite))]


def truncation_sweep(suite: Mapping[str, Any]) -> list[float]:
    """The truncation values the suite's trade-off figure sweeps (evaluation.truncation_sweep)."""
    return [float(t) for t in suite["evaluation"].get("truncation_sweep") or []]


def truncating_models(suite: Mapping[str, Any]) -> list[str]:
    """The suite's models that sample truncated (`supports_truncation`): the sweep's models."""
    from gans.models import MODELS  # the registry loads torch: only when asked

    return [m for m in suite["models"] if m in MODELS and MODELS.get(m).supports_truncation]


def truncation_runs(suite: Mapping[str, Any]) -> list[tuple[str, str, int, float]]:
    """Every (dataset, model, seed, truncation) the sweep samples: image datasets, models that
    sample truncated, every seed, every value of the sweep (none without a sweep)."""
    sweep = truncation_sweep(suite)
    return [(d, m, int(s), t) for d in suite["datasets"] if dataset_kind(d) == "image"
            for m in truncating_models(suite) for s in suite["seeds"] for t in sweep]


# --------------------------------------------------------------------------- the domain classifier
FROZEN_SOURCE = "frozen"
RETRAIN_SOURCE = "retrain"


def classifier_settings(suite: Mapping[str, Any]) -> dict[str, Any]:
    """The suite's evaluation.classifier block ({} when absent)."""
    return dict((suite.get("evaluation") or {}).get("classifier") or {})


def classifier_source(suite: Mapping[str, Any], dataset: str) -> str:
    """"frozen": the dataset's frozen evaluator (gans/metrics/evaluators), the default where one
    exists; "retrain": the train_classifier rule trains one (suite: evaluation.classifier.source:
    retrain, and every dataset without a frozen evaluator)."""
    from gans.metrics.evaluators import frozen_weights

    asked = classifier_settings(suite).get("source", FROZEN_SOURCE)
    if asked == FROZEN_SOURCE and frozen_weights(dataset) is not None:
        return FROZEN_SOURCE
    return RETRAIN_SOURCE


def classifier_weights_for(layout: ResultsLayout, suite: Mapping[str, Any], dataset: str) -> str:
    """The weights file the dataset's `classifier` extractor uses in this suite: the frozen
    evaluator shipped in the package, or the one the workflow trains into the results."""
    from gans.metrics.evaluators import frozen_weights

    if classifier_source(suite, dataset) == FROZEN_SOURCE:
        return str(frozen_weights(dataset))
    return layout.classifier_weights(dataset)


def classifier_recipe(suite: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(recipe name, field overrides) a retrained classifier is trained with."""
    settings = classifier_settings(suite)
    overrides = {k: v for k, v in settings.items() if k not in ("source", "recipe")}
    return settings.get("recipe", "v2"), overrides


# --------------------------------------------------------------------------- two-domain floors
@dataclass(frozen=True)
class DomainFloor:
    """The real floor of the models of one two-domain task on one domain task: real train images
    of each domain in the task's samples format, evaluated like them (gans/floors.py)."""

    task: str
    domain_task: str

    @property
    def name(self) -> str:
        return floor_name(self.task, self.domain_task)


def floor_name(task: str, domain_task: str) -> str:
    """The floor's name where a model's would be (samples, metrics, the store)."""
    return f"{REAL}-{task}-{domain_task}"


def is_floor(name: str) -> bool:
    """Whether an evaluated name is a floor ("real" and "real-..." are not model names)."""
    return name == REAL or name.startswith(f"{REAL}-")


def model_task(model: str) -> str:
    """A registered model's task (gans/tasks.py)."""
    from gans.models import MODELS  # the registry loads every model: only when asked

    return MODELS.get(model).task


def domain_floors(suite: Mapping[str, Any]) -> list[DomainFloor]:
    """One floor per (task, domain task) of the suite's two-domain models, in suite order."""
    floors: dict[DomainFloor, None] = {}
    for model, domain_task in (suite.get("domain_tasks") or {}).items():
        if model in suite["models"]:
            floors[DomainFloor(model_task(model), domain_task)] = None
    return list(floors)


def floor_of(suite: Mapping[str, Any], model: str) -> str:
    """The floor a model is compared with: its two-domain task's, else the real subset's."""
    domain_task = (suite.get("domain_tasks") or {}).get(model)
    return REAL if domain_task is None else floor_name(model_task(model), domain_task)


def two_domain_evaluation(suite: Mapping[str, Any], model: str) -> tuple[str, str] | None:
    """(task, domain task) of a two-domain model or floor of the suite, None for the others."""
    for floor in domain_floors(suite):
        if model == floor.name:
            return floor.task, floor.domain_task
    domain_task = (suite.get("domain_tasks") or {}).get(model)
    return None if domain_task is None else (model_task(model), domain_task)
