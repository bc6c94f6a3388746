from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from polycl.data import (Case, Preprocess, build_cache, case_name, central_range, discover_cases, from_radiological, label_map, load_case,
                         one_hot, parse_case_spec, preprocess_slices, resize_masks, to_radiological, window01)


def test_radiological_matches_manifest_formula() -> None:
    a = np.arange(4 * 3 * 2).reshape(4, 3, 2)
    s = to_radiological(a)
    for k in range(2):
        np.testing.assert_array_equal(s[k], a[::-1, ::-1, k].T)
    np.testing.assert_array_equal(from_radiological(s), a)


@pytest.mark.parametrize("hu,want", [(-1000, 0.0), (-160, 0.0), (40, 0.5), (240, 1.0), (3000, 1.0), (-60, 0.25)])
def test_window01(hu: float, want: float) -> None:
    assert window01(np.array([hu], np.float32), 40, 400)[0] == pytest.approx(want)


@pytest.mark.parametrize("n,frac,want", [(10, 1.0, (0, 10)), (10, 0.3, (3, 6)), (11, 0.3, (4, 7)), (3, 0.01, (1, 2))])
def test_central_range(n: int, frac: float, want: tuple[int, int]) -> None:
    assert central_range(n, frac) == want


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_pairs_by_name_not_order(tmp_path: Path) -> None:
    # label files whose listing order differs from the images' (and one missing label)
    aff = np.eye(4)
    for i, name in enumerate(["b_case", "a_case", "c_case"]):
        _save(tmp_path / "images" / f"{name}_0000.nii.gz", np.full((2, 2, 2), i, np.int16), aff)
        if name != "c_case":
            _save(tmp_path / "labels" / f"{name}.nii.gz", np.full((2, 2, 2), 10 + i, np.uint8), aff)
    cases = {c.name: c for c in discover_cases(tmp_path)}
    assert sorted(cases) == ["a_case", "b_case", "c_case"]
    assert cases["c_case"].label is None
    for name, i in (("b_case", 0), ("a_case", 1)):
        lc = load_case(cases[name])
        assert lc.image.max() == i and lc.label.max() == 10 + i


def test_flat_folder_with_label_suffixes(tmp_path: Path) -> None:
    aff = np.eye(4)
    for name in ("p1", "p1_labels", "p2", "p2_seg", "p3"):
        _save(tmp_path / f"{name}.nii.gz", np.zeros((2, 2, 2), np.int16), aff)
    got = {c.name: c.label.name if c.label else None for c in discover_cases(tmp_path)}
    assert got == {"p1": "p1_labels.nii.gz", "p2": "p2_seg.nii.gz", "p3": None}


def test_msd_dataset_json(msd_a: Path) -> None:
    cases = discover_cases(msd_a)
    assert len(cases) == 4
    for c in cases:
        assert case_name(c.image) == case_name(c.label) == c.name


def test_label_on_other_voxel_order_is_aligned(tmp_path: Path) -> None:
    """An LAS label over an RAS image (patient B's situation) lands on the same voxels."""
    img = np.zeros((4, 3, 2), np.int16)
    img[0, 1, 1] = 100  # the voxel that the label marks
    aff = np.diag([2.0, 3.0, 4.0, 1.0])
    _save(tmp_path / "img.nii.gz", img, aff)
    las = np.zeros((4, 3, 2), np.uint8)
    las[3, 1, 1] = 5  # x flipped: voxel 3 in LAS is voxel 0 in RAS
    aff_las = aff.copy()
    aff_las[0, 0] = -2.0
    aff_las[0, 3] = 6.0
    _save(tmp_path / "lab.nii.gz", las, aff_las)
    lc = load_case(parse_case_spec(f"x={tmp_path / 'img.nii.gz'},{tmp_path / 'lab.nii.gz'}"))
    np.testing.assert_array_equal(lc.label == 5, lc.image == 100)
    # a label on a coarser grid is resampled onto the image grid by nearest neighbour
    _save(tmp_path / "coarse.nii.gz", np.full((2, 1, 1), 5, np.uint8), np.diag([4.0, 9.0, 8.0, 1.0]))
    lc = load_case(Case("y", tmp_path / "img.nii.gz", tmp_path / "coarse.nii.gz"))
    assert lc.label.shape == img.shape and lc.label[0, 0, 0] == 5


def test_parse_case_spec_rejects_bad() -> None:
    with pytest.raises(ValueError):
        parse_case_spec("no-equals")
    with pytest.raises(ValueError):
        parse_case_spec("a=b,c,d")


def test_cache_contents_and_reuse(msd_a: Path, cache, tmp_path: Path) -> None:
    cases = discover_cases(msd_a)
    assert cache.images.shape == (48, 32, 32) and cache.masks.shape == (48, 1, 32, 32)
    assert isinstance(cache.images, np.memmap)
    lc = load_case(cases[1])
    x, m, present, start = preprocess_slices(lc, cache.preprocess, [5])
    ids = cache.slices_of([cases[1].name])
    np.testing.assert_array_equal(cache.images[ids], x)
    np.testing.assert_array_equal(cache.labelmap[ids], m)
    np.testing.assert_array_equal(cache.masks[ids][:, 0], m == 1)
    np.testing.assert_array_equal(cache.masks[int(ids[2])], cache.masks[ids][2])
    np.testing.assert_array_equal(cache.present[ids, 0], (lc.label == 5).any(axis=(0, 1)))  # per axial slice
    assert set(cache.present[:, 0]) == {0, 1}  # the liver is absent from some slices
    # the same inputs reopen the same cache directory instead of rebuilding
    again = build_cache(cases, cache.preprocess, [5], cache.root.parent, log=lambda m: pytest.fail("rebuilt: " + m))
    assert again.root == cache.root


def test_label_map_and_one_hot_are_the_per_label_masks() -> None:
    lab = np.array([[[0, 5, 1], [7, 5, 300]]])  # values not listed become background
    lm = label_map(lab, [5, 1, 7])
    np.testing.assert_array_equal(lm, [[[0, 1, 2], [3, 1, 0]]])
    oh = one_hot(lm, 3)
    for k, v in enumerate([5, 1, 7]):
        np.testing.assert_array_equal(oh[:, k], lab == v)
    # resizing the map by nearest neighbour is resizing every mask
    big = np.random.default_rng(0).integers(0, 4, (3, 9, 7)).astype(np.uint8)
    np.testing.assert_array_equal(one_hot(resize_masks(big[:, None], 5)[:, 0], 3), resize_masks(one_hot(big, 3), 5))


def test_unlabelled_case_has_unknown_presence(msd_a: Path, tmp_path: Path) -> None:
    c = discover_cases(msd_a)[0]
    c.label = None
    cache = build_cache([c], Preprocess(size=32, central_fraction=0.5), [5], tmp_path, log=lambda m: None)
    assert len(cache.scan) == 6 and (cache.present == -1).all() and cache.slice[0] == 3
