from __future__ import annotations

import torch

from polycl.model import ContrastiveNet, UNet, UNetConfig, count_parameters


def test_method_network_sizes() -> None:
    """The authors' network: ~1.18 M encoder parameters, ~1.96 M for the U-Net."""
    u = UNet(UNetConfig())
    assert count_parameters(u.encoder) == 1_180_464  # conv weights + biases + InstanceNorm affine
    assert count_parameters(u) == 1_965_281
    assert count_parameters(ContrastiveNet(UNetConfig()).head) == 256 * 256 + 256


def test_shapes_and_configurable_widths() -> None:
    cfg = UNetConfig(out_channels=3, channels=(4, 8, 16), proj_dim=32)
    x = torch.rand(2, 1, 32, 32)
    assert UNet(cfg)(x).shape == (2, 3, 32, 32)
    assert ContrastiveNet(cfg)(x).shape == (2, 32)
    assert UNetConfig.from_dict(cfg.to_dict()) == cfg
