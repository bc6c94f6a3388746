"""3D evaluation per docs/evaluation.md: per scan and label, on the scan's own grid.

- Dice = 2|P&R| / (|P|+|R|); both empty -> 1 (flagged "both_empty"); one empty -> 0.
- HD95 and ASSD in mm from the voxel spacing, surface distances measured both ways. HD95 is the
  95th percentile of the pooled distances of both directions and ASSD the mean of the two
  directed mean distances (medpy's hd95/assd). Exactly one empty mask -> undefined (NaN),
  and the case counts as a failure; it is never dropped from the counts.
- Volumes in mL and the relative volume error.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch
import torch.nn.functional as F

from . import ndi
from .common import atomic_write_text
from .data import Case, LoadedCase, Preprocess, from_radiological, load_case, resize_images, to_radiological, window01
from .model import UNet, probabilities


surface = ndi.surface


def directed_distances(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """Distances (mm) from each surface voxel of a to the nearest surface voxel of b."""
    return ndi.distances_to(surface(a), surface(b), spacing)


@dataclass
class Metrics:
    dice: float
    hd95: float  # mm, NaN when undefined
    assd: float  # mm, NaN when undefined
    pred_ml: float
    ref_ml: float
    rel_volume_error: float  # (pred - ref) / ref, NaN when ref is empty
    status: str  # ok | both_empty | pred_empty | ref_empty

    @property
    def failure(self) -> bool:
        return self.status in ("pred_empty", "ref_empty")


def compare(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, ...]) -> Metrics:
    pred, ref = pred.astype(bool), ref.astype(bool)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} != reference shape {ref.shape}")
    voxel_ml = float(np.prod(spacing)) / 1000.0
    np_, nr = int(pred.sum()), int(ref.sum())
    pred_ml, ref_ml = np_ * voxel_ml, nr * voxel_ml
    rve = (pred_ml - ref_ml) / ref_ml if nr else math.nan
    if np_ == 0 and nr == 0:
        return Metrics(1.0, 0.0, 0.0, 0.0, 0.0, math.nan, "both_empty")
    if np_ == 0 or nr == 0:
        return Metrics(0.0, math.nan, math.nan, pred_ml, ref_ml, rve, "pred_empty" if np_ == 0 else "ref_empty")
    dice = 2.0 * int((pred & ref).sum()) / (np_ + nr)
    # distances only involve surface voxels: crop to the masks' joint bounding box plus one
    # voxel (where the volume allows), which leaves every surface and distance unchanged
    box = ndi.bounding_box(pred | ref)
    box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
    pred, ref = pred[box], ref[box]
    d_pr = directed_distances(pred, ref, spacing)
    d_rp = directed_distances(ref, pred, spacing)
    hd95 = float(np.percentile(np.concatenate([d_pr, d_rp]), 95))
    assd = float((d_pr.mean() + d_rp.mean()) / 2)
    return Metrics(dice, hd95, assd, pred_ml, ref_ml, rve, "ok")


Model = Union[UNet, Callable[[np.ndarray], np.ndarray]]


@torch.no_grad()
def predict_volume(unet: Model, case: LoadedCase, pp: Preprocess, device: torch.device | str = "cpu", batch_size: int = 32,
                   activation: str = "sigmoid") -> np.ndarray:
    """Probabilities (K, X, Y, Z) of every output channel on the scan's own RAS+ grid: every
    axial slice is pre-processed as the app does it, and the output resized back bilinearly.
    unet: a U-Net (its logits go through `activation`) or a function from (B, 1, S, S) inputs
    to (B, K, S, S) probabilities (an ONNX file, export.onnx_model)."""
    if isinstance(unet, UNet):
        unet.eval().to(device)
    stack = to_radiological(case.image)  # (Z, H, W)
    h, w = stack.shape[1:]
    out = None
    for i in range(0, len(stack), batch_size):
        x = resize_images(window01(stack[i:i + batch_size], pp.window_level, pp.window_width), pp.size)
        if isinstance(unet, UNet):
            p = probabilities(unet(torch.from_numpy(x)[:, None].to(device)), activation)  # (B, K, S, S)
        else:
            p = torch.from_numpy(np.asarray(unet(x[:, None]), np.float32))
        p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False).cpu().numpy()
        if out is None:
            out = np.empty((p.shape[1],) + stack.shape, np.float32)
        out[:, i:i + len(x)] = p.transpose(1, 0, 2, 3)
    assert out is not None
    return np.stack([from_radiological(o) for o in out])


def labels_from_probs(probs: np.ndarray, activation: str, threshold: float = 0.5) -> np.ndarray:
    """(K, ...) probabilities -> label index map (0 background, k = the k-th label), by the
    app's rule (inference/unet.go writeSlice): softmax: argmax over all channels, channel 0
    background; sigmoid: the most probable channel above the threshold, else background."""
    if activation == "softmax":
        return probs.argmax(axis=0).astype(np.uint8)
    best = probs.argmax(axis=0)
    above = np.take_along_axis(probs, best[None], axis=0)[0] > threshold
    return np.where(above, best + 1, 0).astype(np.uint8)


FIELDS = ["scan", "label", "dice", "hd95_mm", "assd_mm", "pred_ml", "ref_ml", "rel_volume_error", "status"]


def largest_component(mask: np.ndarray, connectivity: int = 26) -> np.ndarray:
    """The largest connected component of a 3D mask (nnU-Net-style post-processing);
    connectivity 6 is the app's (inference.SegmentOptions.LargestComponent), 26 scipy's full
    neighbourhood."""
    return ndi.largest_component(mask, connectivity)


def evaluate_cases(unet: Model, cases: list[Case | LoadedCase], pp: Preprocess, labels: list[int], names: list[str],
                   device: torch.device | str = "cpu", threshold: float = 0.5, keep_largest: bool = False,
                   activation: str = "sigmoid", connectivity: int = 26, only: list[str] | None = None) -> list[dict]:
    """Metric rows per (scan, label); cases may be pre-loaded to avoid re-reading NIfTI.
    Labels are decided as the app does (labels_from_probs); keep_largest keeps only the
    largest connected component of each predicted label. only: evaluate just these label
    names (e.g. the organs a scan covers)."""
    rows = []
    for case in cases:
        lc = case if isinstance(case, LoadedCase) else load_case(case)
        if lc.label is None:
            raise ValueError(f"{case.name}: no label volume to evaluate against")
        idx = labels_from_probs(predict_volume(unet, lc, pp, device, activation=activation), activation, threshold)
        for c, (value, name) in enumerate(zip(labels, names)):
            if only is not None and name not in only:
                continue
            pred = idx == c + 1
            m = compare(largest_component(pred, connectivity) if keep_largest else pred, lc.label == value, lc.spacing)
            rows.append({"scan": case.name, "label": name, "dice": m.dice, "hd95_mm": m.hd95, "assd_mm": m.assd,
                         "pred_ml": m.pred_ml, "ref_ml": m.ref_ml, "rel_volume_error": m.rel_volume_error, "status": m.status})
    return rows


def summarize(rows: list[dict]) -> dict:
    """Mean +- std over scans per label; HD95/ASSD over defined cases, with failures counted."""
    out = {}
    for name in dict.fromkeys(r["label"] for r in rows):
        rs = [r for r in rows if r["label"] == name]
        d = np.array([r["dice"] for r in rs])
        hd = np.array([r["hd95_mm"] for r in rs if not math.isnan(r["hd95_mm"])])
        asd = np.array([r["assd_mm"] for r in rs if not math.isnan(r["assd_mm"])])
        out[name] = {
            "scans": len(rs),
            "dice_mean": float(d.mean()), "dice_std": float(d.std()),
            "hd95_mm_mean": float(hd.mean()) if len(hd) else None, "hd95_mm_std": float(hd.std()) if len(hd) else None,
            "assd_mm_mean": float(asd.mean()) if len(asd) else None,
            "failures": sum(r["status"] in ("pred_empty", "ref_empty") for r in rs),
            "both_empty": sum(r["status"] == "both_empty" for r in rs),
        }
    return out


def write_results(rows: list[dict], csv_path: Path, json_path: Path, extra: dict | None = None) -> dict:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS)
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    atomic_write_text(csv_path, buf.getvalue())
    summary = {"summary": summarize(rows), **(extra or {}),
               "definitions": "3D per scan; Dice both-empty=1; HD95 (pooled both directions, 95th pct) and ASSD in mm; "
                              "one empty mask -> HD95/ASSD undefined and counted in failures"}
    atomic_write_text(json_path, json.dumps(summary, indent=1, allow_nan=False, default=str))
    return summary
