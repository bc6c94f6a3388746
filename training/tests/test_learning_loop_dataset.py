"""scripts/learning_loop_dataset.sh (the learning-loop dataset made with `polyseg dataset
init/add`) and scripts/learning_loop_compare.py, on tiny scans: labels reduced to 1..7, patient
B not done, and the comparison failing where the data differ. Builds polyseg (seconds with a
warm Go build cache)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from polycl.nnunet import check, read_dataset, read_done

TRAINING = Path(__file__).resolve().parents[1]
ORGANS = {"background": 0, "spleen": 1, "kidney_right": 2, "kidney_left": 3, "gallbladder": 4,
          "liver": 5, "stomach": 6, "pancreas": 7}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain to build polyseg")
    tmp = tmp_path_factory.mktemp("lldata")
    polyseg = tmp / "polyseg"
    subprocess.run(["go", "build", "-o", str(polyseg), "./cmd/polyseg"], cwd=TRAINING.parent, check=True)
    subprocess.run([str(polyseg), "phantom", str(tmp / "phant"), "--msd", "--count", "2", "--seed", "7",
                    "--size", "32", "--slices", "12"], check=True, capture_output=True)
    # Patient A: int32 HU on a grid stored LPS-like (flipped x and y), labels with values beyond 7
    rng = np.random.default_rng(0)
    affine = np.diag([-2.0, -2.0, 3.0, 1.0])
    affine[:3, 3] = [40, 30, -20]
    ct = rng.integers(-1000, 1500, (24, 20, 10)).astype(np.int32)
    seg = rng.integers(0, 12, ct.shape).astype(np.uint8)
    nib.save(nib.Nifti1Image(ct, affine), tmp / "a_ct.nii.gz")
    nib.save(nib.Nifti1Image(seg, affine), tmp / "a_seg.nii.gz")
    nib.save(nib.Nifti1Image(rng.integers(-1000, 1000, (16, 16, 6)).astype(np.int16), np.diag([2.5, 2.5, 5, 1])), tmp / "b_ct.nii.gz")
    out = tmp / "ds"
    env = dict(os.environ, PY=sys.executable, POLYSEG=str(polyseg))
    cmd = ["scripts/learning_loop_dataset.sh", str(out), "--patient-a", str(tmp / "a_ct.nii.gz"), str(tmp / "a_seg.nii.gz"),
           "--patient-b", str(tmp / "b_ct.nii.gz"), "--phantoms", str(tmp / "phant")]
    r = subprocess.run(cmd, cwd=TRAINING, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    again = subprocess.run(cmd, cwd=TRAINING, env=env, capture_output=True, text=True)
    return {"tmp": tmp, "out": out, "seg": seg, "stdout": r.stdout, "again": again}


def test_done_cases_leave_patient_b_unlabelled(built):
    out = built["out"]
    done = json.loads((out / "done.json").read_text())["done"]
    assert done == ["patientA", "phantom_A_0007", "phantom_A_0008"]
    assert "polyseg train --cases patientA,phantom_A_0007,phantom_A_0008 " in built["stdout"]
    ds = read_dataset(out, read_done(None, out / "done.json"))
    assert [c.name for c in ds.unlabelled] == ["patientB"]
    assert sorted(c.name for c in ds.done) == done
    assert check(ds) == []
    # dataset add gave B an empty label file: without the list B would be a done case
    assert (out / "labelsTr" / "patientB.nii.gz").is_file()
    assert "patientB" in [c.name for c in read_dataset(out).done]


def test_labels_reduced_to_the_seven_organs(built):
    out = built["out"]
    assert json.loads((out / "dataset.json").read_text())["labels"] == ORGANS
    got = np.asanyarray(nib.load(out / "labelsTr" / "patientA.nii.gz").dataobj)
    seg = built["seg"]
    np.testing.assert_array_equal(got, np.where(seg <= 7, seg, 0))
    for name in ("phantom_A_0007", "phantom_A_0008"):
        src = np.asanyarray(nib.load(built["tmp"] / "phant" / "labelsTr" / f"{name}.nii.gz").dataobj)
        assert src.max() > 7  # the phantoms hold bowel, bones and vessels too
        lab = np.asanyarray(nib.load(out / "labelsTr" / f"{name}.nii.gz").dataobj)
        np.testing.assert_array_equal(lab, np.where(src <= 7, src, 0))


def test_existing_output_is_refused(built):
    assert built["again"].returncode != 0 and "exists" in built["again"].stderr


def compare(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/learning_loop_compare.py", str(a), str(b)], cwd=TRAINING,
                          capture_output=True, text=True)


def test_compare_finds_what_differs(built, tmp_path):
    out = built["out"]
    r = compare(out, out)
    assert r.returncode == 0 and "summary: 4 cases, 4 the same" in r.stdout, r.stdout
    assert "patientB: same image; unlabelled in both" in r.stdout

    other = tmp_path / "ds"
    shutil.copytree(out, other)
    p = other / "labelsTr" / "phantom_A_0008.nii.gz"
    img = nib.load(p)
    lab = np.asanyarray(img.dataobj).copy()
    lab[0, 0, 0] = 5 if lab[0, 0, 0] != 5 else 1
    nib.save(nib.Nifti1Image(lab, img.affine, img.header), p)
    (other / "done.json").write_text(json.dumps({"done": ["patientA", "phantom_A_0007", "phantom_A_0008", "patientB"]}))
    r = compare(out, other)
    assert r.returncode == 1
    assert "phantom_A_0008: DIFFERS: label voxels differ at 1 of" in r.stdout
    assert "phantom_A_0007: same image and label" in r.stdout
    assert "patientB: DIFFERS: labelled in NEW only" in r.stdout
    # the former builder's layout: no done.json, no label file for B
    (other / "done.json").unlink()
    (other / "labelsTr" / "patientB.nii.gz").unlink()
    r = compare(other, out)
    assert "patientB: same image; unlabelled in both" in r.stdout
