#!/usr/bin/env python3
"""Builds the learning-loop experiment's dataset in nnU-Net v2 raw layout (docs/learning-loop.md)
until `polyseg dataset add` exists: patient A as the one real labelled case, `polyseg phantom`
scans as further labelled cases, patient B as an unlabelled image.

    scripts/learning_loop_data.py OUT --patient-a CT SEG --patient-b CT [--phantoms DIR ...]

Labels: the seven abdominal organs, whose TotalSegmentator v2 values 1..7 are already
consecutive (spleen 1, kidney_right 2, kidney_left 3, gallbladder 4, liver 5, stomach 6,
pancreas 7); every other value (adrenal glands, vessels, bones, bowel ...) becomes background.
Images are symbolic links to their sources (nothing from ../shared is copied); label volumes
are rewritten with the remapped values on the image's own grid and header. Writes into OUT
atomically (a temporary folder renamed at the end).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

LABELS = {"background": 0, "spleen": 1, "kidney_right": 2, "kidney_left": 3, "gallbladder": 4, "liver": 5, "stomach": 6, "pancreas": 7}


def remap(src: Path, dst: Path) -> dict[str, int]:
    """Write src's label volume with values outside 1..7 set to 0; voxel counts per kept label."""
    img = nib.load(str(src))
    seg = np.asarray(img.dataobj)
    keep = (seg >= 1) & (seg <= 7)
    out = np.where(keep, seg, 0).astype(np.uint8)
    hdr = img.header.copy()
    hdr.set_data_dtype(np.uint8)
    hdr["scl_slope"], hdr["scl_inter"] = 1, 0
    nib.save(nib.Nifti1Image(out, img.affine, hdr), str(dst))
    return {n: int((out == v).sum()) for n, v in LABELS.items() if v}


def link(src: Path, dst: Path) -> None:
    os.symlink(os.path.abspath(src), dst)


def msd_cases(root: Path) -> list[tuple[str, Path, Path]]:
    meta = json.loads((root / "dataset.json").read_text())
    out = []
    for item in meta["training"]:
        img, lab = (root / item["image"]).resolve(), (root / item["label"]).resolve()
        name = img.name.removesuffix(".nii.gz").removesuffix("_0000")
        out.append((name, img, lab))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--patient-a", nargs=2, type=Path, metavar=("CT", "SEG"), required=True)
    ap.add_argument("--patient-b", type=Path, metavar="CT", help="unlabelled CT (NIfTI)")
    ap.add_argument("--phantoms", action="append", type=Path, default=[], help="an MSD folder from `polyseg phantom --msd`; repeatable")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if args.out.exists() and not args.force:
        sys.exit(f"{args.out} exists (--force replaces it)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{args.out.name}.", dir=args.out.parent))
    try:
        (tmp / "imagesTr").mkdir()
        (tmp / "labelsTr").mkdir()
        sources = {}
        link(args.patient_a[0], tmp / "imagesTr" / "patientA_0000.nii.gz")
        counts = {"patientA": remap(args.patient_a[1], tmp / "labelsTr" / "patientA.nii.gz")}
        sources["patientA"] = [str(p) for p in args.patient_a]
        n = 1
        for root in args.phantoms:
            for name, img, lab in msd_cases(root):
                link(img, tmp / "imagesTr" / f"{name}_0000.nii.gz")
                counts[name] = remap(lab, tmp / "labelsTr" / f"{name}.nii.gz")
                sources[name] = [str(img), str(lab)]
                n += 1
        if args.patient_b:
            link(args.patient_b, tmp / "imagesTr" / "patientB_0000.nii.gz")
            sources["patientB"] = [str(args.patient_b)]
            n += 1
        meta = {"name": "polyseg learning loop: patient A + phantoms, patient B unlabelled",
                "description": "built by training/scripts/learning_loop_data.py; labels are TotalSegmentator v2 values 1-7 (others set to 0)",
                "labels": LABELS, "channel_names": {"0": "CT"}, "numTraining": n, "file_ending": ".nii.gz",
                "polyseg_sources": sources, "polyseg_label_voxels": counts}
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
        if args.out.exists():
            shutil.rmtree(args.out)
        os.rename(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {args.out}: {n} images, {len(counts)} labelled")


if __name__ == "__main__":
    main()
