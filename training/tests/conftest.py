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
