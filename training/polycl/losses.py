"""Contrastive and segmentation losses, as nn.Modules.

- TripletCosineLoss: the paper's loss, one positive and one negative per anchor.
- InBatchInfoNCE: the same, with the negatives of the whole batch as extra negatives.
- NTXent: SimCLR's loss over 2B augmented views.
- DiceLoss (+ optional BCE) for fine-tuning with one sigmoid per label.
- DiceCELoss for fine-tuning with a softmax over background + labels.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _cos_logits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # a: (B, D), b: (M, D) -> (B, M) cosine similarities
    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


class TripletCosineLoss(nn.Module):
    """L = -log(exp(c+/t) / (exp(c+/t) + exp(c-/t))), c = cosine similarity, mean over anchors."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = temperature

    def forward(self, z: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor) -> torch.Tensor:
        pos = F.cosine_similarity(z, zp, dim=1)  # (B,)
        neg = F.cosine_similarity(z, zn, dim=1)  # (B,)
        logits = torch.stack([pos, neg], dim=1) / self.temperature  # (B, 2)
        target = torch.zeros(len(z), dtype=torch.long, device=z.device)
        return F.cross_entropy(logits, target)


class InBatchInfoNCE(nn.Module):
    """Anchor i against its positive and all B negatives of the batch (not other positives,
    which under PolyCL-O/-M may share the anchor's organ status). With B = 1 this is
    TripletCosineLoss."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = temperature

    def forward(self, z: torch.Tensor, zp: torch.Tensor, zn: torch.Tensor) -> torch.Tensor:
        pos = F.cosine_similarity(z, zp, dim=1)[:, None]  # (B, 1)
        neg = _cos_logits(z, zn)  # (B, B)
        logits = torch.cat([pos, neg], dim=1) / self.temperature  # (B, 1+B)
        target = torch.zeros(len(z), dtype=torch.long, device=z.device)
        return F.cross_entropy(logits, target)


class NTXent(nn.Module):
    """SimCLR: views (z1[i], z2[i]) are positives; the other 2B-2 views are negatives."""

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = temperature

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        b = len(z1)
        z = torch.cat([z1, z2], dim=0)  # (2B, D)
        sim = _cos_logits(z, z) / self.temperature  # (2B, 2B)
        sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
        target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
        return F.cross_entropy(sim, target)


class DiceLoss(nn.Module):
    """Soft Dice over the whole batch per channel (empty slices then do not count as perfect),
    plus bce_weight * BCE. Takes logits."""

    def __init__(self, bce_weight: float = 0.0, smooth: float = 1.0):
        super().__init__()
        self.bce_weight = bce_weight
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)  # (B, C, H, W)
        dims = (0, 2, 3)
        inter = (p * target).sum(dims)
        denom = p.sum(dims) + target.sum(dims)
        loss = 1.0 - ((2 * inter + self.smooth) / (denom + self.smooth)).mean()
        if self.bce_weight > 0:
            loss = loss + self.bce_weight * F.binary_cross_entropy_with_logits(logits, target)
        return loss


class DiceCELoss(nn.Module):
    """Softmax over background + C labels: cross-entropy plus soft Dice of the C label
    channels over the whole batch (nnU-Net's DC+CE, batch Dice). Takes logits (B, C+1, H, W)
    and a label map (B, H, W) of class indices 0..C."""

    def __init__(self, ce_weight: float = 1.0, smooth: float = 1.0):
        super().__init__()
        self.ce_weight = ce_weight
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(logits, dim=1)[:, 1:]  # (B, C, H, W)
        onehot = F.one_hot(target, logits.shape[1])[..., 1:].permute(0, 3, 1, 2).to(p.dtype)
        dims = (0, 2, 3)
        inter = (p * onehot).sum(dims)
        denom = p.sum(dims) + onehot.sum(dims)
        loss = 1.0 - ((2 * inter + self.smooth) / (denom + self.smooth)).mean()
        if self.ce_weight > 0:
            loss = loss + self.ce_weight * F.cross_entropy(logits, target)
        return loss
