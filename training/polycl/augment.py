"""SimCLR-style views for the augmentation baseline.

Both views start from the same pre-processed slice (window01 in [0, 1]) and stay in [0, 1], so
the baseline sees inputs normalised exactly like PolyCL's (the reference code skipped the
normalisation of the augmented view, handicapping the baseline).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    min_scale: float = 0.5  # random resized crop: side fraction in [min_scale, 1]
    flip: float = 0.5  # probability of a left-right flip
    brightness: float = 0.1  # additive shift, uniform in [-b, b]
    contrast: float = 0.2  # multiplicative factor around the mean, uniform in [1-c, 1+c]
    noise: float = 0.03  # Gaussian noise std


def random_view(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """x: (B, 1, H, W) in [0, 1] -> an augmented view of the same shape, in [0, 1]."""
    b = len(x)
    dev = x.device
    u = lambda *shape: torch.rand(*shape, generator=gen).to(dev)  # noqa: E731
    scale = cfg.min_scale + (1 - cfg.min_scale) * u(b)
    # crop centre such that the crop stays inside the image; affine_grid works in [-1, 1]
    cx = (1 - scale) * (2 * u(b) - 1)
    cy = (1 - scale) * (2 * u(b) - 1)
    flip = torch.where(u(b) < cfg.flip, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = scale * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = scale
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = v.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 1 + cfg.contrast * (2 * u(b, 1, 1, 1) - 1)
    shift = cfg.brightness * (2 * u(b, 1, 1, 1) - 1)
    v = (v - mean) * contrast + mean + shift
    v = v + cfg.noise * torch.randn(v.shape, generator=gen).to(dev)
    return v.clamp(0, 1)
