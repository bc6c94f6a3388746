"""The SciPy-free stand-ins of polycl.ndi give SciPy's answers."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from polycl import ndi


@pytest.fixture
def no_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndi, "_ndi", None)


def _blobs(seed: int, shape=(20, 18, 9)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.binary_opening(rng.random(shape) < 0.45, iterations=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_surface_is_scipys_erosion(seed: int) -> None:
    m = _blobs(seed)
    er = ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(3, 1), border_value=0)
    assert np.array_equal(ndi.surface(m), m & ~er)


@pytest.mark.parametrize("seed", [0, 1])
def test_distances_without_scipy(no_scipy: None, seed: int) -> None:
    a, b = ndi.surface(_blobs(seed)), ndi.surface(_blobs(seed + 10))
    spacing = (1.5, 0.8, 3.0)
    want = ndimage.distance_transform_edt(~b, sampling=spacing)[a]
    np.testing.assert_allclose(ndi.distances_to(a, b, spacing), want, atol=1e-9)


@pytest.mark.parametrize("seed,connectivity", [(0, 26), (1, 26), (2, 26), (0, 6), (1, 6)])
def test_largest_component_without_scipy(no_scipy: None, seed: int, connectivity: int) -> None:
    m = np.random.default_rng(seed).random((16, 15, 7)) < 0.3
    structure = np.ones((3, 3, 3), bool) if connectivity == 26 else ndimage.generate_binary_structure(3, 1)
    lab, n = ndimage.label(m, structure=structure)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    got = ndi.largest_component(m, connectivity)
    assert got.sum() == sizes.max() and np.array_equal(got, lab == sizes.argmax()) or (sizes == sizes.max()).sum() > 1


def test_six_connectivity_splits_diagonal_neighbours() -> None:
    m = np.zeros((3, 3, 3), bool)
    m[0, 0, 0] = m[1, 1, 0] = m[2, 2, 0] = m[2, 2, 1] = True  # one 26-component, three 6-components
    assert ndi.largest_component(m, 26).sum() == 4
    assert ndi.largest_component(m, 6).sum() == 2


def test_affine_nearest_without_scipy(no_scipy: None) -> None:
    data = np.arange(6 * 5 * 4, dtype=np.uint8).reshape(6, 5, 4)
    m = np.array([[-1.0, 0, 0], [0, 1, 0], [0, 0, 0.5]])
    off = np.array([5.0, 0.4, 0.2])
    want = ndimage.affine_transform(data, m, offset=off, output_shape=(7, 5, 8), order=0, mode="constant", cval=0)
    assert np.array_equal(ndi.affine_nearest(data, m, off, (7, 5, 8)), want)


def test_bounding_box() -> None:
    m = np.zeros((5, 6, 7), bool)
    m[1, 2, 3] = m[3, 4, 5] = True
    assert ndi.bounding_box(m) == ndimage.find_objects(m.astype(np.uint8))[0]
