from __future__ import annotations

import math

import pytest
import torch

from polycl.losses import DiceLoss, InBatchInfoNCE, NTXent, TripletCosineLoss

T = torch.tensor


def test_triplet_matches_formula() -> None:
    z, zp, zn = T([[2.0, 0.0]]), T([[1.0, 1.0]]), T([[0.0, 3.0]])  # cos+ = 1/sqrt2, cos- = 0
    tau = 0.5
    cp, cn = 2 ** -0.5, 0.0
    want = -math.log(math.exp(cp / tau) / (math.exp(cp / tau) + math.exp(cn / tau)))
    assert TripletCosineLoss(tau)(z, zp, zn).item() == pytest.approx(want, rel=1e-6)


def test_infonce_hand_computed_and_reduces_to_triplet() -> None:
    z, zp, zn = T([[1.0, 0.0], [0.0, 1.0]]), T([[1.0, 0.0], [0.0, 1.0]]), T([[0.0, 1.0], [-1.0, 0.0]])
    e = math.e
    want = (-math.log(e / (e + 1 + 1 / e)) - math.log(e / (e + e + 1))) / 2  # tau = 1
    assert InBatchInfoNCE(1.0)(z, zp, zn).item() == pytest.approx(want, rel=1e-6)
    a, p, n = torch.randn(1, 8), torch.randn(1, 8), torch.randn(1, 8)
    assert InBatchInfoNCE(0.1)(a, p, n).item() == pytest.approx(TripletCosineLoss(0.1)(a, p, n).item(), rel=1e-6)


def test_ntxent_hand_computed() -> None:
    v = T([[1.0, 0.0], [0.0, 1.0]])
    e = math.e
    assert NTXent(1.0)(v, v.clone()).item() == pytest.approx(-math.log(e / (e + 2)), rel=1e-6)


def test_dice_and_bce_hand_computed() -> None:
    logits = torch.zeros(1, 1, 2, 2)  # p = 0.5 everywhere
    target = T([[[[1.0, 0.0], [0.0, 0.0]]]])
    # inter 0.5, sum p 2, sum g 1: 1 - (2*0.5 + 1) / (3 + 1) = 0.5
    assert DiceLoss()(logits, target).item() == pytest.approx(0.5)
    assert DiceLoss(bce_weight=1.0)(logits, target).item() == pytest.approx(0.5 + math.log(2), rel=1e-6)
    perfect = (target * 2 - 1) * 50
    assert DiceLoss()(perfect, target).item() == pytest.approx(0.0, abs=1e-6)


def test_dice_ce_hand_computed() -> None:
    from polycl.losses import DiceCELoss

    logits = torch.zeros(1, 3, 1, 2)  # softmax 1/3 everywhere
    target = torch.tensor([[[1, 0]]])
    # Dice of labels 1 and 2 (background not counted): label 1: inter 1/3, sum p 2/3, sum g 1
    # -> (2/3 + 1) / (5/3 + 1) = 5/8; label 2: inter 0, sum p 2/3, sum g 0 -> 1 / (5/3) = 3/5
    dice = 1 - (5 / 8 + 3 / 5) / 2
    assert DiceCELoss(ce_weight=0)(logits, target).item() == pytest.approx(dice, rel=1e-6)
    assert DiceCELoss()(logits, target).item() == pytest.approx(dice + math.log(3), rel=1e-6)
    perfect = torch.nn.functional.one_hot(torch.tensor([[[1, 0]]]), 3).permute(0, 3, 1, 2).float() * 50
    # label 2 is absent and predicted absent: its smoothed Dice is 1, so the loss is ~0
    assert DiceCELoss()(perfect, target).item() == pytest.approx(0.0, abs=1e-6)
