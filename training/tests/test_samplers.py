from __future__ import annotations

import numpy as np
import pytest

from polycl.samplers import TripletSampler

# 3 scans x 6 slices; the organ is on slices 2-4 of scans 0 and 1, and on every slice of scan 2
SCAN = np.repeat([0, 1, 2], 6)
PRESENT = np.array([0, 0, 1, 1, 1, 0] * 2 + [1] * 6)



@pytest.mark.parametrize("strategy,m_negative", [("polycl-s", "same-scan"), ("polycl-o", "same-scan"),
                                                  ("polycl-m", "same-scan"), ("polycl-m", "other-scan")])
def test_definitions(strategy: str, m_negative: str) -> None:
    s = TripletSampler(SCAN, PRESENT, strategy, seed=1, m_negative=m_negative)
    for epoch in range(3):
        t = s.epoch(epoch)
        a, p, n = t.anchor, t.positive, t.negative
        assert len(a) + t.skipped == len(SCAN)
        assert (a != p).all()
        if strategy == "polycl-s":
            assert (SCAN[p] == SCAN[a]).all() and (SCAN[n] != SCAN[a]).all()
        if strategy == "polycl-o":
            assert (PRESENT[p] == PRESENT[a]).all() and (PRESENT[n] != PRESENT[a]).all()
        if strategy == "polycl-m":
            assert (SCAN[p] == SCAN[a]).all() and (PRESENT[p] == PRESENT[a]).all()
            assert (PRESENT[n] != PRESENT[a]).all()
            if m_negative == "same-scan":
                assert (SCAN[n] == SCAN[a]).all()
            else:
                assert (SCAN[n] != SCAN[a]).all()


def test_polycl_m_same_scan_skips_scan_without_negatives() -> None:
    t = TripletSampler(SCAN, PRESENT, "polycl-m", seed=0).epoch(0)
    assert t.skipped == 6 and not np.isin(t.anchor, np.flatnonzero(SCAN == 2)).any()
    # the authors' variant finds negatives for scan 2 in other scans
    t = TripletSampler(SCAN, PRESENT, "polycl-m", seed=0, m_negative="other-scan").epoch(0)
    assert t.skipped == 0


def test_resampled_each_epoch_and_reproducible() -> None:
    s = TripletSampler(SCAN, PRESENT, "polycl-o", seed=5)
    e0, e1 = s.epoch(0), s.epoch(1)
    pairs = lambda t: {(int(a), int(p), int(n)) for a, p, n in zip(t.anchor, t.positive, t.negative)}  # noqa: E731
    assert pairs(e0) != pairs(e1)
    again = TripletSampler(SCAN, PRESENT, "polycl-o", seed=5).epoch(1)
    np.testing.assert_array_equal(again.positive, e1.positive)
    np.testing.assert_array_equal(again.negative, e1.negative)
    other_seed = TripletSampler(SCAN, PRESENT, "polycl-o", seed=6).epoch(1)
    assert pairs(other_seed) != pairs(e1)


def test_unknown_presence_only_in_polycl_s() -> None:
    present = PRESENT.copy()
    present[SCAN == 1] = -1  # an unlabelled scan
    for strategy in ("polycl-o", "polycl-m"):
        t = TripletSampler(SCAN, present, strategy, seed=0, m_negative="other-scan").epoch(0)
        used = np.concatenate([t.anchor, t.positive, t.negative])
        assert not np.isin(used, np.flatnonzero(SCAN == 1)).any()
    t = TripletSampler(SCAN, present, "polycl-s", seed=0).epoch(0)
    assert np.isin(t.anchor, np.flatnonzero(SCAN == 1)).sum() == 6


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        TripletSampler(SCAN, PRESENT, "polycl-x")
    with pytest.raises(ValueError):
        TripletSampler(SCAN, PRESENT, "polycl-m", m_negative="nearby")


@pytest.mark.parametrize("strategy", ["polycl-o+s", "polycl-m+s"])
def test_mixed_strategies_use_s_for_scans_without_labels(strategy: str) -> None:
    # scan 3 has no labels (presence unknown): its anchors follow PolyCL-S, the others -O/-M
    scan = np.concatenate([SCAN, np.full(5, 3)])
    present = np.concatenate([PRESENT, np.full(5, -1)])
    s = TripletSampler(scan, present, strategy, seed=2)
    t = s.epoch(0)
    a, p, n = t.anchor, t.positive, t.negative
    assert len(a) + t.skipped == len(scan) and set(np.flatnonzero(scan == 3)) <= set(a)
    unk = present[a] < 0
    assert (scan[p[unk]] == scan[a[unk]]).all() and (scan[n[unk]] != scan[a[unk]]).all()
    known = ~unk
    # known anchors never pair with slices of unknown presence
    assert (present[p[known]] == present[a[known]]).all() and (present[n[known]] == 1 - present[a[known]]).all()
    if strategy == "polycl-m+s":
        assert (scan[p[known]] == scan[a[known]]).all() and (scan[n[known]] == scan[a[known]]).all()
