"""Train one toy model of a toy suite outside the workflow and probe it as it trains: why a
model misses the modes of a toy protocol.

    python scripts/toy_probe.py benchmarks/toy-pacgan.yaml wgan-gp ring-8-unit --steps 3000
    python scripts/toy_probe.py benchmarks/toy-pacgan.yaml wgan-gp ring-8-unit --scale 5
    python scripts/toy_probe.py benchmarks/toy-pacgan.yaml wgan-gp ring-8-unit --set gp_weight=2

The model is built as the suite builds it (its `model_config`, batch size and toy protocol);
`--set key=value` overrides one config key, `--scale s` multiplies the mixture (its means, its
sigma and so its training points) by s. The protocol's cut-offs are in units of sigma, so a
model that learns the scaled mixture as well as the unscaled one gets the same scores: a
difference between scales measures the model's dependence on the data's scale. A WGAN-GP critic,
for one, is held to slope 1 in absolute units while its Wasserstein term grows with the scale.

Every `--every` generator steps (and at step 0) one JSON line is printed, as the evaluation
scores a run: the protocol's modes / high-quality share / reverse KL of samples drawn from a
fixed latent bank with G in eval mode, the median distance to the nearest mode (in sigmas), how
far the bank's samples moved since the last probe (in sigmas); for a critic model also its
Wasserstein estimate (mean D(real) - mean D(fake) on 1000 of each) and its mean gradient norm at
real and at generated points (WGAN-GP holds it near 1 at points between the two).

Not the benchmark: the loop here draws each minibatch from the train split with replacement
(the workflow's loader shuffles epochs), writes no checkpoints and runs on one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gans.data.toy import TOY_MIXTURES, ToyMixture, sample_toy  # noqa: E402
from gans.io import write_json_atomic  # noqa: E402
from gans.metrics.toy import ToyProtocol, toy_metrics, toy_protocol  # noqa: E402
from gans.models import build_model  # noqa: E402
from gans.models.base import GANVariant  # noqa: E402
from gans.models.critic import CriticGAN  # noqa: E402
from gans.spec import Batch, DataSpec, Progress  # noqa: E402
from gans.suite import load_checked_suite, model_config_for, toy_protocol_for  # noqa: E402

BANK_SEED = 7_919      # the fixed latent bank the probes score (the same at every probe)
CRITIC_PROBE = 1000    # real and generated points the critic's numbers are measured on


def scaled_mixture(dataset: str, scale: float) -> tuple[ToyMixture, torch.Tensor]:
    """The toy mixture and its train points, every coordinate multiplied by `scale`."""
    mixture = TOY_MIXTURES[dataset]
    points, _ = sample_toy(dataset, "train")
    return ToyMixture(mixture.modes * scale, mixture.sigma * scale, mixture.sizes), points * scale


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs, each value read as YAML (2 -> int, relu -> str, true -> bool), and a
    number YAML 1.1 leaves a string (1e-4) as a float."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set wants key=value, got {pair!r}")
        value = yaml.safe_load(text)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        overrides[key] = value
    return overrides


def critic_numbers(model: GANVariant, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """The critic's Wasserstein estimate and mean input-gradient norms at real and fake points."""
    def mean_gradient_norm(points: torch.Tensor) -> float:
        points = points.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(model.D(points).sum(), points)
        return float(grad.norm(dim=1).mean())

    with torch.no_grad():
        estimate = float(model.D(real).mean() - model.D(fake).mean())
    return {"wasserstein_estimate": estimate, "grad_norm_real": mean_gradient_norm(real),
            "grad_norm_fake": mean_gradient_norm(fake)}


def probe(model: GANVariant, bank: torch.Tensor, mixture: ToyMixture, protocol: ToyProtocol,
          real: torch.Tensor, previous: Optional[torch.Tensor],
          ) -> tuple[dict[str, Any], torch.Tensor]:
    """The numbers of one probe (module docstring) and the bank's samples, for the next drift."""
    model.G.eval()
    with torch.no_grad():
        points = model.G(bank)
    model.G.train()
    distances = torch.cdist(points.double(), mixture.modes.double()).min(dim=1).values
    row: dict[str, Any] = {
        **toy_metrics(points, mixture.modes, mixture.sigma, protocol)["metrics"],
        "median_distance_sigmas": float(distances.median() / mixture.sigma),
        "drift_sigmas": (None if previous is None
                         else float((points - previous).norm(dim=1).mean() / mixture.sigma)),
    }
    if isinstance(model, CriticGAN):
        row.update(critic_numbers(model, real, points[:len(real)]))
    return row, points


def run_probe(suite_path: Path | str, model_name: str, dataset: str, seed: int = 0,
              steps: int = 3000, every: int = 250, scale: float = 1.0,
              overrides: Optional[dict[str, Any]] = None, out=sys.stdout) -> list[dict[str, Any]]:
    """Train `model_name` on `dataset` as the suite configures it and probe it every `every`
    steps; each probe is printed to `out` as one JSON line and returned."""
    suite = load_checked_suite(suite_path)
    if dataset not in suite["datasets"] or dataset not in TOY_MIXTURES:
        raise SystemExit(f"{dataset!r} is not a toy dataset of suite {suite['name']!r}")
    if model_name not in suite["models"]:
        raise SystemExit(f"{model_name!r} is not a model of suite {suite['name']!r}")
    torch.set_num_threads(1)
    mixture, train_points = scaled_mixture(dataset, scale)
    spec = DataSpec(dataset, channels=2, resolution=0, num_classes=len(mixture.modes),
                    kind="points")
    config = {**model_config_for(suite, model_name), **(overrides or {})}
    torch.manual_seed(seed)
    model = build_model(model_name, spec, config)
    protocol = toy_protocol(toy_protocol_for(suite))
    batch_size = int(suite["budget"]["batch_size"])
    draws = torch.Generator().manual_seed(seed)
    bank = torch.randn(protocol.samples or 2500, model.config["z_dim"],
                       generator=torch.Generator().manual_seed(BANK_SEED))
    probe_real = train_points[torch.randint(len(train_points), (CRITIC_PROBE,), generator=draws)]

    rows, previous, start = [], None, time.perf_counter()
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            row, previous = probe(model, bank, mixture, protocol, probe_real, previous)
            row = {"step": step, "seconds": round(time.perf_counter() - start, 1), **row}
            rows.append(row)
            print(json.dumps(row), file=out, flush=True)
        if step == steps:
            break
        progress = Progress(step, step * batch_size, steps, batch_size)
        n = batch_size * model.batches_per_step(progress)
        index = torch.randint(len(train_points), (n,), generator=draws)
        model.train_step(Batch(train_points[index]), progress)
    return rows


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", help="a toy suite file, e.g. benchmarks/toy-pacgan.yaml")
    parser.add_argument("model")
    parser.add_argument("dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, help="also write the probes here, as a JSON list")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.scale <= 0:
        parser.error("--steps and --every must be at least 1 and --scale positive")
    rows = run_probe(args.suite, args.model, args.dataset, args.seed, args.steps, args.every,
                     args.scale, parse_overrides(args.set))
    if args.out:
        write_json_atomic(args.out, rows)


if __name__ == "__main__":
    main()
