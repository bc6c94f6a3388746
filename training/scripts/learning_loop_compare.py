#!/usr/bin/env python3
"""Checks that two learning-loop datasets hold the same data, as the trainer reads it: e.g. one
built by scripts/learning_loop_dataset.sh (`polyseg dataset add`, every file rewritten by
polyseg's NIfTI writer) and the one the experiment's first runs used (built by the former
learning_loop_data.py: images linked to their sources, patient B without a label file).

    scripts/learning_loop_compare.py OLD NEW

For every case of either: the image voxels as float in RAS+ (nibabel's as_closest_canonical, as
polycl.data.load_case reads them), exactly; the affines and voxel sizes within 1e-4 mm; whether
the case is labelled as the trainer reads it (a label file, and, where the dataset has a
done.json, listed there: patient B has an empty label file that is not done); the label voxels,
exactly, of the cases labelled in both. The label names and values of dataset.json must be
equal. Prints a verdict per case and a summary; exit status 1 on any difference.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

AFFINE_TOL = 1e-4  # mm


def files(root: Path) -> tuple[dict, dict[str, Path], dict[str, Path]]:
    meta = json.loads((root / "dataset.json").read_text())
    end = meta.get("file_ending", ".nii.gz")
    images = {p.name[: -len(end)].removesuffix("_0000"): p for p in sorted((root / "imagesTr").glob(f"*_0000{end}"))}
    labels = {p.name[: -len(end)]: p for p in sorted((root / "labelsTr").glob(f"*{end}"))}
    return meta, images, labels


def canonical(path: Path):
    img = nib.as_closest_canonical(nib.load(str(path)))
    return img, img.affine


def compare_volume(a: Path, b: Path, what: str, as_int: bool) -> list[str]:
    ia, fa = canonical(a)
    ib, fb = canonical(b)
    out = []
    if ia.shape != ib.shape:
        return [f"{what} shape {ia.shape} vs {ib.shape}"]
    d = float(np.abs(fa - fb).max())
    if d > AFFINE_TOL:
        out.append(f"{what} affine differs by {d:.3g} mm")
    za, zb = (np.array(i.header.get_zooms()[:3], float) for i in (ia, ib))
    if np.abs(za - zb).max() > AFFINE_TOL:  # the trainer's spacing comes from the zooms
        out.append(f"{what} spacing {tuple(za)} vs {tuple(zb)}")
    if as_int:
        xa, xb = np.asanyarray(ia.dataobj), np.asanyarray(ib.dataobj)
        if not np.array_equal(xa.astype(np.int64), xb.astype(np.int64)):
            out.append(f"{what} voxels differ at {int((xa != xb).sum())} of {xa.size}")
    else:
        xa, xb = ia.get_fdata(dtype=np.float32), ib.get_fdata(dtype=np.float32)
        if not np.array_equal(xa, xb):
            n = int((xa != xb).sum())
            out.append(f"{what} voxels differ at {n} of {xa.size} (max |diff| {float(np.abs(xa - xb).max()):.3g})")
    return out


def header_note(a: Path, b: Path) -> str:
    """How the two files store the same voxels, when that differs (not a failure)."""
    ha, hb = nib.load(str(a)).header, nib.load(str(b)).header
    parts = []
    if ha.get_data_dtype() != hb.get_data_dtype():
        parts.append(f"dtype {ha.get_data_dtype()} -> {hb.get_data_dtype()}")
    sa, sb = (tuple(h.get_slope_inter()) for h in (ha, hb))
    if sa != sb:
        parts.append(f"scaling {sa} -> {sb}")
    oa, ob = ("".join(nib.aff2axcodes(h.get_best_affine())) for h in (ha, hb))
    if oa != ob:
        parts.append(f"stored {oa} -> {ob}")
    return ", ".join(parts)


def done_cases(root: Path) -> set[str] | None:
    """The done cases of ROOT/done.json (learning_loop_dataset.sh writes it); None without one."""
    p = root / "done.json"
    if not p.is_file():
        return None
    d = json.loads(p.read_text())
    return set(d["done"] if isinstance(d, dict) else d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args()
    meta_a, img_a, lab_a = files(args.old)
    meta_b, img_b, lab_b = files(args.new)
    done_a, done_b = done_cases(args.old), done_cases(args.new)

    bad = 0
    if meta_a.get("labels") != meta_b.get("labels"):
        print(f"dataset.json labels: DIFFER: {meta_a.get('labels')} vs {meta_b.get('labels')}")
        bad += 1
    else:
        print(f"dataset.json labels: same ({len(meta_a['labels'])}: {', '.join(f'{k} {v}' for k, v in meta_a['labels'].items())})")
    for key in ("channel_names", "file_ending", "numTraining"):
        if meta_a.get(key) != meta_b.get(key):
            print(f"dataset.json {key}: DIFFER: {meta_a.get(key)!r} vs {meta_b.get(key)!r}")
            bad += 1

    bad_cases = 0
    for case in sorted(set(img_a) | set(img_b)):
        if case not in img_a or case not in img_b:
            print(f"{case}: DIFFERS: only in {'OLD' if case in img_a else 'NEW'}")
            bad_cases += 1
            continue
        problems = compare_volume(img_a[case], img_b[case], "image", as_int=False)
        notes = [n for n in [header_note(img_a[case], img_b[case])] if n]
        # labelled as the trainer reads it: a label file, and done when the dataset says which are
        in_a = case in lab_a and (done_a is None or case in done_a)
        in_b = case in lab_b and (done_b is None or case in done_b)
        if in_a and in_b:
            problems += compare_volume(lab_a[case], lab_b[case], "label", as_int=True)
            notes += [f"label {n}" for n in [header_note(lab_a[case], lab_b[case])] if n]
            what = "image and label"
        elif in_a or in_b:
            problems.append(f"labelled in {'OLD' if in_a else 'NEW'} only (label file: OLD {case in lab_a}, NEW {case in lab_b}; "
                            f"done: OLD {'-' if done_a is None else case in done_a}, NEW {'-' if done_b is None else case in done_b})")
        else:
            what = "image; unlabelled in both"
        if problems:
            bad_cases += 1
            print(f"{case}: DIFFERS: {'; '.join(problems)}")
        else:
            print(f"{case}: same {what}" + (f" ({'; '.join(notes)})" if notes else ""))
    n = len(set(img_a) | set(img_b))
    print(f"summary: {n} cases, {n - bad_cases} the same, {bad_cases} differ; dataset.json "
          + ("differs" if bad else "the same"))
    return 1 if bad or bad_cases else 0


if __name__ == "__main__":
    sys.exit(main())
