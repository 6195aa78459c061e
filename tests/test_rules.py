"""The rules as Snakemake reads them (dry runs and --lint, no job runs): suite resources reach
the jobs, Inception weights reach the report commands, and the lint stays clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gans.models import MODELS
from test_workflow import REPO, workflow_copy

SMOKE = yaml.safe_load((REPO / "benchmarks" / "smoke.yaml").read_text())


def snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(work)]))
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=work,
                          env=env, capture_output=True, text=True, timeout=300)


def dry_run(work: Path, suite: dict, *config: str) -> str:
    (work / f"{suite['name']}.yaml").write_text(yaml.safe_dump(suite))
    result = snakemake(work, "-n", "-p", "--config", f"suite_file={suite['name']}.yaml", *config)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout + result.stderr


def job_resources(output: str, rule: str) -> list[str]:
    """The `resources:` line of every planned job of a rule."""
    jobs = re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", output, flags=re.M | re.S)
    return [re.search(r"resources: (.*)", body).group(1) for name, body in jobs if name == rule]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return workflow_copy(tmp_path_factory.mktemp("rules"))


def test_suite_resources_reach_the_rules(work):
    suite = SMOKE | {"resources": {"train": {"mem_mb": 1234, "runtime": 77, "gpu": 0},
                                   "evaluate": {"mem_mb": 4321}}}
    output = dry_run(work, suite)
    train = job_resources(output, "train")
    assert len(train) == len(SMOKE["models"])
    assert all("runtime=77" in r and "gpu=0" in r and "mem_mb=1234" in r for r in train), train
    assert all("mem_mb=4321" in r for r in job_resources(output, "evaluate"))
    assert all("mem_mb=" in r and "runtime=" in r for r in job_resources(output, "sample_real"))


def test_a_bad_resource_stops_the_workflow_naming_the_field(work):
    (work / "bad.yaml").write_text(yaml.safe_dump(SMOKE | {"name": "bad", "resources": {"train": {"mem_mb": -1}}}))
    result = snakemake(work, "-n", "--config", "suite_file=bad.yaml")
    assert result.returncode != 0
    assert "suite file bad.yaml: resources.train.mem_mb: -1 is less than the minimum of 1" in result.stdout + result.stderr



def test_gpu_locks_stay_on_the_node_unless_the_config_names_a_base(work):
    """No --gpu-lock-dir by default (the job's node picks its temp dir); a configured base reaches
    every training command."""
    default = [line for line in dry_run(work, SMOKE).splitlines() if "-m gans train" in line]
    assert default and not any("--gpu-lock-dir" in line for line in default), default
    named = [line for line in dry_run(work, SMOKE, "gpu_lock_dir=/scratch/locks").splitlines()
             if "-m gans train" in line]
    assert named and all("--gpu-lock-dir /scratch/locks " in line for line in named), named


def commands_of(output: str, command: str) -> list[str]:
    return [line for line in output.splitlines() if f"-m gans {command} " in line]


def test_only_the_rules_that_hold_a_gpu_get_the_configured_device(work):
    """By default training gets `device` (auto) and the evaluation rules the CPU; a suite that
    gives sampling, real features and evaluation a GPU sends them to it, with its lock base."""
    output = dry_run(work, SMOKE)
    assert all("--device auto" in line for line in commands_of(output, "train"))
    for command in ("sample", "real-features", "evaluate"):
        lines = commands_of(output, command)
        assert lines and all("--device cpu" in line for line in lines), (command, lines)
    on_gpu = SMOKE | {"resources": {"train": {"gpu": 0}, "sample": {"gpu": 1},
                                    "real_features": {"gpu": 1}, "evaluate": {"gpu": 1}}}
    output = dry_run(work, on_gpu, "device=cuda:1", "gpu_lock_dir=/scratch/locks")
    assert all("--device cpu" in line and "--gpu-lock-dir" not in line
               for line in commands_of(output, "train"))
    for command in ("sample", "real-features", "evaluate"):
        lines = commands_of(output, command)
        assert lines and all("--device cuda:1 --gpu-lock-dir /scratch/locks" in line for line in lines), lines
    for rule in ("sample", "evaluate", "real_features"):
        assert all("gpu=1" in r for r in job_resources(output, rule)), rule


def test_inception_weights_reach_the_evaluations_and_the_report_commands(work):
    output = dry_run(work, SMOKE, "inception={'weights': 'weights/inception.pth'}")
    assert "results/smoke/metrics/fashion-mnist/inception-v3-compat/gan/seed0.json" in output
    assert re.search(r"-m gans aggregate .*--inception", output)
    assert re.search(r"-m gans report .*--inception", output)
    plain = dry_run(work, SMOKE)
    assert "inception-v3-compat" not in plain and "--inception" not in plain


def test_lint_leaves_only_the_explained_software_lint(work):
    result = snakemake(work, "--lint", "--config", "suite=smoke")
    titles = re.findall(r"^\s+\* (.*):$", result.stdout + result.stderr, flags=re.M)
    # the one lint left on purpose, explained in rules/common.smk: no conda/container per rule
    assert set(titles) == {"Specify a conda environment or container for each rule."}, titles


STAND_INS = '''"""Stand-ins registered from outside the package: a DCGAN that samples truncated and
one evaluated as a coupled pair, so the rules' wiring is tested before such models exist."""
from gans.models.base import MODELS
from gans.models.dcgan import DCGAN


@MODELS.register("dcgan-truncated")
class TruncatedDCGAN(DCGAN):
    supports_truncation = True


@MODELS.register("dcgan-pairs")
class PairsDCGAN(DCGAN):
    task = "coupled"
'''


NO_SWEEP = SMOKE | {"evaluation": {k: v for k, v in SMOKE["evaluation"].items() if k != "truncation_sweep"}}
TRUNCATING = {m for m in SMOKE["models"] if MODELS.get(m).supports_truncation} | {"dcgan-truncated"}


def test_sample_and_train_get_source_data_truncation_and_domain_task(work):
    (work / "stand_ins.py").write_text(STAND_INS)
    suite = NO_SWEEP | {"models": SMOKE["models"] + ["dcgan-truncated", "dcgan-pairs"],
                        "domain_tasks": SMOKE["domain_tasks"] | {"dcgan-pairs": "edges"}}
    suite["evaluation"] = NO_SWEEP["evaluation"] | {"truncation": 0.7}
    commands = [line for line in dry_run(work, suite, "model_plugins=[stand_ins]").splitlines()
                if "-m gans " in line]
    sample = {re.search(r"--run-dir \S+/(\w[\w-]*)/seed0", c).group(1): c
              for c in commands if "-m gans sample " in c}
    train = {re.search(r"--model (\S+)", c).group(1): c for c in commands if "-m gans train " in c}
    assert set(sample) == set(train) == set(suite["models"])
    for model, command in sample.items():
        assert "--source-data results/data/fashion-mnist/test.pt" in command
        assert ("--truncation 0.7" in command) == (model in TRUNCATING)
        task = suite["domain_tasks"].get(model)
        assert ("--domain-task" in command) == (task is not None)
        assert ("--domain-task" in train[model]) == (task is not None)
        assert task is None or f"--domain-task {task}" in command and f"--domain-task {task}" in train[model]
    plain = dry_run(work, NO_SWEEP | {"models": [m for m in SMOKE["models"] if m not in SMOKE["domain_tasks"]],
                                      "domain_tasks": {}})
    assert "--truncation" not in plain and "--domain-task" not in plain
    assert "--source-data results/data/fashion-mnist/test.pt" in plain  # always: sampling's real split


def test_the_truncation_sweep_samples_and_evaluates_truncating_models_at_each_value(work):
    (work / "stand_ins.py").write_text(STAND_INS)
    suite = SMOKE | {"models": SMOKE["models"] + ["dcgan-truncated"], "seeds": [0, 1]}
    suite["evaluation"] = SMOKE["evaluation"] | {"truncation_sweep": [0.5, 2]}
    output = dry_run(work, suite, "model_plugins=[stand_ins]")
    swept = re.findall(r"-m gans sample --run-dir \S+/([\w-]+)/seed(\d) .*--out "
                       r"results/smoke/truncation/samples/fashion-mnist/\1/truncation(\S+)/seed\2\.pt "
                       r".*--truncation (\S+) ", output)
    expected = {(m, s, t, t) for m in TRUNCATING for s in "01" for t in ("0.5", "2")}
    assert set(swept) == expected and len(swept) == len(expected)
    evaluated = set(re.findall(r"--out results/smoke/truncation/metrics/fashion-mnist/classifier/"
                               r"([\w-]+)/truncation(\S+)/seed(\d)\.json", output))
    assert evaluated == {(m, t, s) for m in TRUNCATING for s in "01" for t in ("0.5", "2")}
    headline = [c for c in output.splitlines() if "-m gans sample " in c and "/truncation/" not in c]
    assert headline and not any("--truncation" in c for c in headline)  # headline: untruncated


def test_two_domain_models_are_evaluated_against_their_domains_with_their_floors(work):
    assert SMOKE["domain_tasks"] == {"cogan": "edges", "cyclegan": "sneaker-boot"}
    commands = [line for line in dry_run(work, SMOKE).splitlines() if "-m gans " in line]
    evaluate = {re.search(r"--out \S+/classifier/(\S+)/seed0\.json", c).group(1): c
                for c in commands if "-m gans evaluate " in c}
    features = "results/real-features/fashion-mnist/classifier"
    assert f"--real {features}/sneaker-boot-b/test-n256.pt" in evaluate["cyclegan"]
    assert f"--domain-real a={features}/sneaker-boot-a/test-n256.pt" in evaluate["cyclegan"]
    assert f"--real {features}/edges-a/test-n256.pt" in evaluate["cogan"]
    assert f"--domain-real b={features}/edges-b/test-n256.pt" in evaluate["cogan"]
    for floor, model in (("real-coupled-edges", "cogan"), ("real-translation-sneaker-boot", "cyclegan")):
        assert evaluate[floor].split("--real ")[1].split()[0] == evaluate[model].split("--real ")[1].split()[0]
        assert "--source-data results/data/fashion-mnist/test.pt" in evaluate[floor]
    for model in ("gan", "real"):
        assert "--domain-real" not in evaluate[model] and "--source-data" not in evaluate[model]
        assert f"--real {features}/test-n256.pt" in evaluate[model]
    domain_features = [c for c in commands if "-m gans real-features" in c and "--domain-task" in c]
    assert len(domain_features) == 4
    floors = [c for c in commands if "-m gans sample-real" in c and "--domain-task" in c]
    assert {re.search(r"--task (\S+)", c).group(1) for c in floors} == {"coupled", "translation"}


FROZEN = "gans/metrics/evaluators/classifier-fashion-mnist-v2.pt"


def planned_rules(output: str) -> list[str]:
    return re.findall(r"^rule (\w+):$", output, flags=re.M)


def test_the_frozen_evaluator_is_the_default_and_nothing_retrains_it(work):
    commands = [line for line in dry_run(work, NO_SWEEP).splitlines() if "-m gans " in line]
    features = [c for c in commands if "-m gans real-features" in c and "--extractor classifier" in c]
    evaluations = [c for c in commands if "-m gans evaluate " in c and "--extractor classifier" in c]
    assert features and evaluations
    for command in features + evaluations:
        path = re.search(r"--classifier (\S+)", command).group(1)
        assert path.endswith(FROZEN) and Path(path).is_file(), command
    for command in features:  # the accuracy is measured again on the test split
        assert "--classifier-test results/data/fashion-mnist/test.pt" in command
    assert not any("-m gans train-classifier" in c for c in commands)
    assert "train_classifier" not in planned_rules(dry_run(work, NO_SWEEP))


def test_a_suite_can_retrain_the_classifier_with_its_own_recipe(work):
    suite = NO_SWEEP | {"evaluation": NO_SWEEP["evaluation"] | {
        "classifier": {"source": "retrain", "epochs": 5, "min_accuracy": 0.85}}}
    output = dry_run(work, suite)
    assert planned_rules(output).count("train_classifier") == 1
    commands = [line for line in output.splitlines() if "-m gans " in line]
    (train,) = [c for c in commands if "-m gans train-classifier" in c]
    assert "--recipe v2 --set epochs=5 --set min_accuracy=0.85" in train
    assert "--out results/extractors/classifier-fashion-mnist.pt" in train
    used = [c for c in commands if ("-m gans real-features" in c or "-m gans evaluate " in c)
            and "--extractor classifier" in c]
    assert used and all("--classifier results/extractors/classifier-fashion-mnist.pt" in c for c in used)
    assert FROZEN not in output
