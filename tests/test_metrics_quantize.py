"""The one quantization rule (gans.quantize): rounding, clamping, the end points, round trips."""

from __future__ import annotations

import torch

from gans.quantize import quantize_to_uint8, uint8_to_float


def test_end_points_and_centre():
    out = quantize_to_uint8(torch.tensor([-1.0, 0.0, 1.0]))
    assert out.dtype == torch.uint8
    assert out.tolist() == [0, 128, 255]


def test_out_of_range_values_are_clamped():
    assert quantize_to_uint8(torch.tensor([-7.0, -1.001, 1.001, 3.0, float("inf")])).tolist() == [0, 0, 255, 255, 255]


def test_rounds_half_up_on_the_pixel_grid():
    """x maps to (x + 1) * 127.5 and rounds to the nearest integer, halves going up."""
    pixel = torch.tensor([10.0, 10.49, 10.5, 200.51, 254.6], dtype=torch.float64)
    x = (pixel / 127.5 - 1).float()
    assert quantize_to_uint8(x).tolist() == [10, 10, 11, 201, 255]


def test_every_pixel_value_survives_a_round_trip():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    floats = uint8_to_float(pixels)
    assert floats.min() == -1.0 and floats.max() == 1.0
    assert torch.equal(quantize_to_uint8(floats), pixels)


def test_matches_the_rounding_formula_on_random_inputs():
    x = torch.rand(10_000, generator=torch.Generator().manual_seed(0)) * 2.4 - 1.2
    expected = torch.floor((x.double() + 1) * 127.5 + 0.5).clamp(0, 255)
    # float32 rounding may move values that sit within 1e-4 of a half-way point
    close_to_half = ((x.double() + 1) * 127.5 % 1 - 0.5).abs() < 1e-4
    got = quantize_to_uint8(x).double()
    assert torch.equal(got[~close_to_half], expected[~close_to_half])
    assert (got - expected).abs().max() <= 1
