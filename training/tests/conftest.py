"""Fixtures: tiny synthetic CT datasets written as NIfTI (a few 64x64 slices per scan)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polycl.phantom import write_msd  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def msd_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four scanner-A phantoms, 64x64x12, MSD layout."""
    root = tmp_path_factory.mktemp("msd_a")
    write_msd(root, 4, seed=3, scanner="A", shape=(64, 64, 12), spacing=(6.0, 5.0, 16.0))
    return root


@pytest.fixture(scope="session")
def cache(msd_a: Path, tmp_path_factory: pytest.TempPathFactory):
    from polycl.data import Preprocess, build_cache, discover_cases

    return build_cache(discover_cases(msd_a), Preprocess(size=32), [5], tmp_path_factory.mktemp("cache"), log=lambda m: None)


def write_nnunet(root: Path, labelled: int = 4, unlabelled: int = 1, test_images: int = 1, shape=(48, 40, 10), seed: int = 5) -> Path:
    """A tiny nnU-Net v2 raw dataset from the Python phantoms: labels liver 1, spleen 2 (the
    phantoms' kidneys become background); `labelled` cases with labels, `unlabelled` images in
    imagesTr without labels, `test_images` images in imagesTs."""
    import json

    import nibabel as nib
    import numpy as np

    from polycl.phantom import make_phantom

    rng = np.random.default_rng(seed)
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    spacing = (6.0, 5.0, 12.0)
    affine = np.diag([*spacing, 1.0])
    n = labelled + unlabelled + test_images
    for i in range(n):
        hu, lab = make_phantom(shape, spacing, "A" if i % 2 == 0 else "B", rng)
        seg = np.zeros_like(lab)
        seg[lab == 5], seg[lab == 1] = 1, 2
        name = f"case{i:02d}"
        sub = "imagesTr" if i < labelled + unlabelled else "imagesTs"
        nib.save(nib.Nifti1Image(hu, affine), str(root / sub / f"{name}_0000.nii.gz"))
        if i < labelled:
            nib.save(nib.Nifti1Image(seg, affine), str(root / "labelsTr" / f"{name}.nii.gz"))
    meta = {"name": "tiny", "labels": {"background": 0, "liver": 1, "spleen": 2}, "channel_names": {"0": "CT"},
            "numTraining": labelled + unlabelled, "file_ending": ".nii.gz"}
    (root / "dataset.json").write_text(json.dumps(meta, indent=1))
    return root


@pytest.fixture(scope="session")
def nnunet_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 labelled cases (case00-03), 1 unlabelled in imagesTr (case04), 1 in imagesTs (case05)."""
    return write_nnunet(tmp_path_factory.mktemp("nnunet") / "Dataset001_tiny")
