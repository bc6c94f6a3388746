"""Reading and checking nnU-Net v2 raw datasets (polycl.nnunet)."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from polycl.nnunet import DatasetError, check, is_nnunet, pick_validation, read_dataset, read_done, read_msd


@pytest.fixture
def ds_copy(nnunet_ds: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(nnunet_ds, tmp_path / "ds"))


def _meta(root: Path) -> dict:
    return json.loads((root / "dataset.json").read_text())


def _set_meta(root: Path, **kv: object) -> None:
    m = _meta(root)
    for k, v in kv.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    (root / "dataset.json").write_text(json.dumps(m))


def _problems(root: Path, done: set[str] | None = None) -> str:
    with pytest.raises(DatasetError) as e:
        check(read_dataset(root, done), log=lambda m: None)
    return str(e.value)


def test_reads_cases_labelled_and_unlabelled(nnunet_ds: Path) -> None:
    assert is_nnunet(nnunet_ds)
    ds = read_dataset(nnunet_ds)
    assert ds.labels == {"liver": 1, "spleen": 2} and ds.label_names == ["liver", "spleen"]
    assert [c.name for c in ds.done] == ["case00", "case01", "case02", "case03"]
    assert [c.name for c in ds.unlabelled] == ["case04", "case05"]  # imagesTr without label, imagesTs
    for c in ds.done:
        assert c.label.name == f"{c.name}.nii.gz" and c.images[0].name == f"{c.name}_0000.nii.gz"
    assert all(c.case().label is None for c in ds.unlabelled)
    assert check(ds, log=lambda m: None) == []


def test_not_done_cases_are_unlabelled(nnunet_ds: Path) -> None:
    ds = read_dataset(nnunet_ds, done={"case01", "case03"})
    assert [c.name for c in ds.done] == ["case01", "case03"]
    c0 = next(c for c in ds.cases if c.name == "case00")
    assert c0.label is not None and not c0.done and c0.case().label is None


def test_done_list_must_name_labelled_cases(nnunet_ds: Path) -> None:
    with pytest.raises(DatasetError, match="case case04: marked done but has no label file"):
        read_dataset(nnunet_ds, done={"case00", "case04"})
    with pytest.raises(DatasetError, match="case nope: marked done but there is no such case"):
        read_dataset(nnunet_ds, done={"nope"})


def test_read_done_forms(tmp_path: Path) -> None:
    assert read_done(None, None) is None
    assert read_done("a, b,", None) == {"a", "b"}
    (tmp_path / "l.json").write_text('["x", "y"]')
    (tmp_path / "o.json").write_text('{"done": ["z"]}')
    (tmp_path / "bad.json").write_text('{"done": "z"}')
    assert read_done("a", tmp_path / "l.json") == {"a", "x", "y"}
    assert read_done(None, tmp_path / "o.json") == {"z"}
    with pytest.raises(ValueError, match="bad.json"):
        read_done(None, tmp_path / "bad.json")


@pytest.mark.parametrize("change,message", [
    ({"labels": None}, "missing required keys ['labels']"),
    ({"file_ending": None}, "missing required keys ['file_ending']"),
    ({"labels": {"background": 0, "liver": 1, "spleen": 3}}, "must be consecutive"),
    ({"labels": {"liver": 1, "spleen": 2}}, "no background label"),
    ({"labels": {"background": 0, "liver": [1, 2]}}, 'label "liver" is a region'),
    ({"labels": {"background": 0, "liver": 1, "ignore": 2}}, '"ignore" label is not supported'),
    ({"channel_names": {"0": "CT", "1": "PET"}}, "2 channels"),
    ({"file_ending": ".mha"}, 'file_ending ".mha"'),
    ({"numTraining": 3}, "numTraining is 3, but imagesTr holds 5 cases, 4 of them with labels"),
])
def test_bad_dataset_json(ds_copy: Path, change: dict, message: str) -> None:
    _set_meta(ds_copy, **change)
    with pytest.raises(DatasetError) as e:
        read_dataset(ds_copy)
    assert message in str(e.value)


def test_num_training_may_count_labelled_cases_only(ds_copy: Path) -> None:
    _set_meta(ds_copy, numTraining=4)
    assert len(read_dataset(ds_copy).done) == 4


def test_undeclared_label_value_names_the_case(ds_copy: Path) -> None:
    p = ds_copy / "labelsTr" / "case02.nii.gz"
    img = nib.load(str(p))
    seg = np.asarray(img.dataobj).copy()
    seg[0, 0, 0] = 7
    nib.save(nib.Nifti1Image(seg, img.affine), str(p))
    msg = _problems(ds_copy)
    assert "case case02" in msg and "values [7]" in msg and "declared [0, 1, 2]" in msg


@pytest.mark.parametrize("what,message", [
    ("shape", "has shape (48, 40, 9), image"),
    ("spacing", "spacing (6.0, 5.0, 6.0) mm"),
    ("origin", "differ in origin or direction"),
])
def test_label_off_the_image_grid(ds_copy: Path, what: str, message: str) -> None:
    p = ds_copy / "labelsTr" / "case01.nii.gz"
    img = nib.load(str(p))
    seg, aff = np.asarray(img.dataobj), img.affine.copy()
    if what == "shape":
        seg = seg[:, :, :9]
    elif what == "spacing":
        aff[2, 2] = 6.0
    else:
        aff[:3, 3] += 10.0
    nib.save(nib.Nifti1Image(seg, aff), str(p))
    msg = _problems(ds_copy)
    assert "case case01" in msg and message in msg, msg


def test_truncated_file_and_missing_image(ds_copy: Path) -> None:
    p = ds_copy / "imagesTr" / "case03_0000.nii.gz"
    p.write_bytes(p.read_bytes()[:400])
    shutil.copy(ds_copy / "labelsTr" / "case00.nii.gz", ds_copy / "labelsTr" / "orphan.nii.gz")
    with pytest.raises(DatasetError, match="case orphan: label .* has no image imagesTr/orphan_0000.nii.gz"):
        read_dataset(ds_copy)
    (ds_copy / "labelsTr" / "orphan.nii.gz").unlink()
    msg = _problems(ds_copy)
    assert "case case03" in msg and "case03_0000.nii.gz: not a readable NIfTI file" in msg


def test_all_problems_reported_at_once(ds_copy: Path) -> None:
    for name in ("case00", "case02"):
        p = ds_copy / "labelsTr" / f"{name}.nii.gz"
        img = nib.load(str(p))
        nib.save(nib.Nifti1Image(np.asarray(img.dataobj) + 3, img.affine), str(p))
    with pytest.raises(DatasetError) as e:
        check(read_dataset(ds_copy), log=lambda m: None)
    assert len(e.value.problems) == 2 and "case case00" in str(e.value) and "case case02" in str(e.value)


def test_background_only_label_is_a_warning(ds_copy: Path) -> None:
    p = ds_copy / "labelsTr" / "case01.nii.gz"
    img = nib.load(str(p))
    nib.save(nib.Nifti1Image(np.zeros(img.shape, np.uint8), img.affine), str(p))
    warnings = check(read_dataset(ds_copy), log=lambda m: None)
    assert warnings == [f"case case01: label {p} holds only background (0)"]


def test_pick_validation(nnunet_ds: Path) -> None:
    ds = read_dataset(nnunet_ds)
    picks = {pick_validation(ds, seed) for seed in range(8)}
    assert picks <= {"case00", "case01", "case02", "case03"} and len(picks) > 1
    assert pick_validation(ds, 3) == pick_validation(ds, 3)
    assert pick_validation(ds, 0, "case02") == "case02"
    with pytest.raises(ValueError, match="not a done case"):
        pick_validation(ds, 0, "case04")
    assert pick_validation(read_dataset(nnunet_ds, {"case00", "case01"}), 0) is None  # fewer than 3 done


def test_msd_folder(msd_a: Path) -> None:
    assert not is_nnunet(msd_a)
    ds = read_msd(msd_a, labels={"liver": 5})
    assert ds.labels == {"liver": 5} and len(ds.done) == 4
    assert check(ds, log=lambda m: None) == []  # the other declared values (spleen, kidneys) are allowed


def test_gzip_of_wrong_content_is_named(ds_copy: Path) -> None:
    p = ds_copy / "labelsTr" / "case00.nii.gz"
    p.write_bytes(gzip.compress(b"not a nifti file" * 30))
    msg = _problems(ds_copy)
    assert "case case00" in msg and "case00.nii.gz: not a readable NIfTI file" in msg
