"""One training job on several processes, on the CPU with the gloo backend (no GPU needed).

Two processes with the global batch 2b take the first step of one process with batch 2b (to
float tolerance), for a model with one D step and one with several; every optimizer step sees
the same averaged gradients on both processes, also for models that train through their
networks' parts (StyleGAN) and start new optimizers as they grow; a 2-process run is killed
after a checkpoint, resumes and ends as an uninterrupted one; the suite's gpus_per_job reaches
the train rule; and DistributedDataParallel, which the loop does not use, is shown to leave two
kinds of gradients the variants compute unaveraged. The jobs are started by torchrun (python -m torch.distributed.run), as the
train rule starts them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import make_prepared
from gans.data import BatchStream, load_prepared
from gans.distributed import SINGLE_PROCESS, Ranks
from gans.models import build_model
from gans.spec import DataSpec
from gans.suite import SuiteError, check_suite, load_suite, rule_resources
from gans.train import TrainSettings, load_trained, run_identity, validate_settings
from test_rules import dry_run, job_resources
from test_workflow import workflow_copy

REPO = Path(__file__).resolve().parent.parent
SMOKE = load_suite(REPO / "benchmarks" / "smoke.yaml")

# `python RUNNER OUT ARGV...`: `python -m gans ARGV...` that saves, per process, the gradients
# every optimizer step applied (after the averaging across processes) to OUT/grads-<rank>.pt.
RUNNER = r"""
import os, sys, torch
from torch.optim.optimizer import register_optimizer_step_post_hook

out, argv = sys.argv[1], sys.argv[2:]
steps = []
register_optimizer_step_post_hook(lambda opt, args, kwargs: steps.append(
    [p.grad.clone() for group in opt.param_groups for p in group["params"] if p.grad is not None]))
from gans.cli import main
code = main(argv)
torch.save(steps, os.path.join(out, "grads-" + os.environ.get("RANK", "single") + ".pt"))
sys.exit(code)
"""

# A critic with several updates per G step and nothing per-sample random but the latents: MLPs,
# no batch statistics, the Wasserstein losses, plain SGD.
MLP_CRITIC_PLUGIN = '''"""Several critic steps per G step, MLP networks without batch statistics."""
import math

import torch
from torch import nn

from gans.models.base import MODELS
from gans.models.critic import CriticGAN
from gans.nn.losses import wasserstein_critic_loss


def mlp_networks(spec, c):
    pixels = math.prod(spec.sample_shape)
    G = nn.Sequential(nn.Linear(c["z_dim"], 32), nn.ReLU(), nn.Linear(32, pixels), nn.Tanh(),
                      nn.Unflatten(1, spec.sample_shape))
    D = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1),
                      nn.Flatten(0))
    return G, D


@MODELS.register("mlp-critic")
class MLPCritic(CriticGAN):
    defaults = {"z_dim": 8, "n_critic": 3, "lr": 0.01}
    network_builders = {"image": mlp_networks}

    def optimizer(self, network):
        return lambda params: torch.optim.SGD(params, lr=self.config["lr"])

    def critic_loss(self, real, fake):
        loss = wasserstein_critic_loss(self.D(real.x), self.D(fake))
        return loss, [loss]
'''

NO_DROPOUT_GAN = {"g_hidden": 32, "d_units": 16, "d_pieces": 2, "d_input_dropout": 0.0,
                  "d_hidden_dropout": 0.0, "z_dim": 8}
SMALL_DCGAN = {"ngf": 8, "ndf": 8, "z_dim": 16}


def torchrun(nproc: int, *argv: str) -> list[str]:
    """The command line of a job of `nproc` processes, as the train rule starts it."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(nproc), *argv]


def environment(plugins: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in (REPO, plugins) if p))
    if plugins is not None:
        env["GANS_MODEL_PLUGINS"] = "mlp_critic_plugin"
    return env


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def train_args(data: Path, out: Path, model: str, config: dict, steps: int, batch_size: int,
               **options: object) -> list[str]:
    args = ["train", "--model", model, "--data", str(data), "--out-dir", str(out / "run"),
            "--checkpoint-dir", str(out / "ckpt"), "--seed", "3", "--steps", str(steps),
            "--batch-size", str(batch_size), "--model-config", json.dumps(config), "--device", "cpu",
            "--log-every", "1000"]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


@pytest.fixture
def runner(tmp_path: Path) -> tuple[Path, Path]:
    """The gradient-recording runner and a folder with the test's model plugin."""
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "mlp_critic_plugin.py").write_text(MLP_CRITIC_PLUGIN)
    return tmp_path / "runner.py", tmp_path / "plugins"


def recorded(folder: Path, rank: str) -> list[list[torch.Tensor]]:
    return torch.load(folder / f"grads-{rank}.pt")


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("model, config", [
    ("gan", NO_DROPOUT_GAN),         # one D step, then one G step on fresh latents
    ("mlp-critic", {"n_critic": 3}),  # three critic steps, each on its own global minibatch
])
def test_two_processes_take_the_first_step_of_one_process_with_the_whole_batch(
        tiny_data: Path, tmp_path: Path, runner: tuple[Path, Path], model: str, config: dict) -> None:
    """2 processes x batch 8 (the suite's global batch 16) == 1 process x batch 16: the same
    gradients at every optimizer step of the first G step, and the same logged losses. The
    models have no batch statistics (BatchNorm's would be per process) and draw nothing at
    random per sample but the latents (GAN's dropout is set to 0)."""
    script, plugins = runner
    env = environment(plugins)
    single, double = tmp_path / "single", tmp_path / "double"
    for folder in (single, double):
        folder.mkdir()
    run([sys.executable, str(script), str(single), *train_args(tiny_data, single, model, config, 1, 16)], env)
    run(torchrun(2, str(script), str(double), *train_args(tiny_data, double, model, config, 1, 16)), env)

    one, rank0, rank1 = recorded(single, "single"), recorded(double, "0"), recorded(double, "1")
    assert len(one) == len(rank0) == len(rank1) == config.get("n_critic", 1) + 1  # D steps, G step
    for step, (expected, first, second) in enumerate(zip(one, rank0, rank1)):
        scale = max(g.abs().max().item() for g in expected)
        for g_one, g_rank0, g_rank1 in zip(expected, first, second, strict=True):
            assert torch.equal(g_rank0, g_rank1), f"optimizer step {step}: the processes differ"
            torch.testing.assert_close(g_rank0, g_one, rtol=1e-4, atol=1e-4 * scale)
    losses = [(folder / "run" / "losses.csv").read_text().splitlines() for folder in (single, double)]
    header, row_one, row_two = losses[0][0].split(","), losses[0][1].split(","), losses[1][1].split(",")
    for name, a, b in zip(header[2:], row_one[2:], row_two[2:]):  # the mean over the processes
        assert float(b) == pytest.approx(float(a), rel=1e-5, abs=1e-6), name
    status = json.loads((double / "run" / "status.json").read_text())
    assert status["world_size"] == 2 and status["batch_size"] == 16 and status["images_seen"] == 16 * len(one[:-1])


@pytest.mark.parametrize("model, config", [
    # trains through G.mapping and G.synthesize, R1 through autograd.grad, grows from 8 px
    ("stylegan", {"z_dim": 8, "w_dim": 8, "mapping_width": 8, "mapping_layers": 2, "fmap_base": 32,
                  "fmap_max": 8, "stable_images": 32, "fade_images": 32}),
    # a gradient penalty, the critic frozen in the G step, grows from 4 px
    ("progan", {"z_dim": 8, "fmap_base": 32, "fmap_max": 8, "stable_images": 32, "fade_images": 32}),
])
def test_every_optimizer_step_averages_the_gradients_of_both_processes(
        tiny_data: Path, tmp_path: Path, runner: tuple[Path, Path], model: str, config: dict) -> None:
    """Through phase changes, where growing models start new optimizers: at every step both
    processes apply the same gradients, so their networks stay the same."""
    script, plugins = runner
    run(torchrun(2, str(script), str(tmp_path), *train_args(tiny_data, tmp_path, model, config, 6, 16)),
        environment(plugins))
    rank0, rank1 = recorded(tmp_path, "0"), recorded(tmp_path, "1")
    assert len(rank0) == len(rank1) == 12  # one D and one G step per G step
    for step, (first, second) in enumerate(zip(rank0, rank1)):
        assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True)), f"step {step}"
    with open(tmp_path / "run" / "losses.csv") as f:
        phases = [float(row["growth_phase"]) for row in csv.DictReader(f)]
    assert len(set(phases)) >= 3, phases  # fade-in, stable, fade-in: optimizers made anew twice


# --------------------------------------------------------------------------- why not DDP
# `python DDP_CONTRAST OUT`: per process (its own half of an 8-row batch), the gradients that
# torch's DistributedDataParallel leaves on the parameters for the two ways the variants compute
# theirs (a generator called by its parts, as StyleGAN's training step does; a gradient penalty
# through autograd.grad, as WGAN-GP, ProGAN and StyleGAN's R1 are), the gradients of the same
# two after gans.distributed's averaging, and one process's on the whole batch.
DDP_CONTRAST = r"""
import sys, torch, torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from gans.distributed import Ranks

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.mapping, self.synthesis = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, z):
        return self.synthesis(self.mapping(z))


def critic():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))


def by_parts(G, z):  # the loss of a step that calls the generator's parts
    return G.synthesis(G.mapping(z)).square().mean()


def penalty(D, x):  # WGAN-GP's penalty, through autograd.grad
    x = x.detach().requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return (grad.norm(dim=1) - 1).square().mean()


def grads(net):
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()]


def averaged(net, loss):  # gans.distributed: the optimizer's gradients averaged at its step
    opt = Ranks(rank, world).hook_optimizer(torch.optim.SGD(net.parameters(), lr=0.0))
    loss.backward()
    opt.step()
    return grads(net)


torch.manual_seed(1)
z, x = torch.randn(8, 4), torch.randn(8, 2)
share = slice(rank * 4, rank * 4 + 4)
out = {}
G = Generator(); by_parts(DistributedDataParallel(G).module, z[share]).backward(); out["ddp_parts"] = grads(G)
D = critic(); penalty(DistributedDataParallel(D), x[share]).backward(); out["ddp_penalty"] = grads(D)
G = Generator(); out["ours_parts"] = averaged(G, by_parts(G, z[share]))
D = critic(); out["ours_penalty"] = averaged(D, penalty(D, x[share]))
G = Generator(); by_parts(G, z).backward(); out["whole_parts"] = grads(G)
D = critic(); penalty(D, x).backward(); out["whole_penalty"] = grads(D)
torch.save(out, f"{sys.argv[1]}/contrast-{rank}.pt")
dist.destroy_process_group()
"""


def test_ddp_would_leave_these_gradients_per_process_where_the_optimizer_hook_averages_them(
        tmp_path: Path) -> None:
    """Why the loop averages gradients at the optimizer step instead of wrapping the networks in
    DistributedDataParallel (gans/distributed.py): with DDP, a step that calls a network's parts
    and a gradient penalty through autograd.grad both leave each process with its own share's
    gradients, silently; the optimizer hook gives both the one-process gradients of the whole
    batch. If a torch release makes DDP average these, this test fails: time to revisit."""
    (tmp_path / "contrast.py").write_text(DDP_CONTRAST)
    run(torchrun(2, str(tmp_path / "contrast.py"), str(tmp_path)), environment())
    rank0, rank1 = (torch.load(tmp_path / f"contrast-{rank}.pt") for rank in (0, 1))
    for case in ("parts", "penalty"):
        whole = rank0[f"whole_{case}"]
        ours0, ours1 = rank0[f"ours_{case}"], rank1[f"ours_{case}"]
        assert all(torch.equal(a, b) for a, b in zip(ours0, ours1)), case
        for got, expected in zip(ours0, whole, strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        ddp0, ddp1 = rank0[f"ddp_{case}"], rank1[f"ddp_{case}"]
        assert not all(torch.equal(a, b) for a, b in zip(ddp0, ddp1)), f"DDP averaged the {case} case"


# --------------------------------------------------------------------------- kill and resume
def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def networks_of(run_dir: Path) -> dict[str, torch.Tensor]:
    final = torch.load(run_dir / "final.pt", weights_only=False)
    return {f"{net}.{k}": v for net, sd in final["networks"].items() for k, v in sd.items()}


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_result(tiny_data: Path, tmp_path: Path) -> None:
    """DCGAN (BatchNorm per process) on 2 gloo processes: killed (the whole process group) after
    its first checkpoint, resumed, and ends with the weights and loss log of an uninterrupted
    2-process run; its result is recorded as a run of its own (world size in identity and status)."""
    env = environment()
    args = lambda out: train_args(tiny_data, out, "dcgan", SMALL_DCGAN, 40, 16,  # noqa: E731
                                  checkpoint_every=4)
    run(torchrun(2, "-m", "gans", *args(tmp_path / "full")), env)

    victim = subprocess.Popen(torchrun(2, "-m", "gans", *args(tmp_path / "killed")), cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = tmp_path / "killed" / "ckpt"
    deadline = time.time() + 240
    while not list(checkpoints.glob("step*.pt")) and time.time() < deadline and victim.poll() is None:
        time.sleep(0.05)
    workers = children(victim.pid)  # torchrun starts them in sessions of their own
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert len(workers) == 2 and list(checkpoints.glob("step*.pt")), "no checkpoint before the kill"
    deadline = time.time() + 30  # they die with torchrun (gans.distributed.die_with_launcher)
    while any(map(alive, workers)) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, workers)), "the processes went on training after torchrun died"
    assert not (tmp_path / "killed" / "run" / "status.json").exists(), "killed before it finished"

    output = run(torchrun(2, "-m", "gans", *args(tmp_path / "killed")), env)
    assert re.search(r"resumed from step [1-9]", output), output[-2000:]
    assert output.count("resumed from step") == 1  # process 0 speaks for the job
    full, resumed = networks_of(tmp_path / "full" / "run"), networks_of(tmp_path / "killed" / "run")
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    strip_wall = lambda path: [l.split(",")[:1] + l.split(",")[2:] for l in path.read_text().splitlines()]  # noqa: E731,E741
    assert strip_wall(tmp_path / "full" / "run" / "losses.csv") == strip_wall(tmp_path / "killed" / "run" / "losses.csv")

    status = json.loads((tmp_path / "killed" / "run" / "status.json").read_text())
    assert status["status"] == "completed" and status["steps_done"] == 40 and status["world_size"] == 2
    one_process = run_identity(TrainSettings("dcgan", str(tiny_data), "", "", seed=3, batch_size=16),
                               build_model("dcgan", DataSpec("synthetic", 1, 16, 4), SMALL_DCGAN),
                               load_prepared(tiny_data)["sha256"])
    assert status["config_hash"] != one_process  # another run than one process's: never resumed from it
    assert load_trained(tmp_path / "killed" / "run").G(torch.zeros(2, 16)).shape == (2, 1, 16, 16)


# --------------------------------------------------------------------------- the pieces, one process
def test_the_processes_share_out_every_minibatch_of_the_seeded_order(tiny_data: Path) -> None:
    prepared = load_prepared(tiny_data)
    whole = BatchStream(prepared, 12, seed=5)
    shares = [BatchStream(prepared, 12, seed=5, ranks=Ranks(rank, 3)) for rank in range(3)]
    for _ in range(30):  # about four epochs of 256 images, three minibatches at a time
        expected = whole.next(3)
        parts = [stream.next(3) for stream in shares]
        for k in range(3):  # minibatch k of the step is the ranks' k-th chunks, in rank order
            rows = torch.cat([part.chunks(3)[k].x for part in parts])
            assert torch.equal(rows, expected.chunks(3)[k].x)
    with pytest.raises(ValueError, match="does not split into 3 equal shares"):
        BatchStream(prepared, 16, seed=5, ranks=Ranks(0, 3)).next()


def test_the_processes_share_out_the_latents_and_labels_one_process_draws() -> None:
    torch.manual_seed(0)
    single = build_model("sagan", DataSpec("synthetic", 1, 32, 4), SMOKE["model_config"]["sagan"])
    state = torch.get_rng_state()
    expected = single.draw_latent(6), single.draw_labels(6)
    shares = []
    for rank in range(2):
        single.ranks = Ranks(rank, 2)
        torch.set_rng_state(state)
        shares.append((single.draw_latent(3), single.draw_labels(3)))
    assert torch.equal(torch.cat([z for z, _ in shares]), expected[0])
    assert torch.equal(torch.cat([y for _, y in shares]), expected[1])


def test_one_process_is_left_as_it_was(tiny_data: Path) -> None:
    """No collectives, no hooks, the identity of before (no world size in it)."""
    settings = TrainSettings("dcgan", str(tiny_data), "", "", seed=3, batch_size=16)
    model = build_model("dcgan", DataSpec("synthetic", 1, 16, 4), SMALL_DCGAN)
    before = {"model": "dcgan", "seed": 3, "batch_size": 16, "config": model.config,
              "deterministic": False, "domain_task": None, "data_sha256": "sha"}
    identity = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]
    assert run_identity(settings, model, "sha") == identity
    assert run_identity(settings, model, "sha", world_size=2) != identity
    assert all(not opt._optimizer_step_pre_hooks for opt in model.optimizers().values())
    assert SINGLE_PROCESS.mean({"loss": 0.25}) == {"loss": 0.25}
    with pytest.raises(ValueError, match="must split into 3 equal shares"):
        validate_settings(settings, world_size=3)


# --------------------------------------------------------------------------- the suite and the rule
@pytest.mark.parametrize("edit, message", [
    ({"gpus_per_job": 0}, "gpus_per_job: must be a positive integer, got 0"),
    ({"gpus_per_job": 1.5}, "gpus_per_job: must be a positive integer, got 1.5"),
    ({"gpus_per_job": "2"}, "gpus_per_job: must be a positive integer, got '2'"),
    ({"gpus_per_job": True}, "gpus_per_job: must be a positive integer, got True"),
    ({"gpus_per_job": 3}, "gpus_per_job: budget.batch_size 16 is the global minibatch and must split into 3"),
    ({"gpus_per_job": 2, "resources": {"train": {"gpu": 1}}},
     "resources.train.gpu: 1 disagrees with gpus_per_job 2"),
    ({"budget": SMOKE["budget"] | {"tensorboard_every": -1}}, "budget.tensorboard_every: must be an integer >= 0"),
])
def test_bad_gpus_per_job_and_tensorboard_every_are_refused_naming_the_field(edit: dict, message: str) -> None:
    with pytest.raises(SuiteError, match=re.escape(message)):
        check_suite(SMOKE | edit)


def test_gpus_per_job_makes_the_train_rule_start_that_many_processes(tmp_path: Path) -> None:
    suite = SMOKE | {"name": "two", "gpus_per_job": 2}
    check_suite(suite)
    assert rule_resources(suite, "train")["gpu"] == 2 and rule_resources(SMOKE, "train")["gpu"] == 1
    work = workflow_copy(tmp_path)
    output = dry_run(work, suite)
    train = [line for line in output.splitlines() if " train --model " in line]
    assert len(train) == len(SMOKE["models"])
    launch = f"{sys.executable} -m torch.distributed.run --standalone --nproc_per_node 2 -m gans train "
    assert all(launch in line and "--threads 1 " in line for line in train), train[0]
    assert all("gpu=2" in r for r in job_resources(output, "train"))
    assert all("--tensorboard-every 200 " in line for line in train)  # the default interval

    plain = dry_run(work, SMOKE | {"budget": SMOKE["budget"] | {"tensorboard_every": 0}})
    train = [line for line in plain.splitlines() if " train --model " in line]
    assert train and all(f"{sys.executable} -m gans train " in line for line in train)
    assert "torch.distributed.run" not in plain and all("--tensorboard-every 0 " in line for line in train)
    assert all("gpu=1" in r for r in job_resources(plain, "train"))


def test_the_report_names_the_processes_per_job_only_when_there_are_several() -> None:
    from gans.report.index import environment_lines

    one = {"device": "cpu", "threads": 1, "world_size": 1, "provenance": {}}
    assert "processes per training job" not in environment_lines([one, one])[0]
    assert "processes per training job 2" in environment_lines([one | {"world_size": 2}])[0]
