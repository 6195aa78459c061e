"""The fault matrix: kill -9, a full disk, two workflows at once.

Fault tried                              What happens now (each row is a test below)
---------------------------------------  -------------------------------------------------------
kill -9 of `train` right after its 1st,  No status.json; the checkpoints on disk are whole (their
2nd or 3rd checkpoint                    digests match). The rerun resumes from the newest one:
                                         final.pt byte-identical to an uninterrupted run,
                                         losses.csv identical but for wall_s, status.json but
                                         for its timing block.
kill -9 of `train` while a checkpoint    Nothing under the checkpoint's name (only its
is written (temp file complete, not      `.step….part.pt`); the rerun resumes from the one
renamed)                                 before and ends the same.
kill -9 of `train` after its last step,  Same: resumed from the last checkpoint, same outputs.
before any output
kill -9 of `train` between final.pt and  final.pt is whole (equal to the uninterrupted one), no
losses.csv                               status.json, so the job counts as unfinished; the rerun
                                         ends the same.
kill -9 of `sample` after generating,    Only whole files under final names (none, or the
before the samples file's rename, or     samples file equal to the uninterrupted one); the
between samples file and grid            rerun's samples .pt and grid .png are byte-identical.
kill -9 of `evaluate` before features,   No metrics file; the rerun's JSON is identical but for
before metrics, or before the JSON's     its timing block.
rename
kill -9 of `report` at its first file,   No README.md (written last); every file present equals
halfway, or before README.md             the uninterrupted report's; the rerun's tables and
                                         figures are byte-identical.
disk full (ENOSPC, half the bytes        `train` exits 1 with one line: "[train] FAILED: could
written) while writing a checkpoint      not write …/step00000004.pt (N MiB free there): [Errno
                                         28] No space left on device …; nothing was written
                                         under that name". No file under that name, no temp
                                         file, no outputs; the rerun resumes from step 2 and
                                         ends the same.
disk full while writing a metrics JSON   `evaluate` exits 1 with the same kind of line; no file,
                                         no temp file; the rerun's record is the same.
two `snakemake --config suite=smoke` at  The second stops at once: "Directory cannot be locked
once on one directory                    ... It can be removed with the --unlock argument"; the
                                         first one's job goes on (README: Troubleshooting).

Before: a full disk under torch.save raised torch's "[enforce fail at inline_container.cc:672]
. unexpected pos 704 vs 598" (measured with a file-size limit), naming neither file nor cause;
gans.io.write_atomic now names both.

Kills: the job runs in a subprocess that stops at an exact point (a call, or the atomic rename
of a named file, gans.io.write_atomic) and prints a line; the test then sends SIGKILL from
outside, so the process gets no chance to clean up, as with `kill -9` at that moment. The rerun
is the same command, run here. Timing values live apart ("timing" in status.json and in the
metrics JSON, the wall_s column of losses.csv), and the comparisons leave out exactly those.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch
import yaml

from conftest import make_prepared
from gans.cli import main
from gans.io import load_torch, verified
from gans.layout import ResultsLayout
from test_workflow import link_prepared_data, snakemake_command, workflow_copy

REPO = Path(__file__).resolve().parent.parent
SUITE, DATASET, MODEL, SEED = "faults", "synthetic", "dcgan", 3
STEPS, CHECKPOINT_EVERY, N_SAMPLES = 8, 2, 200
SMALL = {"ngf": 8, "ndf": 8, "z_dim": 16}
TIMING = "timing"  # the one field of status.json and metrics files that differs between runs

# `python -c RUNNER POINT NAME ARGV...`: `python -m gans ARGV...` that stops at the fault point.
# POINT "call": NAME is module:function, stopped when first called (nothing written by then);
# "before" / "after": the atomic rename of the file named NAME into place (its temporary file
# complete, or the file itself in place).
RUNNER = r"""
import importlib, os, sys, time

point, name, argv = sys.argv[1], sys.argv[2], sys.argv[3:]


def stop():
    print("FAULT POINT REACHED", flush=True)
    time.sleep(300)  # killed here by the test


if point == "call":
    module, function = name.split(":")
    setattr(importlib.import_module(module), function, lambda *args, **kwargs: stop())
else:
    rename = os.replace

    def replace(src, dst, *args, **kwargs):
        if point == "before" and os.path.basename(dst) == name:
            stop()
        rename(src, dst, *args, **kwargs)
        if point == "after" and os.path.basename(dst) == name:
            stop()

    os.replace = replace

from gans.cli import main
sys.exit(main(argv))
"""


def kill_at(point: str, name: str, argv: list[str]) -> str:
    """Run the command until the fault point, SIGKILL it there; its output."""
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, point, name, *argv], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines, reached = [], False
    try:
        for line in iter(proc.stdout.readline, ""):
            lines.append(line)
            if line.startswith("FAULT POINT REACHED"):
                reached = True
                os.killpg(proc.pid, signal.SIGKILL)
                break
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = "".join(lines)
    assert reached, f"never reached {point} {name}:\n{output[-3000:]}"
    assert returncode == -signal.SIGKILL
    return output


# --------------------------------------------------------------------------- files and comparisons
def files_under(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def temporary_files(*folders: Path) -> list[str]:
    """Files that write_atomic leaves only when killed between writing and renaming."""
    return [p.name for folder in folders if folder.is_dir() for p in folder.rglob(".*.part*")]


def without_timing(path: Path) -> Any:
    """A JSON record without its timing block; a CSV without its wall_s column."""
    if path.suffix == ".json":
        return {k: v for k, v in json.loads(path.read_text()).items() if k != TIMING}
    rows = [line.split(",") for line in path.read_text().splitlines()]
    assert rows[0][1] == "wall_s"
    return [row[:1] + row[2:] for row in rows]


def assert_same_outputs(folder: Path, reference: Path) -> None:
    """Every file of `reference` is in `folder` with the same content (timing fields aside)."""
    ours, theirs = files_under(folder), files_under(reference)
    assert ours.keys() == theirs.keys()
    for name, path in theirs.items():
        if path.suffix in (".json", ".csv"):
            assert without_timing(ours[name]) == without_timing(path), name
        else:
            assert ours[name].read_bytes() == path.read_bytes(), name


def assert_whole_or_absent(folder: Path, reference: Path) -> None:
    """After a kill: what is under a final name equals the uninterrupted run's file."""
    for name, path in files_under(folder).items():
        if path.name.startswith("."):
            continue
        assert name in files_under(reference), f"{name} exists after the kill, not in the reference"
        if path.suffix in (".json", ".csv"):
            assert without_timing(path) == without_timing(reference / name), name
        else:
            assert path.read_bytes() == (reference / name).read_bytes(), name


def assert_checkpoints_whole(folder: Path) -> None:
    for path in folder.glob("step*.pt"):
        verified(load_torch(path), path)  # raises on a partial or corrupt checkpoint


# --------------------------------------------------------------------------- the uninterrupted runs
class Reference:
    """One tiny suite run uninterrupted through every command, and the command lines."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = ResultsLayout.for_suite(str(root / "results"), str(root / "reports"), SUITE)
        self.train_data = make_prepared(Path(self.layout.data_file(DATASET, "train")))
        self.test_data = make_prepared(Path(self.layout.data_file(DATASET, "test")), seed=1)
        self.run_dir = Path(self.layout.run_dir(DATASET, MODEL, SEED))
        self.samples = Path(self.layout.samples_file(DATASET, MODEL, SEED))
        self.metrics = Path(self.layout.metrics_file(DATASET, "classifier", MODEL, SEED))
        self.classifier = Path(self.layout.classifier_weights(DATASET))
        self.real = Path(self.layout.real_features(DATASET, "classifier", "test", N_SAMPLES))
        self.store = Path(self.layout.store_file())
        self.report_dir = Path(self.layout.report_dir)
        self.suite_file = root / "benchmarks" / f"{SUITE}.yaml"
        self.suite_file.parent.mkdir(parents=True)
        self.suite_file.write_text(yaml.safe_dump({
            "name": SUITE, "datasets": [DATASET], "models": [MODEL], "seeds": [SEED],
            "budget": {"steps": STEPS, "batch_size": 16, "checkpoint_every": CHECKPOINT_EVERY},
            "evaluation": {"n_generated": N_SAMPLES, "n_real": N_SAMPLES, "real_split": "test",
                           "extractors": ["classifier"]}}))

    def train(self, out_dir: Path, checkpoint_dir: Path) -> list[str]:
        return ["train", "--model", MODEL, "--data", str(self.train_data),
                "--out-dir", str(out_dir), "--checkpoint-dir", str(checkpoint_dir), "--seed", str(SEED), "--steps", str(STEPS),
                "--batch-size", "16", "--checkpoint-every", str(CHECKPOINT_EVERY),
                "--model-config", json.dumps(SMALL), "--suite", SUITE, "--device", "cpu"]

    def sample(self, out_dir: Path) -> list[str]:
        return ["sample", "--run-dir", str(self.run_dir), "--n", str(N_SAMPLES), "--suite", SUITE,
                "--seed", str(SEED), "--out", str(out_dir / self.samples.name),
                "--grid", str(out_dir / self.samples.with_suffix(".png").name)]

    def evaluate(self, out_dir: Path) -> list[str]:
        return ["evaluate", "--samples", str(self.samples), "--real", str(self.real),
                "--extractor", "classifier", "--classifier", str(self.classifier),
                "--out", str(out_dir / self.metrics.name)]

    def report(self, out_dir: Path) -> list[str]:
        return ["report", "--suite-file", str(self.suite_file), "--results", self.layout.suite_dir,
                "--out", str(out_dir), "--store", str(self.store)]

    def build(self) -> None:
        run_all([
            self.train(self.run_dir, Path(self.layout.checkpoint_dir(DATASET, MODEL, SEED))),
            ["train-classifier", "--train", str(self.train_data), "--test", str(self.test_data),
             "--out", str(self.classifier), "--info", self.layout.classifier_info(DATASET),
             "--epochs", "1", "--min-accuracy", "0.5"],
            ["real-features", "--data", str(self.test_data), "--extractor", "classifier",
             "--classifier", str(self.classifier), "--n", str(N_SAMPLES), "--out", str(self.real)],
            self.sample(self.samples.parent),
            self.evaluate(self.metrics.parent),
            ["aggregate", "--suite-file", str(self.suite_file), "--results", self.layout.suite_dir,
             "--out", str(self.store)],
            self.report(self.report_dir),
        ])


def run_all(commands: list[list[str]]) -> None:
    for argv in commands:
        assert main(argv) == 0, argv


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    reference = Reference(tmp_path_factory.mktemp("faults"))
    reference.build()
    return reference


# --------------------------------------------------------------------------- kill -9
def checkpoint_name(step: int) -> str:
    return f"step{step:08d}.pt"


@pytest.mark.parametrize("point, name", [
    ("after", checkpoint_name(2)),           # right after the first checkpoint
    ("after", checkpoint_name(4)),           # the second
    ("after", checkpoint_name(6)),           # the third (the last: step 8 is the final step)
    ("before", checkpoint_name(4)),          # the second written, not yet renamed
    ("call", "gans.train:write_outputs"),    # every step done, nothing written
    ("before", "losses.csv"),                # final.pt written, losses.csv and status.json not
])
def test_train_killed_then_rerun_equals_the_uninterrupted_run(ref: Reference, tmp_path: Path,
                                                              point: str, name: str) -> None:
    out, checkpoints = tmp_path / "run", tmp_path / "checkpoints"
    kill_at(point, name, ref.train(out, checkpoints))
    assert not (out / "status.json").exists()
    assert_whole_or_absent(out, ref.run_dir)
    assert_checkpoints_whole(checkpoints)
    assert main(ref.train(out, checkpoints)) == 0
    assert_same_outputs(out, ref.run_dir)
    assert temporary_files(out, checkpoints) == []


@pytest.mark.parametrize("point, name", [
    ("call", "gans.sampling:quantize_to_uint8"),  # the networks ran, nothing written
    ("before", "seed3.pt"),                       # samples written, not yet renamed
    ("after", "seed3.pt"),                        # samples in place, the grid not written
])
def test_sample_killed_then_rerun_equals_the_uninterrupted_run(ref: Reference, tmp_path: Path,
                                                               point: str, name: str) -> None:
    kill_at(point, name, ref.sample(tmp_path))
    assert_whole_or_absent(tmp_path, ref.samples.parent)
    assert main(ref.sample(tmp_path)) == 0
    assert_same_outputs(tmp_path, ref.samples.parent)
    assert temporary_files(tmp_path) == []


@pytest.mark.parametrize("point, name", [
    ("call", "gans.metrics.extractors:extract_features"),  # samples loaded, no features yet
    ("call", "gans.metrics.evaluate:image_metrics"),       # features extracted, no metrics yet
    ("before", "seed3.json"),                              # the record written, not yet renamed
])
def test_evaluate_killed_then_rerun_equals_the_uninterrupted_run(ref: Reference, tmp_path: Path,
                                                                 point: str, name: str) -> None:
    kill_at(point, name, ref.evaluate(tmp_path))
    assert not (tmp_path / "seed3.json").exists()
    assert main(ref.evaluate(tmp_path)) == 0
    assert_same_outputs(tmp_path, ref.metrics.parent)
    assert temporary_files(tmp_path) == []


@pytest.mark.parametrize("point, name", [
    ("before", "results-synthetic-classifier.md"),  # the first file, not yet renamed
    ("after", "training-curves-synthetic.png"),     # about half the report written
    ("before", "README.md"),                        # everything but the index
])
def test_report_killed_then_rerun_equals_the_uninterrupted_run(ref: Reference, point: str,
                                                               name: str) -> None:
    # beside the reference report, so that its links to the results read the same
    out = ref.root / f"reports-{point}-{name}" / SUITE
    kill_at(point, name, ref.report(out))
    assert not (out / "README.md").exists()
    assert_whole_or_absent(out, ref.report_dir)
    assert main(ref.report(out)) == 0
    assert_same_outputs(out, ref.report_dir)
    assert temporary_files(out) == []


# --------------------------------------------------------------------------- a full disk
def fill_disk_on(monkeypatch: pytest.MonkeyPatch, target: object, attribute: str,
                 file_prefix: str) -> None:
    """`target.attribute(obj_or_text, file)` writes half of its bytes and fails with ENOSPC when
    the file's name starts with `file_prefix` (write_atomic's temporary file)."""
    real = getattr(target, attribute)

    def half_then_full(*args: Any, **kwargs: Any) -> Any:
        if attribute == "save":  # torch.save(obj, path)
            obj, path = args[0], Path(args[1])
            if not path.name.startswith(file_prefix):
                return real(*args, **kwargs)
            buffer = io.BytesIO()
            real(obj, buffer)
            data = buffer.getvalue()
        else:  # Path.write_text(self, text)
            path, text = args[0], args[1]
            if not path.name.startswith(file_prefix):
                return real(*args, **kwargs)
            data = text.encode()
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(target, attribute, half_then_full)


def test_disk_full_while_writing_a_checkpoint(ref: Reference, tmp_path: Path, capsys,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out, checkpoints = tmp_path / "run", tmp_path / "checkpoints"
    fill_disk_on(monkeypatch, torch, "save", "." + checkpoint_name(4))
    assert main(ref.train(out, checkpoints)) == 1
    error = capsys.readouterr().err
    assert f"[train] FAILED: could not write {checkpoints / checkpoint_name(4)}" in error
    assert "No space left on device" in error and "nothing was written under that name" in error
    assert sorted(p.name for p in checkpoints.iterdir()) == [checkpoint_name(2)]
    assert not out.exists() or list(out.iterdir()) == []
    monkeypatch.undo()
    assert main(ref.train(out, checkpoints)) == 0
    assert "resumed from step 2" in capsys.readouterr().out
    assert_same_outputs(out, ref.run_dir)
    assert temporary_files(out, checkpoints) == []


def test_disk_full_while_writing_a_metrics_file(ref: Reference, tmp_path: Path, capsys,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fill_disk_on(monkeypatch, Path, "write_text", ".seed3.json")
    assert main(ref.evaluate(tmp_path)) == 1
    error = capsys.readouterr().err
    assert f"[evaluate] FAILED: could not write {tmp_path / 'seed3.json'}" in error
    assert "No space left on device" in error
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert main(ref.evaluate(tmp_path)) == 0
    assert_same_outputs(tmp_path, ref.metrics.parent)


# --------------------------------------------------------------------------- two workflows at once
# A model whose training waits, so that the first workflow is surely inside a job (holding its
# lock) when the second one starts.
SLEEPY_PLUGIN = '''"""DCGAN that sleeps in its first step."""
import time
from pathlib import Path

from gans.models.base import MODELS
from gans.models.dcgan import DCGAN


@MODELS.register("sleepy")
class Sleepy(DCGAN):
    def train_step(self, batch, progress):
        Path("sleepy-started").touch()
        time.sleep(300)
        return super().train_step(batch, progress)
'''


@pytest.fixture
def sleepy_workflow(tmp_path: Path, fashion_mnist_dir: Path) -> Iterator[Path]:
    work = workflow_copy(tmp_path)
    link_prepared_data(work, fashion_mnist_dir)
    (work / "sleepy_plugin.py").write_text(SLEEPY_PLUGIN)
    path = work / "benchmarks" / "smoke.yaml"
    suite = yaml.safe_load(path.read_text())
    suite["models"], suite["model_config"] = ["sleepy"], {"sleepy": {"ngf": 8, "ndf": 8}}
    suite["evaluation"].pop("truncation_sweep", None)  # no model of this suite samples truncated
    suite.pop("domain_tasks", None)                     # nor trains on two domains
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return work


def test_second_workflow_on_the_same_directory_stops(sleepy_workflow: Path) -> None:
    work = sleepy_workflow
    # one core: the sleepy training job (highest priority) runs alone
    cmd, env = snakemake_command(work, "suite=smoke", "--cores", "1", plugins=("sleepy_plugin",))
    first = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 240
        while not (work / "sleepy-started").exists():
            assert first.poll() is None, "the first workflow ended before its job started"
            assert time.time() < deadline, "the first workflow's job did not start"
            time.sleep(0.2)
        # were the directory not locked, the second would sleep in the same job: time it out
        cmd, env = snakemake_command(work, "suite=smoke", plugins=("sleepy_plugin",))
        second = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=150)
        assert first.poll() is None, "the first workflow must still be running"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    output = second.stdout + second.stderr
    assert second.returncode != 0
    assert "Directory cannot be locked" in output and "--unlock" in output, output[-2000:]
    assert not (work / "results" / "smoke" / "runs" / "fashion-mnist" / "sleepy" / "seed0"
                / "status.json").exists()
