from __future__ import annotations

import torch

from polycl.augment import AugmentConfig, random_view


def test_views_stay_in_the_anchor_normalisation() -> None:
    x = torch.rand(4, 1, 32, 32)
    v1 = random_view(x, AugmentConfig(), torch.Generator().manual_seed(0))
    v2 = random_view(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert v1.shape == x.shape and 0 <= v1.min() and v1.max() <= 1
    torch.testing.assert_close(v1, v2)  # reproducible from the generator
    assert (v1 - x).abs().mean() > 0.01  # and actually different from the input


def test_identity_config_is_identity() -> None:
    x = torch.rand(2, 1, 16, 16)
    cfg = AugmentConfig(min_scale=1.0, flip=0.0, brightness=0.0, contrast=0.0, noise=0.0)
    torch.testing.assert_close(random_view(x, cfg, torch.Generator().manual_seed(1)), x, atol=1e-5, rtol=0)
