"""The projection head: linear(h) + <embed(y), h> on the sum-pooled ReLU features."""

from __future__ import annotations

import torch

from gans.nn.projection import ProjectionHead


def test_score_is_the_linear_term_plus_the_projection_term() -> None:
    torch.manual_seed(0)
    head = ProjectionHead(8, 3)
    features, labels = torch.randn(4, 8, 5, 5), torch.tensor([0, 2, 1, 2])
    h = torch.relu(features).sum(dim=(2, 3))
    assert torch.allclose(head.pool(features), h)
    linear = h @ head.linear.weight.t() + head.linear.bias
    projection = (head.embed.weight[labels] * h).sum(dim=1)
    assert torch.allclose(head(features, labels), linear.view(-1) + projection, atol=1e-5)


def test_the_label_enters_only_through_the_projection() -> None:
    torch.manual_seed(0)
    head = ProjectionHead(8, 3)
    features = torch.randn(1, 8, 4, 4)
    h = head.pool(features)
    for a, b in [(0, 1), (1, 2)]:
        difference = head(features, torch.tensor([a])) - head(features, torch.tensor([b]))
        expected = ((head.embed.weight[a] - head.embed.weight[b]) * h).sum()
        assert torch.allclose(difference, expected.view(1), atol=1e-5)
