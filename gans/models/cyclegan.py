"""CycleGAN: Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks" (2017, arXiv:1703.10593).

What makes it CycleGAN:
  * two translators, G: A -> B and F: B -> A, and two discriminators, D_B (real b vs G(a)) and
    D_A (real a vs F(b)), trained on unpaired, unaligned batches of the two domains;
  * cycle consistency: lambda * (|F(G(a)) - a|_1 + |G(F(b)) - b|_1) with lambda = 10;
  * the identity loss 0.5 * lambda * (|G(b) - b|_1 + |F(a) - a|_1) = 5 x L1, on by default in
    the official code;
  * least-squares adversarial losses (MSE against 1 for real, 0 for fake), the D loss x 0.5;
  * ResNet generators (7x7 reflect-padded conv, two stride-2 convs, residual blocks, two
    transposed convs, 7x7 conv, tanh) with instance norm, and PatchGAN discriminators (4x4 convs,
    LeakyReLU 0.2, instance norm, no sigmoid) that score overlapping patches: their output is a
    map, one score per patch;
  * D is updated on a pool of the last 50 fakes of each direction, not only the newest;
  * Adam(lr 2e-4, beta1 0.5), the lr constant for the first half of training and then decaying
    linearly to zero; each step updates G and F first, then D_A and D_B; weights ~ N(0, 0.02).

Small scale (32 px): `n_blocks` residual blocks (6 at 128 px, 9 at 256 px in the code; 2-4 here),
`ngf` 64 -> smaller, and the PatchGAN with `d_layers` = 1 stride-2 stage: a 16 x 16 px receptive
field (34 px with 2 stages, already the whole image; the code's 3 stages see 70 px), 14 x 14
patch scores per 32 px image. The code trains with batch 1 (`batch_size`); G and F share one
Adam in the code and have one each here, which is the same update (Adam is per parameter).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from gans.models.base import MODELS, Citation, GANVariant
from gans.nn.init import dcgan_init_
from gans.nn.losses import least_squares_discriminator_loss, least_squares_generator_loss
from gans.nn.pool import ImagePool
from gans.spec import Batch, EvalInput, Progress


def instance_norm(channels: int) -> nn.Module:
    """The code's instance norm: no affine parameters, no running statistics."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + [reflect pad, 3x3 conv, IN, ReLU, reflect pad, 3x3 conv, IN](x)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), instance_norm(width), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), instance_norm(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, d(2 ngf), d(4 ngf), n_blocks x R(4 ngf), u(2 ngf), u(ngf), c7s1-channels, tanh."""

    def __init__(self, channels: int, ngf: int, n_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7),
                                   instance_norm(ngf), nn.ReLU(True)]
        width = ngf
        for _ in range(2):  # downsampling
            layers += [nn.Conv2d(width, width * 2, 3, 2, 1), instance_norm(width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(n_blocks)]
        for _ in range(2):  # upsampling
            layers += [nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1),
                       instance_norm(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """The PatchGAN: a 4x4 stride-2 conv + LeakyReLU, `n_layers - 1` more stride-2 stages with IN,
    one stride-1 stage, and a 4x4 conv to one score per patch (no sigmoid: LSGAN)."""

    def __init__(self, channels: int, ndf: int, n_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            wider = ndf * min(2 ** n, 8)
            layers += [nn.Conv2d(width, wider, 4, stride, 1), instance_norm(wider),
                       nn.LeakyReLU(0.2, True)]
            width = wider
        layers += [nn.Conv2d(width, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@MODELS.register("cyclegan")
class CycleGAN(GANVariant):
    """Two translators tied by cycle consistency, judged by two patch discriminators."""

    citation = Citation("Zhu, Park, Isola & Efros", 2017, "1703.10593")
    task = "translation"
    uses_budget = True  # the lr schedule reads the step budget
    protocol_notes: ClassVar[str] = (
        "Official recipe (LSGAN, cycle L1 x 10, identity L1 x 5, pools of 50, Adam 2e-4 / 0.5, lr "
        "constant then linear to 0, G step then D step, instance norm, reflect padding); 32 px: "
        "ResNet G with 2 downsamplings and n_blocks residual blocks, a 1-stage PatchGAN "
        "(16 px receptive field, 14x14 patch scores).")
    defaults = {"ngf": 64, "ndf": 64, "n_blocks": 3, "d_layers": 1, "lr": 2e-4, "beta1": 0.5,
                "beta2": 0.999, "lambda_cycle": 10.0, "lambda_identity": 0.5, "pool_size": 50,
                "decay_from": 0.5, "batch_size": 1}

    def build(self) -> None:
        c = self.config
        channels = self.spec.channels
        for name in ("G", "F"):  # G: A -> B, F: B -> A
            self.add_network(name, _initialised(ResnetGenerator(channels, c["ngf"], c["n_blocks"])),
                             self._adam)
        for name in ("D_A", "D_B"):  # D_A judges domain A, D_B domain B
            self.add_network(name, _initialised(PatchDiscriminator(channels, c["ndf"], c["d_layers"])),
                             self._adam)
        self.pool_A, self.pool_B = ImagePool(c["pool_size"]), ImagePool(c["pool_size"])

    def _adam(self, params) -> torch.optim.Optimizer:
        c = self.config
        return torch.optim.Adam(params, lr=c["lr"], betas=(c["beta1"], c["beta2"]))

    def batch_size(self, progress: Progress) -> int:
        return self.config["batch_size"]

    def learning_rate(self, progress: Progress) -> float:
        """lr for the first `decay_from` of the budget, then linearly down to 0 at its end."""
        start = int(self.config["decay_from"] * progress.total_steps)
        decayed = max(0, progress.step - start) / max(1, progress.total_steps - start)
        return self.config["lr"] * (1.0 - decayed)

    def generator_losses(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The G/F objective's terms on one batch of each domain, and the fakes they made."""
        c = self.config
        fake_b, fake_a = self.G(a), self.F(b)
        cycle = F.l1_loss(self.F(fake_b), a) + F.l1_loss(self.G(fake_a), b)
        identity = F.l1_loss(self.G(b), b) + F.l1_loss(self.F(a), a)
        adversarial = (least_squares_generator_loss(self.D_B(fake_b))
                       + least_squares_generator_loss(self.D_A(fake_a)))
        return {"adversarial": adversarial,
                "cycle": c["lambda_cycle"] * cycle,
                "identity": c["lambda_cycle"] * c["lambda_identity"] * identity,
                "fake_a": fake_a, "fake_b": fake_b}

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        """G and F on adversarial + cycle + identity losses (D frozen), then D_A and D_B on real
        images against pooled fakes."""
        lr = self.learning_rate(progress)
        self.set_learning_rate(lr)
        for net in self.nets.values():
            net.train()
        a, b = batch.x, batch.x_b

        discriminators = (self.D_A, self.D_B)
        for D in discriminators:
            D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        self.opt_F.zero_grad(set_to_none=True)
        terms = self.generator_losses(a, b)
        loss_G = terms["adversarial"] + terms["cycle"] + terms["identity"]
        loss_G.backward()
        self.opt_G.step()
        self.opt_F.step()
        for D in discriminators:
            D.requires_grad_(True)

        self.opt_D_A.zero_grad(set_to_none=True)
        self.opt_D_B.zero_grad(set_to_none=True)
        loss_D_B = least_squares_discriminator_loss(self.D_B(b), self.D_B(self.pool_B.query(terms["fake_b"])))
        loss_D_A = least_squares_discriminator_loss(self.D_A(a), self.D_A(self.pool_A.query(terms["fake_a"])))
        (loss_D_A + loss_D_B).backward()
        self.opt_D_A.step()
        self.opt_D_B.step()
        return {"loss_D": (loss_D_A + loss_D_B).item(), "loss_G": loss_G.item(),
                "loss_G_adversarial": terms["adversarial"].item(), "loss_cycle": terms["cycle"].item(),
                "loss_identity": terms["identity"].item(), "lr": lr}

    def generate(self, inputs: EvalInput, truncation: float | None = None) -> dict[str, torch.Tensor]:
        """a -> G(a) -> F(G(a)) for the domain-A sources, b -> F(b) -> G(F(b)) for the domain-B ones."""
        self._refuse_truncation(truncation)
        G, F_ = self.evaluation_network("G"), self.evaluation_network("F")
        G.eval()
        F_.eval()
        translated, reverse_translated = G(inputs.source), F_(inputs.source_b)
        return {"translated": translated, "reconstructed": F_(translated),
                "reverse_translated": reverse_translated, "reverse_reconstructed": G(reverse_translated)}

    # the image pools are training state: checkpointed, restored before the weights
    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if state:
            self.pool_A.load_state_dict(state["pool_A"], self.device)
            self.pool_B.load_state_dict(state["pool_B"], self.device)


def _initialised(network: nn.Module) -> nn.Module:
    dcgan_init_(network)  # N(0, 0.02) weights, zero biases: the code's "normal" init
    return network
