"""Augmentation: SimCLR-style views for the augmentation baseline, and fine-tuning
augmentation (SegAugmentConfig).

SimCLR's two views start from the same pre-processed slice (window01 in [0, 1]) and stay in
[0, 1], so the baseline sees inputs normalised exactly like PolyCL's (the reference code skipped
the normalisation of the augmented view, handicapping the baseline).
"""
from __future__ import annotations

import math
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


# ---------------------------------------------------------------------------------------------
# Fine-tuning augmentation: what closes the gap between one scanner and another


@dataclass
class SegAugmentConfig:
    """Random changes to a fine-tuning batch (images in [0, 1], label maps). Each part can be
    switched off by setting its probability to 0.

    - spatial: zoom, aspect ratio, rotation and shift (the same warp for image and labels; no
      left-right flip, which would swap the patient's sides and the left/right organs). Covers
      field-of-view and pixel-size differences (a 366 mm field on 128 px against 500 mm).
    - organ contrast: a random HU offset added inside each labelled organ, as contrast agent
      brightens organs by different amounts (portal-venous liver +40..+80 HU, spleen more,
      kidneys most), with softened edges. Needs the labels, so only fine-tuning has it.
    - intensity: contrast, brightness and gamma of the whole slice.
    - resolution: down-sampling by a random factor and back (thicker slices, softer kernels).
    - noise: Gaussian noise of a random level (low-dose scans; the aliasing of a 512 px slice
      resized to the model's input without antialiasing, as the app does).
    """

    p_spatial: float = 0.8
    zoom: tuple[float, float] = (0.75, 1.35)  # >1 enlarges the anatomy
    aspect: float = 0.15  # the two axes' scales differ by up to this factor (log-uniform)
    rotate_deg: float = 12.0
    shift: float = 0.08  # fraction of the image side
    p_organ_contrast: float = 0.5
    organ_offset: tuple[float, float] = (-0.05, 0.3)  # window01 units (x 400 HU for W400)
    p_intensity: float = 0.7
    contrast: float = 0.2
    brightness: float = 0.08
    gamma: tuple[float, float] = (0.75, 1.35)
    p_resolution: float = 0.25
    resolution: tuple[float, float] = (1.2, 2.5)  # down-sampling factor
    p_noise: float = 0.5
    noise: tuple[float, float] = (0.0, 0.06)

    @classmethod
    def named(cls, name: str) -> "SegAugmentConfig | None":
        """'none', 'all', or a '+'-joined subset of spatial, organ, intensity, resolution, noise."""
        if name == "none":
            return None
        if name == "all":
            return cls()
        parts = set(name.split("+"))
        known = {"spatial", "organ", "intensity", "resolution", "noise"}
        if not parts <= known:
            raise ValueError(f"augmentation {name!r}: want none, all, or a '+'-joined subset of {sorted(known)}")
        c = cls()
        for part, attr in (("spatial", "p_spatial"), ("organ", "p_organ_contrast"), ("intensity", "p_intensity"),
                           ("resolution", "p_resolution"), ("noise", "p_noise")):
            if part not in parts:
                setattr(c, attr, 0.0)
        return c


def augment_segmentation(x: torch.Tensor, labels: torch.Tensor, channels: int, cfg: SegAugmentConfig,
                         gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x: (B, 1, H, W) in [0, 1]; labels: (B, H, W) int64 label map (0 background, 1..channels).
    Returns augmented copies; the random draws come from `gen` only (reproducible per seed)."""
    b, _, h, w = x.shape
    u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    x = x.clone()
    if cfg.p_organ_contrast > 0 and channels > 0:
        on = (u(b, channels) < cfg.p_organ_contrast).float()
        lo, hi = cfg.organ_offset
        offset = (lo + (hi - lo) * u(b, channels)) * on  # (B, C)
        onehot = F.one_hot(labels, channels + 1)[..., 1:].permute(0, 3, 1, 2).float()  # (B, C, H, W)
        add = (onehot * offset[:, :, None, None]).sum(1, keepdim=True)
        x = x + F.avg_pool2d(add, 3, stride=1, padding=1, count_include_pad=False)
    if cfg.p_spatial > 0:
        do = u(b) < cfg.p_spatial
        zoom = torch.exp(math.log(cfg.zoom[0]) + (math.log(cfg.zoom[1]) - math.log(cfg.zoom[0])) * u(b))
        asp = torch.exp(math.log(1 + cfg.aspect) * (2 * u(b) - 1))
        sx, sy = 1 / (zoom * asp.sqrt()), 1 / (zoom / asp.sqrt())  # sampling steps: < 1 enlarges
        ang = math.radians(cfg.rotate_deg) * (2 * u(b) - 1)
        tx, ty = 2 * cfg.shift * (2 * u(b) - 1), 2 * cfg.shift * (2 * u(b) - 1)
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([torch.stack([sx * cos, -sy * sin, tx], 1), torch.stack([sx * sin, sy * cos, ty], 1)], 1)
        ident = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(b, 2, 3)
        theta = torch.where(do[:, None, None], theta, ident)
        grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # 0 = air
        labels = F.grid_sample(labels[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                               align_corners=False)[:, 0].round().long()
    if cfg.p_resolution > 0:
        for i in torch.nonzero(u(b) < cfg.p_resolution).flatten().tolist():
            f = cfg.resolution[0] + (cfg.resolution[1] - cfg.resolution[0]) * float(u(1))
            small = F.interpolate(x[i:i + 1], size=(max(int(h / f), 4), max(int(w / f), 4)), mode="bilinear", align_corners=False)
            x[i:i + 1] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    if cfg.p_intensity > 0:
        do = (u(b, 1, 1, 1) < cfg.p_intensity).float()
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        c = 1 + cfg.contrast * (2 * u(b, 1, 1, 1) - 1)
        s = cfg.brightness * (2 * u(b, 1, 1, 1) - 1)
        g = cfg.gamma[0] + (cfg.gamma[1] - cfg.gamma[0]) * u(b, 1, 1, 1)
        y = ((x - mean) * c + mean + s).clamp(0, 1) ** g
        x = do * y + (1 - do) * x
    if cfg.p_noise > 0:
        do = (u(b, 1, 1, 1) < cfg.p_noise).float()
        sd = cfg.noise[0] + (cfg.noise[1] - cfg.noise[0]) * u(b, 1, 1, 1)
        x = x + do * sd * torch.randn(x.shape, generator=gen)
    return x.clamp(0, 1), labels
