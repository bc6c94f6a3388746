#!/usr/bin/env python3
"""The 512x512x300 CT-like volume the loading benchmarks read (scripts/bench_load.sh,
scripts/bench_nrrd.sh): air, a soft-tissue ellipse, a bony ring and noise inside the body, so
that it compresses about as a real scan does (32 MB gzipped); 0.75 x 0.75 x 1 mm.

    ct_phantom.py OUT.nii.gz | OUT.nrrd

A .nrrd is written gzip-encoded at level 1 in LPS, as 3D Slicer writes one; anything else with
nibabel.
"""
import sys
import zlib

import numpy as np


def volume() -> np.ndarray:
    nx, ny, nz = 512, 512, 300
    rng = np.random.default_rng(1)
    x, y = np.meshgrid(np.arange(nx) - nx / 2, np.arange(ny) - ny / 2, indexing="ij")
    r = (x / 200) ** 2 + (y / 150) ** 2
    sl = np.full((nx, ny), -1000, np.int16)
    sl[r < 1] = 40
    sl[(r > 0.8) & (r < 0.9)] = 700
    vol = np.empty((nx, ny, nz), np.int16)
    for k in range(nz):
        vol[:, :, k] = sl + (rng.normal(0, 15, (nx, ny)) * (r < 1)).astype(np.int16)
    return vol


def write_nrrd(path: str, vol: np.ndarray) -> None:
    hdr = ("NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n"
           "type: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 512 512 300\n"
           "space directions: (0.75,0,0) (0,0.75,0) (0,0,1)\nkinds: domain domain domain\nendian: little\n"
           "encoding: gzip\nspace origin: (-190,-190,-150)\n\n")
    z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(path, "wb") as f:
        f.write(hdr.encode())
        f.write(z.compress(vol.tobytes(order="F")))
        f.write(z.flush())


def write_nifti(path: str, vol: np.ndarray) -> None:
    import nibabel as nib

    aff = np.diag([-0.75, -0.75, 1.0, 1.0])
    aff[:3, 3] = [190, 190, -150]
    img = nib.Nifti1Image(vol, aff)
    img.header.set_xyzt_units("mm")
    nib.save(img, path)


if __name__ == "__main__":
    out = sys.argv[1]
    (write_nrrd if out.endswith(".nrrd") else write_nifti)(out, volume())
