"""The PolyCL 2D U-Net: encoder, projection head for pre-training, decoder for segmentation.

Architecture as in the authors' code (see docs/polycl-method.md): each block is
[conv3x3 -> InstanceNorm -> LeakyReLU(0.2)] x 2 -> Dropout(0.25); the encoder doubles the
channels after each 2x2 max-pool (16..256 by default); the decoder upsamples bilinearly by 2,
concatenates the skip connection and runs a block, back to the first width; a 1x1 conv gives
one logit per label. The channel widths are configurable so the CPU "quick" profile can use a
narrower network.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .dist import BatchDropout


@dataclass
class UNetConfig:
    in_channels: int = 1
    out_channels: int = 1  # one sigmoid channel per label
    channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    dropout: float = 0.25
    negative_slope: float = 0.2
    proj_dim: int = 256  # width of the pre-training projection

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        d = dict(d)
        d["channels"] = tuple(d["channels"])
        return cls(**d)


class ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dropout: float, slope: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1),
            nn.InstanceNorm2d(cout, affine=True),
            nn.LeakyReLU(slope),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.InstanceNorm2d(cout, affine=True),
            nn.LeakyReLU(slope),
            BatchDropout(dropout),  # nn.Dropout that stays the same under torchrun
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Encoder(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        widths = [cfg.in_channels, *cfg.channels]
        self.blocks = nn.ModuleList(
            ConvBlock(widths[i], widths[i + 1], cfg.dropout, cfg.negative_slope)
            for i in range(len(cfg.channels))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # x: (B, 1, H, W) -> features at H, H/2, ..., H/2^(L-1); H must be divisible by 2^(L-1)
        feats = []
        for i, block in enumerate(self.blocks):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            feats.append(x)
        return feats


class ProjectionHead(nn.Module):
    """max-pool -> global average pool -> Linear, applied to the deepest encoder feature."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.channels[-1], cfg.proj_dim)

    def forward(self, deepest: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(deepest, 2)  # (B, C, h/2, w/2)
        x = x.mean(dim=(2, 3))  # (B, C)
        return self.fc(x)  # (B, proj_dim)


class Decoder(nn.Module):
    def __init__(self, cfg: UNetConfig):
        super().__init__()
        ch = list(cfg.channels)
        self.blocks = nn.ModuleList(
            ConvBlock(ch[i + 1] + ch[i], ch[i], cfg.dropout, cfg.negative_slope)
            for i in reversed(range(len(ch) - 1))
        )
        self.out = nn.Conv2d(ch[0], cfg.out_channels, 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = feats[-1]
        for block, skip in zip(self.blocks, reversed(feats[:-1])):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.out(x)  # logits (B, out_channels, H, W)


class UNet(nn.Module):
    """Segmentation network; forward returns logits, predict returns sigmoid probabilities."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(x))


class ContrastiveNet(nn.Module):
    """Encoder + projection head used during pre-training."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.head = ProjectionHead(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x)[-1])


ACTIVATIONS = ("sigmoid", "softmax")


def probabilities(logits: torch.Tensor, activation: str = "sigmoid") -> torch.Tensor:
    """sigmoid: one independent probability per label channel; softmax: over the channels
    (channel 0 background)."""
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation == "softmax":
        return torch.softmax(logits, dim=1)
    raise ValueError(f"activation {activation!r}: want one of {ACTIVATIONS}")


class ProbsModel(nn.Module):
    """Export wrapper: image (N,1,H,W) in [0,1] -> probs (N,channels,H,W), the graph ending in
    its activation (docs/model-manifest.md: outputs are probabilities, never logits)."""

    def __init__(self, unet: UNet, activation: str = "sigmoid"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: want one of {ACTIVATIONS}")
        self.unet = unet
        self.activation = activation

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return probabilities(self.unet(image), self.activation)


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def min_input_multiple(cfg: UNetConfig) -> int:
    """Input sides must be multiples of this (pools in the encoder plus the head's pool)."""
    return 2 ** len(cfg.channels)
