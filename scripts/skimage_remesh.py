#!/usr/bin/env python3
"""The scikit-image side of scripts/bench_mesh.sh and scripts/bench_surfaces.sh: re-mesh label 5
of LABELS as a straightforward reference would (find the label's box in the whole scan, pad it by
one voxel, marching cubes at level 0.5, one thread); one warm-up, then the median of RUNS runs.

    skimage_remesh.py LABELS RUNS
"""
import statistics, sys, time
import nibabel as nib
import numpy as np
from skimage import measure

img = nib.load(sys.argv[1])
data = np.asarray(img.dataobj)
runs = int(sys.argv[2])
spacing = tuple(float(s) for s in img.header.get_zooms()[:3])

def remesh():
    m = data == 5
    box = []
    for ax in range(3):
        other = tuple(a for a in range(3) if a != ax)
        nz = np.nonzero(m.any(axis=other))[0]
        box.append(slice(nz[0], nz[-1] + 1))
    sub = np.pad(m[tuple(box)], 1).astype(np.uint8)
    _, faces, _, _ = measure.marching_cubes(sub, 0.5, spacing=spacing)
    return len(faces)

remesh()  # warm-up
wall, cpu = [], []
for _ in range(runs):
    w0, c0 = time.perf_counter(), time.process_time()
    n = remesh()
    wall.append(time.perf_counter() - w0)
    cpu.append(time.process_time() - c0)
print(f"skimage marching_cubes: median {1e3*statistics.median(wall):.1f} ms wall, "
      f"{1e3*statistics.median(cpu):.1f} ms CPU, {n} triangles")
