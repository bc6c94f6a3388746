"""The few image operations the trainer needs from scipy.ndimage, with NumPy/PyTorch stand-ins
for a machine whose Python lacks SciPy (a GPU machine's PyTorch environment, which no registry
can complete): scipy is used when importable, and the stand-ins give the same answers
(tests/test_ndi.py compares them)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

try:
    from scipy import ndimage as _ndi
except ImportError:  # pragma: no cover - exercised by forcing _ndi = None in the tests
    _ndi = None


def surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of the mask with a 6-neighbour outside it (the image border counts as outside)."""
    mask = np.asarray(mask, bool)
    p = np.pad(mask, 1, constant_values=False)
    inner = p.copy()
    for ax in range(mask.ndim):
        inner &= np.roll(p, 1, axis=ax) & np.roll(p, -1, axis=ax)
    core = inner[tuple(slice(1, -1) for _ in range(mask.ndim))]
    return mask & ~core


def distances_to(points: np.ndarray, target: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """Distances (mm) from each True voxel of `points` to the nearest True voxel of `target`,
    in the order of np.nonzero(points)."""
    if _ndi is not None:
        return _ndi.distance_transform_edt(~np.asarray(target, bool), sampling=spacing)[points]
    sp = torch.tensor(spacing, dtype=torch.float64)
    a = torch.from_numpy(np.argwhere(points)).double() * sp
    b = torch.from_numpy(np.argwhere(target)).double() * sp
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    a, b = a.to(dev), b.to(dev)
    out = torch.empty(len(a), dtype=torch.float64, device=dev)
    step = max(1, (1 << 24) // max(len(b), 1))  # ~128 MB of distances at a time
    for i in range(0, len(a), step):
        out[i:i + step] = torch.cdist(a[i:i + step], b).min(dim=1).values
    return out.cpu().numpy()


def bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """The smallest box holding every True voxel (the mask must have one)."""
    idx = np.argwhere(mask)
    return tuple(slice(int(lo), int(hi) + 1) for lo, hi in zip(idx.min(axis=0), idx.max(axis=0)))


def largest_component(mask: np.ndarray, connectivity: int = 26) -> np.ndarray:
    """The largest 26- (or 6-) connected component of a 3D mask."""
    mask = np.asarray(mask, bool)
    if connectivity not in (6, 26):
        raise ValueError(f"connectivity {connectivity}: want 6 or 26")
    if _ndi is not None:
        structure = np.ones((3, 3, 3), bool) if connectivity == 26 else _ndi.generate_binary_structure(3, 1)
        lab, n = _ndi.label(mask, structure=structure)
    elif connectivity == 6:
        lab, n = _label(mask, 6)
    else:
        lab, n = _label(mask, 26)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(sizes.argmax())


def _label(mask: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Connected components by propagating the largest voxel index through 3x3x3 (26) or
    face (6) neighbourhoods until nothing changes (on the GPU when there is one)."""
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    m = torch.from_numpy(mask).to(dev)
    ids = torch.arange(1, mask.size + 1, device=dev, dtype=torch.float64).reshape(mask.shape)
    lab = torch.where(m, ids, torch.zeros_like(ids))
    while True:
        if connectivity == 26:
            nxt = F.max_pool3d(lab[None, None], 3, stride=1, padding=1)[0, 0]
        else:
            nxt = lab.clone()
            for ax in range(3):
                for k in (1, -1):
                    nxt = torch.maximum(nxt, _shift(lab, k, ax))
        nxt = torch.where(m, nxt, torch.zeros_like(nxt))
        if torch.equal(nxt, lab):
            break
        lab = nxt
    uniq, inv = torch.unique(lab, return_inverse=True)
    out = inv.cpu().numpy().reshape(mask.shape)
    if uniq[0] != 0:
        out = out + 1
    return out, int((uniq != 0).sum())


def _shift(t: torch.Tensor, k: int, axis: int) -> torch.Tensor:
    """t moved by k (+-1) along axis, zero-filled."""
    out = torch.zeros_like(t)
    src = [slice(None)] * t.ndim
    dst = [slice(None)] * t.ndim
    src[axis], dst[axis] = (slice(0, -1), slice(1, None)) if k > 0 else (slice(1, None), slice(0, -1))
    out[tuple(dst)] = t[tuple(src)]
    return out


def affine_nearest(data: np.ndarray, matrix: np.ndarray, offset: np.ndarray, output_shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour resampling: output[o] = data[round(matrix @ o + offset)], 0 outside."""
    if _ndi is not None:
        return _ndi.affine_transform(data, matrix, offset=offset, output_shape=output_shape, order=0, mode="constant", cval=0)
    grid = np.indices(output_shape, dtype=np.float64).reshape(len(output_shape), -1)
    coord = matrix @ grid + np.asarray(offset, np.float64)[:, None]
    # as scipy's mode="constant": outside when the coordinate itself leaves [0, n - 1]
    inside = np.all((coord >= 0) & (coord <= np.asarray(data.shape)[:, None] - 1), axis=0)
    src = np.floor(coord + 0.5).astype(np.int64)
    out = np.zeros(int(np.prod(output_shape)), dtype=data.dtype)
    out[inside] = data[tuple(src[:, inside])]
    return out.reshape(output_shape)
