"""CT volumes in, pre-processed 2D axial slices out.

Invariants:
- Every volume is reoriented to RAS+ with nibabel's as_closest_canonical; its label volume
  is brought onto the same grid (reoriented, or resampled by nearest neighbour in world
  coordinates when the grids differ).
- The 2D image of axial slice k is a[::-1, ::-1, k].T ("radiological": row 0 anterior, column
  0 the patient's right), exactly what the app feeds the model (docs/model-manifest.md).
- Intensities: HU clipped to [level - width/2, level + width/2] and mapped linearly to [0, 1]
  ("window01"); images resized bilinearly (half-pixel centres), masks by nearest neighbour.
- Images and labels are paired by name, never by listing order.
- A SliceCache is built once (memory-mapped .npy files), so training never re-reads NIfTI. It
  stores one label map per slice (0 background, k = the k-th label of the cache's list), not one
  mask per label: a label volume holds one value per voxel, so the two are the same thing, and
  the map is C times smaller for C labels. `SliceCache.masks` gives the per-label masks.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

from . import ndi

NIFTI_RE = re.compile(r"\.nii(\.gz)?$")

# TotalSegmentator v2 class values, the label values written by the app.
LABEL_VALUES = {"spleen": 1, "kidney_right": 2, "kidney_left": 3, "liver": 5}


@dataclass
class Preprocess:
    window_level: float = 40.0
    window_width: float = 400.0
    size: int = 256
    central_fraction: float = 1.0  # share of each scan's slices kept for training (centred)

    def to_manifest(self) -> dict:
        return {
            "plane": "axial",
            "orientation": "radiological",
            "window": {"level": self.window_level, "width": self.window_width},
            "normalize": "window01",
            "size": [self.size, self.size],
            "resize": "bilinear",
        }


@dataclass
class Case:
    name: str
    image: Path
    label: Path | None = None


@dataclass
class LoadedCase:
    name: str
    image: np.ndarray  # (X, Y, Z) float32 HU, RAS+
    label: np.ndarray | None  # (X, Y, Z) uint16 on the image grid, or None
    affine: np.ndarray  # (4, 4) RAS+ voxel -> world mm
    spacing: tuple[float, float, float]


def case_name(path: Path) -> str:
    """Stem shared by an image and its label: 'liver_3.nii.gz' -> 'liver_3', and nnU-Net's
    channel suffix '_0000' is dropped."""
    stem = NIFTI_RE.sub("", path.name)
    return re.sub(r"_0000$", "", stem)


def _pair_dirs(images: Path, labels: Path | None) -> list[Case]:
    lab = {}
    if labels is not None and labels.is_dir():
        lab = {case_name(p): p for p in labels.iterdir() if NIFTI_RE.search(p.name) and not p.name.startswith(".")}
    cases = []
    for p in sorted(images.iterdir()):
        if NIFTI_RE.search(p.name) and not p.name.startswith("."):
            n = case_name(p)
            cases.append(Case(n, p, lab.get(n)))
    return cases


def discover_cases(root: Path) -> list[Case]:
    """Cases of a dataset folder. Layouts: MSD (dataset.json with a "training" list, or
    imagesTr/labelsTr), images/ + labels/, or one folder of NAME.nii.gz beside
    NAME_seg.nii.gz or NAME_labels.nii.gz."""
    root = Path(root)
    ds = root / "dataset.json"
    if ds.is_file():
        meta = json.loads(ds.read_text())
        cases = []
        for item in meta.get("training", []):
            img = (root / item["image"]).resolve()
            label = (root / item["label"]).resolve() if item.get("label") else None
            cases.append(Case(case_name(img), img, label))
        # "test" entries are images without labels
        for item in meta.get("test", []):
            img = (root / (item if isinstance(item, str) else item["image"])).resolve()
            cases.append(Case(case_name(img), img, None))
        if cases:
            return sorted(cases, key=lambda c: c.name)
    for imgs, labs in (("imagesTr", "labelsTr"), ("images", "labels")):
        if (root / imgs).is_dir():
            return _pair_dirs(root / imgs, root / labs)
    files = sorted(p for p in root.iterdir() if NIFTI_RE.search(p.name))
    suffix = re.compile(r"_(seg|labels)$")  # NAME_seg (TotalSegmentator-style), NAME_labels (polyseg phantom)
    segs = {suffix.sub("", case_name(p)): p for p in files if suffix.search(case_name(p))}
    return [Case(case_name(p), p, segs.get(case_name(p))) for p in files if not suffix.search(case_name(p))]


def parse_case_spec(spec: str) -> Case:
    """NAME=IMAGE[,LABEL] -> Case."""
    if "=" not in spec:
        raise ValueError(f"case spec {spec!r}: want NAME=IMAGE[,LABEL]")
    name, rest = spec.split("=", 1)
    parts = rest.split(",")
    if len(parts) > 2 or not name:
        raise ValueError(f"case spec {spec!r}: want NAME=IMAGE[,LABEL]")
    return Case(name, Path(parts[0]), Path(parts[1]) if len(parts) == 2 else None)


def _resample_nearest(label: nib.Nifti1Image, target_shape: tuple[int, ...], target_affine: np.ndarray) -> np.ndarray:
    # world -> label voxel for every target voxel, nearest neighbour, 0 outside
    m = np.linalg.inv(label.affine) @ target_affine
    data = np.asarray(label.dataobj)
    return ndi.affine_nearest(data, m[:3, :3], m[:3, 3], target_shape)


def load_case(case: Case) -> LoadedCase:
    img = nib.as_closest_canonical(nib.load(str(case.image)))
    if len(img.shape) != 3:
        raise ValueError(f"{case.image}: want a 3D volume, got shape {img.shape}")
    data = np.asarray(img.dataobj, dtype=np.float32)  # applies scl_slope/inter
    label = None
    if case.label is not None:
        lab = nib.as_closest_canonical(nib.load(str(case.label)))
        if lab.shape == img.shape and np.allclose(lab.affine, img.affine, atol=1e-3):
            label = np.asarray(lab.dataobj)
        else:
            label = _resample_nearest(lab, img.shape, img.affine)
        if np.any(label < 0) or label.max(initial=0) > np.iinfo(np.uint16).max:
            raise ValueError(f"{case.label}: label values outside uint16")
        label = label.astype(np.uint16)
    sp = tuple(float(s) for s in img.header.get_zooms()[:3])
    return LoadedCase(case.name, data, label, img.affine, sp)  # type: ignore[arg-type]


def to_radiological(vol: np.ndarray) -> np.ndarray:
    """(X, Y, Z) RAS+ -> (Z, Y, X) stack with slice k = vol[::-1, ::-1, k].T."""
    return np.ascontiguousarray(vol[::-1, ::-1, :].transpose(2, 1, 0))


def from_radiological(stack: np.ndarray) -> np.ndarray:
    """Inverse of to_radiological."""
    return np.ascontiguousarray(stack.transpose(2, 1, 0)[::-1, ::-1, :])


def window01(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    lo = level - width / 2
    return ((np.clip(hu, lo, lo + width) - lo) / width).astype(np.float32)


def resize_images(x: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) float -> (N, size, size), bilinear with half-pixel centres, no antialiasing."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()


def resize_masks(m: np.ndarray, size: int) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, size, size) by nearest neighbour."""
    t = torch.from_numpy(np.ascontiguousarray(m)).float()
    return F.interpolate(t, size=(size, size), mode="nearest").to(torch.uint8).numpy()


def central_range(n: int, fraction: float) -> tuple[int, int]:
    keep = max(1, int(round(n * fraction)))
    start = (n - keep) // 2
    return start, start + keep


def label_map(label: np.ndarray, label_values: list[int]) -> np.ndarray:
    """Label volume -> uint8 map with k+1 where the voxel holds label_values[k], 0 elsewhere."""
    if len(label_values) > 255:
        raise ValueError(f"{len(label_values)} labels: at most 255 fit a uint8 label map")
    lut = np.zeros(int(max(label_values, default=0)) + 1, np.uint8)
    for k, v in enumerate(label_values):
        lut[v] = k + 1
    lab = np.asarray(label)
    return np.where(lab < len(lut), lut[np.minimum(lab, len(lut) - 1)], 0).astype(np.uint8)


def one_hot(labelmap: np.ndarray, channels: int) -> np.ndarray:
    """(N, H, W) label map -> (N, C, H, W) uint8 masks of labels 1..C."""
    lm = np.asarray(labelmap)
    return (lm[:, None] == np.arange(1, channels + 1, dtype=lm.dtype)[None, :, None, None]).astype(np.uint8)


def preprocess_slices(case: LoadedCase, pp: Preprocess, label_values: list[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, int]:
    """Model inputs (N, S, S) float32, label maps (N, S, S) uint8 (see label_map) or None,
    presence (N, C) int8 (1/0, -1 where the scan has no label) and the index of the first kept
    slice."""
    img = to_radiological(case.image)
    start, stop = central_range(len(img), pp.central_fraction)
    x = resize_images(window01(img[start:stop], pp.window_level, pp.window_width), pp.size)
    if case.label is None:
        return x, None, np.full((len(x), len(label_values)), -1, np.int8), start
    lm = label_map(to_radiological(case.label)[start:stop], label_values)  # (N, H, W)
    present = np.stack([(lm == k + 1).any(axis=(1, 2)) for k in range(len(label_values))], axis=1).astype(np.int8).reshape(len(lm), len(label_values))
    # nearest-neighbour resizing of the map is that of every per-label mask at once
    return x, resize_masks(lm[:, None], pp.size)[:, 0], present, start


class OneHotMasks:
    """(N, C, S, S) uint8 per-label masks computed on indexing from an (N, S, S) label map."""

    def __init__(self, labelmap: np.ndarray, channels: int):
        self.labelmap, self.channels = labelmap, channels

    @property
    def shape(self) -> tuple[int, ...]:
        n, h, w = self.labelmap.shape
        return (n, self.channels, h, w)

    def __len__(self) -> int:
        return len(self.labelmap)

    def __getitem__(self, idx) -> np.ndarray:  # noqa: ANN001 - any NumPy index on the first axis
        lm = np.asarray(self.labelmap[idx])
        if lm.ndim == 2:  # one slice
            return one_hot(lm[None], self.channels)[0]
        return one_hot(lm, self.channels)

    def __array__(self, dtype=None) -> np.ndarray:  # noqa: ANN001
        out = self[:]
        return out if dtype is None else out.astype(dtype)


@dataclass
class SliceCache:
    """Memory-mapped pre-processed slices of a list of cases.

    images (N, S, S) float32; labelmap (N, S, S) uint8 (0 background, k = labels[k-1]; zeros
    where unlabelled); masks: the same as (N, C, S, S) uint8 per-label masks; scan (N,) index
    into `cases`; slice (N,) slice number in the radiological stack; present (N, C) int8 organ
    presence (1, 0, or -1 = unknown)."""

    root: Path
    cases: list[dict]
    labels: list[int]
    preprocess: Preprocess
    images: np.ndarray
    labelmap: np.ndarray
    scan: np.ndarray
    slice: np.ndarray
    present: np.ndarray

    @property
    def masks(self) -> OneHotMasks:
        return OneHotMasks(self.labelmap, len(self.labels))

    @classmethod
    def open(cls, root: Path) -> "SliceCache":
        meta = json.loads((root / "meta.json").read_text())
        ld = lambda n: np.load(root / f"{n}.npy", mmap_mode="r")  # noqa: E731
        return cls(root, meta["cases"], meta["labels"], Preprocess(**meta["preprocess"]),
                   ld("images"), ld("labelmap"), np.asarray(ld("scan")), np.asarray(ld("slice")), np.asarray(ld("present")))

    def case_index(self, name: str) -> int:
        return next(i for i, c in enumerate(self.cases) if c["name"] == name)

    def slices_of(self, names: list[str]) -> np.ndarray:
        ids = [self.case_index(n) for n in names]
        return np.flatnonzero(np.isin(self.scan, ids))


CACHE_FORMAT = "labelmap-1"  # part of the fingerprint: a cache of another layout is never reopened


def _fingerprint(cases: list[Case], pp: Preprocess, labels: list[int]) -> str:
    h = hashlib.sha256()
    for c in cases:
        for p in (c.image, c.label):
            st = os.stat(p) if p is not None else None
            h.update(f"{c.name}|{p}|{st.st_size if st else ''}|{st.st_mtime_ns if st else ''}\n".encode())
    h.update(json.dumps([asdict(pp), labels, CACHE_FORMAT], sort_keys=True).encode())
    return h.hexdigest()[:16]


def build_cache(cases: list[Case], pp: Preprocess, labels: list[int], cache_dir: Path, log=print) -> SliceCache:
    """Build (once) and open the slice cache of `cases`. The directory name is a fingerprint
    of the inputs, so a changed file or setting makes a new cache."""
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate case names: {sorted(n for n in names if names.count(n) > 1)}")
    root = Path(cache_dir) / f"cache-{_fingerprint(cases, pp, labels)}"
    if (root / "meta.json").is_file():
        return SliceCache.open(root)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    parts, meta_cases = [], []
    for i, c in enumerate(cases):
        lc = load_case(c)
        x, m, present, start = preprocess_slices(lc, pp, labels)
        if m is None:
            m = np.zeros((len(x), pp.size, pp.size), np.uint8)
        parts.append((x, m, np.full(len(x), i, np.int32), np.arange(start, start + len(x), dtype=np.int32), present))
        meta_cases.append({"name": c.name, "image": str(c.image), "label": str(c.label) if c.label else None,
                           "shape": list(lc.image.shape), "spacing": list(lc.spacing), "slices": len(x)})
        log(f"cache: {c.name} {lc.image.shape} spacing {tuple(round(s, 3) for s in lc.spacing)} -> {len(x)} slices")
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-cache-", dir=cache_dir))
    try:
        for k, name in enumerate(("images", "labelmap", "scan", "slice", "present")):
            np.save(tmp / f"{name}.npy", np.concatenate([p[k] for p in parts]))
        (tmp / "meta.json").write_text(json.dumps({"cases": meta_cases, "labels": labels, "preprocess": asdict(pp)}, indent=1))
        os.replace(tmp, root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (root / "meta.json").is_file():  # a concurrent builder may have won the rename
            raise
    return SliceCache.open(root)
