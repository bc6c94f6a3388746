#!/usr/bin/python3
"""Reference for polyseg's fill between slices (package interp): plain
shape-based interpolation with SciPy's exact Euclidean distance transform,
written the straightforward way (whole slices), to check the Go code's
result and to time it against it (interp.BenchmarkFillPatientB).

For label VALUE of a label NIfTI, keep every STEP-th axial slice (voxel axis
k) of the label from its first slice, and its last slice (the protocol of
docs/interpolation.md, interp.Sparse); then for every slice between two kept
slices a and b, at t = (k - a) / (b - a), the label is where
(1 - t) * sd(a) + t * sd(b) < 0, sd = edt(outside) - edt(inside) in mm.

--method cubic interpolates each pixel's signed distance through all the
kept slices with SciPy's PchipInterpolator instead (interp.Cubic).

Usage:
    /usr/bin/python3 scripts/interp_reference.py LABELS.nii.gz VALUE STEP [--method linear|cubic] [--out OUT.nii.gz] [--repeat N]

Prints the interpolation's time in seconds (file reading and the sparse
sampling excluded), one line per run after one warm-up run; --out writes
the result (the label's voxels only, uint8) on the input's grid.
"""
import argparse
import time

import nibabel as nib
import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import distance_transform_edt as edt


def interpolate(sparse, spacing):
    out = sparse.copy()
    kept = np.where(sparse.any(axis=(0, 1)))[0]
    for a, b in zip(kept[:-1], kept[1:]):
        if b - a < 2:
            continue
        A, B = sparse[:, :, a], sparse[:, :, b]
        sa = edt(~A, sampling=spacing) - edt(A, sampling=spacing)
        sb = edt(~B, sampling=spacing) - edt(B, sampling=spacing)
        for k in range(a + 1, b):
            t = (k - a) / (b - a)
            out[:, :, k] = ((1 - t) * sa + t * sb) < 0
    return out


def interpolate_cubic(sparse, spacing):
    out = sparse.copy()
    kept = np.where(sparse.any(axis=(0, 1)))[0]
    sd = np.stack([edt(~sparse[:, :, k], sampling=spacing) - edt(sparse[:, :, k], sampling=spacing) for k in kept], axis=-1)
    f = PchipInterpolator(kept.astype(float), sd, axis=-1)
    for a, b in zip(kept[:-1], kept[1:]):
        for k in range(a + 1, b):
            out[:, :, k] = f(float(k)) < 0
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("labels")
    p.add_argument("value", type=int)
    p.add_argument("step", type=int)
    p.add_argument("--method", choices=("linear", "cubic"), default="linear")
    p.add_argument("--out")
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    img = nib.load(a.labels)
    ref = np.asarray(img.dataobj) == a.value
    spacing = tuple(float(x) for x in img.header.get_zooms()[:2])
    z = np.where(ref.any(axis=(0, 1)))[0]
    keep = list(range(z[0], z[-1] + 1, a.step))
    if keep[-1] != z[-1]:
        keep.append(z[-1])
    sparse = np.zeros_like(ref)
    sparse[:, :, keep] = ref[:, :, keep]
    fill = interpolate_cubic if a.method == "cubic" else interpolate
    out = fill(sparse, spacing)  # warm-up
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = fill(sparse, spacing)
        print(time.perf_counter() - t0, flush=True)
    if a.out:
        nib.save(nib.Nifti1Image(out.astype(np.uint8), img.affine), a.out)


if __name__ == "__main__":
    main()
