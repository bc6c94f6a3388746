from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from polycl.data import Preprocess, discover_cases, load_case
from polycl.evaluate import compare, evaluate_cases, predict_volume, summarize, write_results
from polycl.model import UNetConfig


def vol(shape, *voxels):
    m = np.zeros(shape, bool)
    for v in voxels:
        m[v] = True
    return m


def test_dice_hd95_assd_hand_computed_anisotropic() -> None:
    # pred {(0,0,0)}, ref {(0,0,0), (2,0,0)}, x spacing 3 mm: pred->ref distances [0];
    # ref->pred [0, 6]; pooled [0, 0, 6]: 95th percentile 0 + 0.9 * 6 = 5.4
    m = compare(vol((3, 3, 1), (0, 0, 0)), vol((3, 3, 1), (0, 0, 0), (2, 0, 0)), (3.0, 0.5, 1.0))
    assert m.dice == pytest.approx(2 / 3)
    assert m.hd95 == pytest.approx(5.4)
    assert m.assd == pytest.approx((0 + 3) / 2)  # mean of the directed means 0 and (0+6)/2
    assert m.pred_ml == pytest.approx(1.5e-3) and m.ref_ml == pytest.approx(3e-3)
    assert m.rel_volume_error == pytest.approx(-0.5)
    # the same offset along y (0.5 mm) is 6x shorter: the spacing follows the axes
    m = compare(vol((3, 3, 1), (0, 0, 0)), vol((3, 3, 1), (0, 0, 0), (0, 2, 0)), (3.0, 0.5, 1.0))
    assert m.hd95 == pytest.approx(0.9)


def test_surface_distances_of_cubes() -> None:
    # two 4x4x4 cubes shifted by one voxel along z (spacing 2.5): every surface voxel of one is
    # at most 2.5 mm from the other's surface
    a = np.zeros((8, 8, 8), bool)
    a[2:6, 2:6, 2:6] = True
    b = np.roll(a, 1, axis=2)
    m = compare(a, b, (1.0, 1.0, 2.5))
    assert m.dice == pytest.approx(2 * 48 / 128)
    assert m.hd95 == pytest.approx(2.5)
    assert 0 < m.assd < 2.5


@pytest.mark.parametrize("pred_any,ref_any,status,dice", [(False, False, "both_empty", 1.0), (True, False, "ref_empty", 0.0),
                                                         (False, True, "pred_empty", 0.0)])
def test_empty_masks(pred_any: bool, ref_any: bool, status: str, dice: float) -> None:
    p = vol((4, 4, 4), (1, 1, 1)) if pred_any else np.zeros((4, 4, 4), bool)
    r = vol((4, 4, 4), (2, 2, 2)) if ref_any else np.zeros((4, 4, 4), bool)
    m = compare(p, r, (1, 1, 1))
    assert (m.status, m.dice) == (status, dice)
    assert m.failure == (status != "both_empty")
    if m.failure:
        assert math.isnan(m.hd95) and math.isnan(m.assd)


def test_largest_component() -> None:
    from polycl.evaluate import largest_component

    m = np.zeros((6, 6, 6), bool)
    m[0:2, 0:2, 0:2] = True  # 8 voxels
    m[4:6, 4:6, 3:6] = True  # 12 voxels
    m[3, 3, 2] = True  # touches the second block diagonally (26-connectivity)
    got = largest_component(m)
    assert got.sum() == 13 and not got[0, 0, 0]
    assert largest_component(np.zeros((2, 2, 2), bool)).sum() == 0


def test_summary_counts_failures_not_drops(tmp_path: Path) -> None:
    rows = [{"scan": "a", "label": "liver", "dice": 0.8, "hd95_mm": 4.0, "assd_mm": 1.0, "pred_ml": 1.0, "ref_ml": 1.0, "rel_volume_error": 0.0, "status": "ok"},
            {"scan": "b", "label": "liver", "dice": 0.0, "hd95_mm": math.nan, "assd_mm": math.nan, "pred_ml": 0.0, "ref_ml": 1.0, "rel_volume_error": -1.0, "status": "pred_empty"}]
    s = summarize(rows)["liver"]
    assert s["dice_mean"] == pytest.approx(0.4) and s["failures"] == 1 and s["scans"] == 2
    assert s["hd95_mm_mean"] == pytest.approx(4.0)
    out = write_results(rows, tmp_path / "m.csv", tmp_path / "s.json")
    assert (tmp_path / "m.csv").read_text().count("\n") == 3 and out["summary"]["liver"]["failures"] == 1


class Threshold(torch.nn.Module):
    """Stands in for a U-Net: logit > 0 where the windowed image is saturated (HU >= 240)."""

    cfg = UNetConfig(out_channels=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.999) * 1e4


def test_predict_volume_returns_to_the_scan_grid(msd_a: Path) -> None:
    lc = load_case(discover_cases(msd_a)[0])
    # bright (spine-like) voxels found in a known, non-symmetric place after the round trip
    probs = predict_volume(Threshold(), lc, Preprocess(size=64))
    assert probs.shape == (1,) + lc.image.shape
    want = lc.image >= 240
    m = compare(probs[0] >= 0.5, want, lc.spacing)
    assert m.dice > 0.95
    rows = evaluate_cases(Threshold(), [lc], Preprocess(size=64), [5], ["liver"])
    assert rows[0]["scan"] == lc.name and rows[0]["status"] in ("ok", "pred_empty")


def test_labels_from_probs_follow_the_app() -> None:
    from polycl.evaluate import labels_from_probs

    # sigmoid: the most probable channel above the threshold, else background
    p = np.array([[0.7, 0.2, 0.6, 0.4], [0.8, 0.1, 0.3, 0.45]], np.float32)  # (2 labels, 4 voxels)
    np.testing.assert_array_equal(labels_from_probs(p, "sigmoid"), [2, 0, 1, 0])
    # softmax: argmax over background + labels
    q = np.array([[0.5, 0.2, 0.1], [0.3, 0.3, 0.1], [0.2, 0.5, 0.8]], np.float32)
    np.testing.assert_array_equal(labels_from_probs(q, "softmax"), [0, 2, 2])


def test_softmax_model_evaluates_every_label(msd_a: Path) -> None:
    from polycl.model import UNet

    torch.manual_seed(0)
    unet = UNet(UNetConfig(out_channels=3, channels=(4, 8)))
    cases = discover_cases(msd_a)[:1]
    rows = evaluate_cases(unet, cases, Preprocess(size=32), [5, 1], ["liver", "spleen"], activation="softmax")
    assert [r["label"] for r in rows] == ["liver", "spleen"]
    only = evaluate_cases(unet, cases, Preprocess(size=32), [5, 1], ["liver", "spleen"], activation="softmax", only=["spleen"])
    assert [r["label"] for r in only] == ["spleen"] and only[0]["dice"] == rows[1]["dice"]
    # an ONNX-like function of the inputs gives the same rows as the network itself
    def fn(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(unet(torch.from_numpy(x)), 1).numpy()
    assert evaluate_cases(fn, cases, Preprocess(size=32), [5, 1], ["liver", "spleen"], activation="softmax") == rows
