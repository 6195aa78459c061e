"""The ResNet blocks of SAGAN and BigGAN: G doubles the resolution with a learned 1x1 shortcut; D
pools when asked, its first block sees raw pixels and pools before its 1x1 shortcut."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gans.nn.resblocks import DiscriminatorBlock, GeneratorBlock


def test_generator_block_upsamples_and_conditions_both_norms() -> None:
    torch.manual_seed(0)
    block = GeneratorBlock(8, 4, condition_dim=3).train()
    x, e = torch.randn(5, 8, 4, 4), torch.randn(5, 3)
    out = block(x, e)
    assert out.shape == (5, 4, 8, 8)
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    h = block.conv1(up(torch.relu(block.bn1(x, e))))
    expected = block.conv2(torch.relu(block.bn2(h, e))) + block.shortcut(up(x))
    assert torch.allclose(out, expected, atol=1e-5)


def test_discriminator_blocks_pool_and_shortcut_as_the_official_code() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    first = DiscriminatorBlock(4, 6, downsample=True, first=True)
    main = F.avg_pool2d(first.conv2(torch.relu(first.conv1(x))), 2)  # no ReLU on the pixels
    assert torch.allclose(first(x), main + first.shortcut(F.avg_pool2d(x, 2)), atol=1e-5)

    later = DiscriminatorBlock(4, 6, downsample=True)
    main = F.avg_pool2d(later.conv2(torch.relu(later.conv1(torch.relu(x)))), 2)
    assert torch.allclose(later(x), main + F.avg_pool2d(later.shortcut(x), 2), atol=1e-5)

    same = DiscriminatorBlock(4, 4, downsample=False)
    assert same.shortcut is None and same(x).shape == x.shape
    pooled = DiscriminatorBlock(4, 4, downsample=True)  # pooling alone also takes a learned shortcut
    assert isinstance(pooled.shortcut, torch.nn.Conv2d) and pooled.shortcut.kernel_size == (1, 1)
    widened = DiscriminatorBlock(4, 6, downsample=False)  # and so does a change of width alone
    assert isinstance(widened.shortcut, torch.nn.Conv2d)
    assert torch.allclose(same(x), same.conv2(torch.relu(same.conv1(torch.relu(x)))) + x, atol=1e-5)
