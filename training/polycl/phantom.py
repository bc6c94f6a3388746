"""Small synthetic abdominal CT phantoms (NIfTI, RAS+) for tests and as a fallback dataset.

The project's main phantom generator is the Go command `polyseg phantom`; this one exists so
the Python tests need no Go toolchain. Two "scanners": A is non-contrast (liver ~55 HU, close
to the real patient A's 46 +- 13), B is a shifted domain (portal-venous-like contrast: organs
brighter, more noise, softer kernel). Labels use the TotalSegmentator values (5 liver,
1 spleen, 2/3 kidneys). The liver covers only part of the z-range, so slices with and
without it exist (PolyCL-O/-M need both).
"""
from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

SCANNERS = {
    # HU of liver, spleen, kidney, soft tissue; noise std; blur sigma (voxels)
    "A": {"liver": 55, "spleen": 45, "kidney": 30, "tissue": 35, "fat": -100, "noise": 12, "blur": 0.5},
    "B": {"liver": 110, "spleen": 125, "kidney": 160, "tissue": 50, "fat": -90, "noise": 25, "blur": 1.0},
}


def _ellipsoid(shape: tuple[int, int, int], centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    g = np.ogrid[tuple(slice(0, s) for s in shape)]
    return sum(((g[i] - centre[i]) / radii[i]) ** 2 for i in range(3)) <= 1.0


def make_phantom(shape: tuple[int, int, int], spacing: tuple[float, float, float], scanner: str,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """HU volume (int16) and label volume (uint8), both (X, Y, Z) in RAS+ voxel order."""
    p = SCANNERS[scanner]
    nx, ny, nz = shape
    j = lambda s: 1 + s * (2 * rng.random() - 1)  # noqa: E731  multiplicative jitter
    c = np.array([nx / 2, ny / 2, nz / 2])
    body = _ellipsoid(shape, c, np.array([0.45 * nx * j(0.05), 0.36 * ny * j(0.05), 10 * nz]))
    inner = _ellipsoid(shape, c, np.array([0.40 * nx * j(0.05), 0.31 * ny * j(0.05), 10 * nz]))
    hu = np.full(shape, -1000.0)
    hu[body] = p["fat"]
    hu[inner] = p["tissue"]
    lab = np.zeros(shape, np.uint8)
    # RAS+: x grows towards the patient's right, so the liver (patient's right) gets +x and
    # the spleen -x; y grows anterior, z superior.
    liver_c = c + np.array([0.16 * nx * j(0.2), 0.05 * ny * j(0.5), 0.18 * nz * j(0.3)])
    liver = _ellipsoid(shape, liver_c, np.array([0.17 * nx * j(0.15), 0.2 * ny * j(0.15), 0.3 * nz * j(0.15)])) & inner
    spleen_c = c + np.array([-0.22 * nx * j(0.1), -0.08 * ny * j(0.3), 0.12 * nz * j(0.3)])
    spleen = _ellipsoid(shape, spleen_c, np.array([0.06 * nx * j(0.2), 0.09 * ny * j(0.2), 0.16 * nz * j(0.2)])) & inner
    for sign, value in ((1, 2), (-1, 3)):  # kidney_right, kidney_left
        kc = c + np.array([sign * 0.14 * nx * j(0.1), -0.17 * ny * j(0.1), -0.12 * nz * j(0.3)])
        k = _ellipsoid(shape, kc, np.array([0.05 * nx * j(0.2), 0.06 * ny * j(0.2), 0.14 * nz * j(0.2)])) & inner
        lab[k & (lab == 0)] = value
    lab[spleen & (lab == 0)] = 1
    lab[liver & (lab == 0)] = 5
    hu[lab == 5] = p["liver"] + rng.normal(0, 5)
    hu[lab == 1] = p["spleen"] + rng.normal(0, 5)
    hu[(lab == 2) | (lab == 3)] = p["kidney"]
    # a spine-like bright disc behind the organs
    spine = _ellipsoid(shape, c + np.array([0, -0.25 * ny, 0]), np.array([0.05 * nx, 0.05 * ny, 10 * nz]))
    hu[spine] = 400
    hu = ndimage.gaussian_filter(hu, p["blur"]) + rng.normal(0, p["noise"], shape)
    return np.clip(hu, -1024, 3071).astype(np.int16), lab


def write_msd(out: Path, count: int, seed: int, scanner: str, shape=(64, 64, 32), spacing=(6.0, 5.0, 8.0)) -> list[str]:
    """Write an MSD-style dataset (imagesTr/labelsTr/dataset.json); returns the case names."""
    out = Path(out)
    (out / "imagesTr").mkdir(parents=True, exist_ok=True)
    (out / "labelsTr").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, ord(scanner)])
    affine = np.diag([*spacing, 1.0])
    names, training = [], []
    for i in range(count):
        name = f"phantom{scanner}_{seed}_{i:03d}"
        hu, lab = make_phantom(shape, spacing, scanner, rng)
        nib.save(nib.Nifti1Image(hu, affine), str(out / "imagesTr" / f"{name}.nii.gz"))
        nib.save(nib.Nifti1Image(lab, affine), str(out / "labelsTr" / f"{name}.nii.gz"))
        names.append(name)
        training.append({"image": f"./imagesTr/{name}.nii.gz", "label": f"./labelsTr/{name}.nii.gz"})
    ds = {"name": f"polycl phantoms scanner {scanner}", "labels": {"0": "background", "1": "spleen", "2": "kidney_right", "3": "kidney_left", "5": "liver"},
          "numTraining": count, "training": training, "test": []}
    (out / "dataset.json").write_text(json.dumps(ds, indent=1))
    return names
