"""Benchmark suites: a grid of models x datasets x seeds with one budget and one protocol.

The schema (config/suite.schema.yaml) checks shapes and ranges; `check_suite` checks what only
the code knows: that every model and dataset is registered, that each model can train on each
dataset, and what the optional blocks (resources, domain_tasks, evaluation.truncation,
evaluation.truncation_sweep, evaluation.classifier and evaluation.toy_protocol) and gpus_per_job name.
Both run when Snakemake starts, so a bad suite stops the workflow before any job.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

import yaml

from gans.data import DATASETS, DOMAIN_TASKS
from gans.layout import is_floor
from gans.models import MODELS
from gans.tasks import TASKS


class SuiteError(ValueError):
    """A suite names something that does not exist or cannot run; the message names the field."""


# Per-rule Snakemake resources (mem_mb in MB, runtime in minutes, gpu: GPUs a job holds) when the
# suite's `resources:` block does not set them. Sized for the CPU default suite from peak RSS and
# wall time measured on a 2-core machine (/usr/bin/time; training from reports/default), with
# head-room of about 1.5-2x in memory and far more in time for slower or busier machines:
#   prepare_data 945 MB, 3 s (train split, local files; a download takes longer);
#   train_classifier 900 MB, 54 s; real_features 910 MB, 6 s;
#   train 760-820 MB, at most 7 min (wgan-long: 20 min); sample_real 665 MB, 3 s;
#   evaluate (10k vs 10k, classifier features) 2.7 GB, 26 s;
#   aggregate 845 MB, 4 s and report 850 MB, 6 s (a small synthetic suite: the torch and
#   matplotlib imports dominate); sample, not measured alone: sample_real plus one generator.
# Suites with Inception features or longer budgets raise them in their own resources block.
# `gpu` is what puts a rule on a GPU (rule_device): training holds one by default; sampling,
# real features and evaluation run on the CPU unless the suite gives them `gpu: 1` (the GPU
# suites do: 50k Inception features take about 3.5 core-hours per file on a CPU).
DEFAULT_RESOURCES: Mapping[str, Mapping[str, int]] = MappingProxyType({
    "prepare_data": MappingProxyType({"mem_mb": 1500, "runtime": 15}),
    "train_classifier": MappingProxyType({"mem_mb": 1500, "runtime": 15}),
    "real_features": MappingProxyType({"mem_mb": 1500, "runtime": 30, "gpu": 0}),
    "train": MappingProxyType({"mem_mb": 1500, "runtime": 60, "gpu": 1}),
    "sample": MappingProxyType({"mem_mb": 1500, "runtime": 10, "gpu": 0}),
    "sample_real": MappingProxyType({"mem_mb": 1000, "runtime": 10}),
    "evaluate": MappingProxyType({"mem_mb": 4000, "runtime": 30, "gpu": 0}),
    "aggregate": MappingProxyType({"mem_mb": 1500, "runtime": 10}),
    "report": MappingProxyType({"mem_mb": 2000, "runtime": 15}),
})


# A TensorBoard sample grid every this many steps when the suite's budget does not say
# (budget.tensorboard_every; 0 turns the TensorBoard log off).
DEFAULT_TENSORBOARD_EVERY = 200


def load_suite(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"suite file {path} does not exist")
    with open(path) as f:
        suite = yaml.safe_load(f)
    if not isinstance(suite, dict):
        raise SuiteError(f"suite file {path} does not hold a mapping")
    return suite


SUITE_SCHEMA = Path(__file__).resolve().parent.parent / "config" / "suite.schema.yaml"


def load_checked_suite(path: Path | str, schema: Path | str = SUITE_SCHEMA) -> dict[str, Any]:
    """The suite of a file, checked at start in this order, each problem one line naming the
    file and the field: the schema (shapes and types), its name against the file's name (a
    copied file that kept another suite's name would write into that suite's results), then
    what only the code knows (`check_suite`)."""
    path = Path(path)
    suite = load_suite(path)
    try:
        check_schema(suite, schema)
        if suite["name"] != path.stem:
            raise SuiteError(f"name: {suite['name']!r} differs from the file name {path.stem!r}: "
                             f"name the suite after its file")
        check_suite(suite)
    except SuiteError as error:
        raise SuiteError(f"suite file {path}: {error}") from None
    return suite


def check_schema(suite: dict[str, Any], schema: Path | str = SUITE_SCHEMA) -> None:
    """The suite schema's verdict as one line: the first offending field and what is wrong."""
    import jsonschema

    with open(schema) as f:
        validator = jsonschema.Draft202012Validator(yaml.safe_load(f))
    error = jsonschema.exceptions.best_match(validator.iter_errors(suite))
    if error is not None:
        field = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) < 200 else error.message[:200] + " ..."
        raise SuiteError(f"{field}: {message}")


def check_suite(suite: dict[str, Any]) -> None:
    """Raise SuiteError for unknown models/datasets, impossible pairs, or bad per-model entries."""
    for i, name in enumerate(suite.get("models", [])):
        if is_floor(name):
            raise SuiteError(f"models[{i}]: {name!r} is the name of a real floor, not of a model")
        if name not in MODELS:
            raise SuiteError(f"models[{i}]: unknown model {name!r} (known: {', '.join(MODELS.names())})")
    for i, name in enumerate(suite.get("datasets", [])):
        if name not in DATASETS:
            raise SuiteError(f"datasets[{i}]: unknown dataset {name!r} "
                             f"(known: {', '.join(DATASETS.names())})")
    for model in suite.get("models", []):
        for dataset in suite.get("datasets", []):
            kind = DATASETS.get(dataset).kind
            if kind not in MODELS.get(model).data_kinds:
                raise SuiteError(f"models: {model!r} cannot train on {dataset!r} ({kind} data)")
    budget = suite.get("budget", {})
    for field in ("steps", "batch_size", "checkpoint_every"):
        if field in budget and (not isinstance(budget[field], int) or budget[field] < 1):
            raise SuiteError(f"budget.{field}: must be a positive integer, got {budget[field]!r}")
    every = budget.get("tensorboard_every", DEFAULT_TENSORBOARD_EVERY)
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise SuiteError(f"budget.tensorboard_every: must be an integer >= 0 (0: off), got {every!r}")
    for model, steps in budget.get("model_steps", {}).items():
        if model not in suite.get("models", []):
            raise SuiteError(f"budget.model_steps.{model}: {model!r} is not in this suite's models")
        if not isinstance(steps, int) or steps < 1:
            raise SuiteError(f"budget.model_steps.{model}: must be a positive integer, got {steps!r}")
    for model, overrides in suite.get("model_config", {}).items():
        if model not in MODELS:
            raise SuiteError(f"model_config.{model}: unknown model {model!r}")
        try:
            MODELS.get(model).resolve_config(overrides)
        except ValueError as error:
            raise SuiteError(f"model_config.{model}: {error}") from None
    check_real_sizes(suite)
    check_truncation(suite)
    check_truncation_sweep(suite)
    check_domain_tasks(suite)
    check_classifier(suite)
    check_toy_protocol(suite)
    check_resources(suite.get("resources", {}))
    check_gpus_per_job(suite)


def check_gpus_per_job(suite: dict[str, Any]) -> None:
    """gpus_per_job: a positive integer; the suite's batch size (the global one) must split into
    that many equal shares, and resources.train.gpu, when given, must agree with it."""
    gpus = suite.get("gpus_per_job", 1)
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise SuiteError(f"gpus_per_job: must be a positive integer, got {gpus!r}")
    batch_size = suite.get("budget", {}).get("batch_size")
    if isinstance(batch_size, int) and batch_size % gpus:
        raise SuiteError(f"gpus_per_job: budget.batch_size {batch_size} is the global minibatch and "
                         f"must split into {gpus} equal shares, one per process")
    asked = suite.get("resources", {}).get("train", {}).get("gpu")
    if gpus > 1 and asked is not None and asked != gpus:
        raise SuiteError(f"resources.train.gpu: {asked} disagrees with gpus_per_job {gpus} "
                         f"(leave it out: a job holds gpus_per_job GPUs)")


def check_real_sizes(suite: dict[str, Any]) -> None:
    """evaluation.n_real must fit in the real split (known for the registered datasets), so a
    suite does not fail in its evaluations after all of its training has run."""
    evaluation = suite.get("evaluation", {})
    n_real, split = evaluation.get("n_real"), evaluation.get("real_split")
    for dataset in suite.get("datasets", []):
        size = DATASETS.get(dataset).expected_sizes.get(split) if dataset in DATASETS else None
        if isinstance(n_real, int) and size is not None and n_real > size:
            raise SuiteError(f"evaluation.n_real: {n_real} real images asked for, the {split} split "
                             f"of {dataset} has {size}")


def check_truncation(suite: dict[str, Any]) -> None:
    """evaluation.truncation: null (off) or a positive number, for a suite with a model that
    samples truncated (the others are sampled untruncated, and their records say so)."""
    truncation = suite.get("evaluation", {}).get("truncation")
    if truncation is None:
        return
    if isinstance(truncation, bool) or not isinstance(truncation, numbers.Real) or truncation <= 0:
        raise SuiteError(f"evaluation.truncation: must be a positive number or null (off), "
                         f"got {truncation!r}")
    models = [m for m in suite.get("models", []) if m in MODELS]
    if not any(MODELS.get(m).supports_truncation for m in models):
        raise SuiteError(f"evaluation.truncation: none of this suite's models has truncated "
                         f"sampling ({', '.join(models)})")


def check_truncation_sweep(suite: dict[str, Any]) -> None:
    """evaluation.truncation_sweep: distinct positive numbers, the truncation values at which the
    models that sample truncated are sampled and evaluated again for the report's trade-off
    figure (their headline metrics keep evaluation.truncation, off by default)."""
    sweep = suite.get("evaluation", {}).get("truncation_sweep")
    if sweep is None:
        return
    field = "evaluation.truncation_sweep"
    if not isinstance(sweep, list) or not sweep:
        raise SuiteError(f"{field}: must be a non-empty list of positive numbers, got {sweep!r}")
    for i, value in enumerate(sweep):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
            raise SuiteError(f"{field}[{i}]: must be a positive number, got {value!r}")
    if len({float(v) for v in sweep}) != len(sweep):
        raise SuiteError(f"{field}: values must be distinct, got {sweep!r}")
    models = [m for m in suite.get("models", []) if m in MODELS]
    if not any(MODELS.get(m).supports_truncation for m in models):
        raise SuiteError(f"{field}: none of this suite's models has truncated sampling "
                         f"({', '.join(models)})")
    if not any(DATASETS.get(d).kind == "image" for d in suite.get("datasets", []) if d in DATASETS):
        raise SuiteError(f"{field}: the trade-off figure is drawn for image datasets; this suite has none")


def check_classifier(suite: dict[str, Any]) -> None:
    """evaluation.classifier: `source` (frozen, the default: the dataset's frozen evaluator where
    one exists; retrain: the train_classifier rule trains one), `recipe` (v2, v1) and recipe
    field overrides for a retrained classifier. Every other key, and an override that would be
    ignored because a dataset uses its frozen evaluator, is refused naming the key."""
    from gans.metrics.classifier import RECIPE_FIELDS, RECIPES, recipe_field_error
    from gans.metrics.evaluators import frozen_weights

    settings = suite.get("evaluation", {}).get("classifier")
    if settings is None:
        return
    field = "evaluation.classifier"
    if not isinstance(settings, dict):
        raise SuiteError(f"{field}: must be a mapping, got {settings!r}")
    known = ("source", "recipe", *RECIPE_FIELDS)
    for key in settings:
        if key not in known:
            raise SuiteError(f"{field}.{key}: unknown key, not honoured (known: {', '.join(known)})")
    source = settings.get("source", "frozen")
    if source not in ("frozen", "retrain"):
        raise SuiteError(f"{field}.source: must be frozen or retrain, got {source!r}")
    recipe = settings.get("recipe", "v2")
    if recipe not in RECIPES:
        raise SuiteError(f"{field}.recipe: unknown recipe {recipe!r} (known: {', '.join(RECIPES.names())})")
    for key, value in settings.items():
        if key in RECIPE_FIELDS:
            error = recipe_field_error(key, value)
            if error is not None:
                raise SuiteError(f"{field}.{key}: {error}")
    recipe_keys = [key for key in settings if key != "source"]
    frozen = [d for d in suite.get("datasets", []) if frozen_weights(d) is not None]
    if recipe_keys and source == "frozen" and frozen:
        raise SuiteError(f"{field}.{recipe_keys[0]}: recipe settings apply to a retrained classifier, "
                         f"and {', '.join(frozen)} would use its frozen evaluator: add "
                         f"{field}.source: retrain")


def check_toy_protocol(suite: dict[str, Any]) -> None:
    """evaluation.toy_protocol: a registered protocol, for a suite with toy data, generating the
    number of samples the protocol scores."""
    from gans.metrics.toy import TOY_PROTOCOLS

    evaluation = suite.get("evaluation", {})
    name = evaluation.get("toy_protocol")
    if name is None:
        return
    field = "evaluation.toy_protocol"
    if name not in TOY_PROTOCOLS:
        raise SuiteError(f"{field}: unknown protocol {name!r} (known: {', '.join(TOY_PROTOCOLS)})")
    if not any(DATASETS.get(d).kind == "points" for d in suite.get("datasets", []) if d in DATASETS):
        raise SuiteError(f"{field}: scores toy 2-D data; this suite has none")
    samples = TOY_PROTOCOLS[name].samples
    if samples is not None and evaluation.get("n_generated") != samples:
        raise SuiteError(f"evaluation.n_generated: the {name} protocol scores {samples} samples, "
                         f"got {evaluation.get('n_generated')}")


def toy_protocol_for(suite: dict[str, Any]) -> str:
    """The toy protocol the suite's point samples are scored under (the default when unnamed)."""
    from gans.metrics.toy import DEFAULT_TOY_PROTOCOL

    return suite.get("evaluation", {}).get("toy_protocol") or DEFAULT_TOY_PROTOCOL


def check_domain_tasks(suite: dict[str, Any]) -> None:
    """domain_tasks: every two-domain model of the suite -> a registered two-domain task; none
    for a model that trains on one domain."""
    tasks = suite.get("domain_tasks", {})
    for model, task in tasks.items():
        if model not in suite.get("models", []):
            raise SuiteError(f"domain_tasks.{model}: {model!r} is not in this suite's models")
        if not isinstance(task, str) or not task:
            raise SuiteError(f"domain_tasks.{model}: must be a task name, got {task!r}")
        if task not in DOMAIN_TASKS:
            raise SuiteError(f"domain_tasks.{model}: unknown task {task!r} "
                             f"(known: {', '.join(DOMAIN_TASKS.names())})")
    for model in suite.get("models", []):
        if model not in MODELS:
            continue
        two_domain = TASKS.get(MODELS.get(model).task).two_domain
        if two_domain and model not in tasks:
            raise SuiteError(f"domain_tasks.{model}: {model!r} trains on two domains: name its task "
                             f"({', '.join(DOMAIN_TASKS.names())})")
        if model in tasks and not two_domain:
            raise SuiteError(f"domain_tasks.{model}: {model!r} trains on one domain; a domain task "
                             f"does not apply")


def check_resources(resources: dict[str, Any]) -> None:
    """resources: rule name -> {mem_mb, runtime (minutes), gpu (train, sample, real_features,
    evaluate)}, positive integers (gpu: 0 or more)."""
    for rule, values in resources.items():
        if rule not in DEFAULT_RESOURCES:
            raise SuiteError(f"resources.{rule}: unknown rule {rule!r} "
                             f"(known: {', '.join(DEFAULT_RESOURCES)})")
        if not isinstance(values, dict):
            raise SuiteError(f"resources.{rule}: must be a mapping, got {values!r}")
        for name, value in values.items():
            if name not in DEFAULT_RESOURCES[rule]:
                raise SuiteError(f"resources.{rule}.{name}: unknown resource "
                                 f"(known for {rule}: {', '.join(DEFAULT_RESOURCES[rule])})")
            least = 0 if name == "gpu" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SuiteError(f"resources.{rule}.{name}: must be an integer >= {least}, "
                                 f"got {value!r}")


def steps_for(suite: dict[str, Any], model: str) -> int:
    return int(suite["budget"].get("model_steps", {}).get(model, suite["budget"]["steps"]))


def model_config_for(suite: dict[str, Any], model: str) -> dict[str, Any]:
    return dict(suite.get("model_config", {}).get(model, {}))


def rule_resources(suite: dict[str, Any], rule: str) -> dict[str, int]:
    """A rule's Snakemake resources: the defaults, overridden by the suite's resources block; a
    training job on several processes holds gpus_per_job GPUs."""
    resources = {**DEFAULT_RESOURCES[rule], **suite.get("resources", {}).get(rule, {})}
    if rule == "train" and gpus_per_job(suite) > 1:
        resources["gpu"] = gpus_per_job(suite)
    return resources


def rule_device(suite: dict[str, Any], rule: str, device: str) -> str:
    """The --device of a rule's jobs: the workflow's `device` setting (auto, cuda:N) for a rule
    that holds GPUs in its resources, else cpu, so a job never runs on a GPU that Snakemake's
    `--resources gpu=N` did not count."""
    return device if rule_resources(suite, rule).get("gpu", 0) > 0 else "cpu"


def gpus_per_job(suite: dict[str, Any]) -> int:
    """Processes (GPUs) per training job: 1 unless the suite says more."""
    return int(suite.get("gpus_per_job", 1))


def train_launcher(suite: dict[str, Any], python: str) -> str:
    """How the train rule starts `gans`: `python -m gans`, or through torchrun with one process
    per GPU when gpus_per_job is more than 1 (torchrun's standalone mode: a free local port)."""
    n = gpus_per_job(suite)
    if n == 1:
        return f"{python} -m gans"
    return f"{python} -m torch.distributed.run --standalone --nproc_per_node {n} -m gans"


def tensorboard_every(suite: dict[str, Any]) -> int:
    """Steps between TensorBoard sample grids (budget.tensorboard_every; 0: no TensorBoard log)."""
    return int(suite["budget"].get("tensorboard_every", DEFAULT_TENSORBOARD_EVERY))


def truncation_for(suite: dict[str, Any], model: str) -> Optional[float]:
    """The truncation this model's evaluation samples are drawn with; None: off (untruncated,
    also for a model without truncated sampling in a suite that asks for it)."""
    if not MODELS.get(model).supports_truncation:
        return None
    return suite["evaluation"].get("truncation")


def domain_task_for(suite: dict[str, Any], model: str) -> Optional[str]:
    """The two-domain task the suite gives this model, or None."""
    return suite.get("domain_tasks", {}).get(model)
