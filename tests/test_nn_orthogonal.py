"""BigGAN's modified orthogonal regularisation: gradient 2 (W W^T * (1 - I)) W added to every
weight of two or more dimensions, the excluded ones (the shared embedding) left alone."""

from __future__ import annotations

import torch
from torch import nn

from gans.nn.orthogonal import add_orthogonal_regularization_, orthogonal_regularization_gradient


def test_the_gradient_is_that_of_half_the_off_diagonal_frobenius_norm() -> None:
    torch.manual_seed(0)
    w = torch.randn(5, 3, 3, 3, requires_grad=True)
    flat = w.flatten(1)
    off_diagonal = (flat @ flat.t()) * (1 - torch.eye(5))
    (0.5 * off_diagonal.pow(2).sum()).backward()
    assert torch.allclose(orthogonal_regularization_gradient(w), w.grad, atol=1e-4)
    rows = torch.linalg.qr(torch.randn(6, 4))[0].t()  # orthonormal rows: no penalty
    assert torch.allclose(orthogonal_regularization_gradient(rows), torch.zeros(4, 6), atol=1e-5)


def test_it_is_added_to_weights_only_skipping_the_excluded_ones() -> None:
    torch.manual_seed(0)
    net = nn.ModuleDict({"conv": nn.Conv2d(2, 4, 3), "linear": nn.Linear(3, 4), "shared": nn.Embedding(5, 4)})
    for p in net.parameters():
        p.grad = torch.ones_like(p)
    add_orthogonal_regularization_(net, 1e-2, exclude=net["shared"].parameters())
    for layer in ("conv", "linear"):
        weight = net[layer].weight
        assert torch.allclose(weight.grad, 1 + 1e-2 * orthogonal_regularization_gradient(weight))
        assert torch.equal(net[layer].bias.grad, torch.ones(4))  # 1-d: not a weight matrix
    assert torch.equal(net["shared"].weight.grad, torch.ones(5, 4))


def test_strength_zero_changes_nothing() -> None:
    net = nn.Linear(3, 4)
    net.weight.grad = torch.ones(4, 3)
    add_orthogonal_regularization_(net, 0.0)
    assert torch.equal(net.weight.grad, torch.ones(4, 3))


def test_the_gradient_is_computed_on_the_weights_device() -> None:
    weight = torch.empty(4, 3, 2, device="meta")  # no data: checks placement without a GPU
    assert orthogonal_regularization_gradient(weight).device.type == "meta"
