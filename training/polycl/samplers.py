"""Positive/negative selection for contrastive pre-training (docs/polycl-method.md).

With s an anchor slice, S(s) its scan and T(x) whether the target organ is on slice x:

| strategy  | positive                          | negative                                   |
|-----------|-----------------------------------|--------------------------------------------|
| polycl-s  | another slice of the same scan    | a slice of another scan                    |
| polycl-o  | any other slice with T = T(s)     | any slice with T != T(s)                   |
| polycl-m  | same scan, other slice, T = T(s)  | T != T(s): same scan (default, the paper's |
|           |                                   | figure) or another scan (the authors' code)|

New positives and negatives are drawn every epoch from a generator seeded by (seed, epoch), so a
run is reproducible and no two epochs share triplets (the reference code drew them once).
Anchors without a valid positive or negative (e.g. a scan whose every slice shows the organ,
under polycl-m with same-scan negatives) are left out of that epoch; `Triplets.skipped`
counts them. Slices of unknown organ presence (-1) take part only in polycl-s, and in the mixed
strategies `polycl-o+s` and `polycl-m+s`: there an anchor whose organ presence is known follows
-O (or -M) among the slices of known presence, and an anchor of a scan without labels follows
-S (positive: another slice of its scan; negative: a slice of any other scan), so a dataset of
some labelled and some unlabelled scans uses all of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRATEGIES = ("polycl-s", "polycl-o", "polycl-m", "polycl-o+s", "polycl-m+s")
M_NEGATIVES = ("same-scan", "other-scan")


@dataclass
class Triplets:
    anchor: np.ndarray  # (B,) slice indices into the pool
    positive: np.ndarray
    negative: np.ndarray
    skipped: int


class TripletSampler:
    def __init__(self, scan: np.ndarray, present: np.ndarray, strategy: str, seed: int = 0,
                 m_negative: str = "same-scan"):
        """scan: (N,) scan id per slice; present: (N,) target-organ flag 1/0/-1 (unknown)."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}, want one of {STRATEGIES}")
        if m_negative not in M_NEGATIVES:
            raise ValueError(f"unknown polycl-m negative {m_negative!r}, want one of {M_NEGATIVES}")
        self.scan = np.asarray(scan)
        self.present = np.asarray(present)
        self.strategy, self.seed, self.m_negative = strategy, seed, m_negative
        n = len(self.scan)
        self.mixed = strategy.endswith("+s")
        self.base = strategy[:-2] if self.mixed else strategy
        self.pool = np.arange(n) if strategy == "polycl-s" or self.mixed else np.flatnonzero(self.present >= 0)
        # candidate lists keyed by group; each anchor samples from its group minus itself
        by: dict[tuple, list[int]] = {}
        for i in self.pool:
            for k in self._group_keys(int(i)):
                by.setdefault(k, []).append(int(i))
        self._groups = {k: np.asarray(v) for k, v in by.items()}
        # slices of every other scan, per scan (polycl-s negatives)
        self._other_scans = {s: self.pool[self.scan[self.pool] != s] for s in np.unique(self.scan[self.pool])}

    def _group_keys(self, i: int) -> list[tuple]:
        s, t = int(self.scan[i]), int(self.present[i])
        return [("scan", s), ("organ", t), ("scan-organ", s, t)]

    def _pos_neg_candidates(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s, t = int(self.scan[i]), int(self.present[i])
        g = self._groups
        empty = np.empty(0, np.int64)
        if self.strategy == "polycl-s" or (self.mixed and t < 0):
            pos = g.get(("scan", s), empty)
            return pos, self._other_scans[s]
        if self.base == "polycl-o":
            return g.get(("organ", t), empty), g.get(("organ", 1 - t), empty)
        pos = g.get(("scan-organ", s, t), empty)
        if self.m_negative == "same-scan":
            return pos, g.get(("scan-organ", s, 1 - t), empty)
        other = g.get(("organ", 1 - t), empty)
        return pos, other[self.scan[other] != s]

    def epoch(self, epoch: int) -> Triplets:
        rng = np.random.default_rng([self.seed, epoch])
        anchors, pos, neg = [], [], []
        skipped = 0
        for i in rng.permutation(self.pool):
            p_c, n_c = self._pos_neg_candidates(int(i))
            no_positive = len(p_c) == 0 or (len(p_c) == 1 and p_c[0] == i)
            if no_positive or len(n_c) == 0:
                skipped += 1
                continue
            # draw a positive other than the anchor itself without building a new array
            while True:
                p = p_c[rng.integers(len(p_c))]
                if p != i:
                    break
            anchors.append(i)
            pos.append(p)
            neg.append(n_c[rng.integers(len(n_c))])
        return Triplets(np.asarray(anchors, np.int64), np.asarray(pos, np.int64), np.asarray(neg, np.int64), skipped)
