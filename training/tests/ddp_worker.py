"""Tiny pre-training and fine-tuning runs, for tests/test_dist.py: run as a plain script for one
process, or under torchrun for several. Writes OUT/<run>/... checkpoints."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polycl.augment import SegAugmentConfig  # noqa: E402
from polycl.data import Preprocess, build_cache, discover_cases  # noqa: E402
from polycl.finetune import FinetuneConfig, finetune  # noqa: E402
from polycl.model import UNetConfig  # noqa: E402
from polycl.pretrain import PretrainConfig, pretrain  # noqa: E402

SMALL = UNetConfig(channels=(4, 8), proj_dim=16)


def main(msd: str, cache_dir: str, out: str) -> None:
    torch.set_num_threads(1)
    cache = build_cache(discover_cases(Path(msd)), Preprocess(size=32), [5], Path(cache_dir), log=lambda m: None)
    out_dir = Path(out)
    pool = np.arange(len(cache.scan))
    # batch sizes that do not divide by 2 ranks, so that shards differ in size
    enc = pretrain(cache, pool, SMALL, PretrainConfig(strategy="polycl-o", loss="infonce", epochs=2, batch_size=5, max_anchors=14, seed=3, device="cpu"),
                   out_dir / "polycl-o", progress=False)
    pretrain(cache, pool, SMALL, PretrainConfig(strategy="simclr", epochs=1, batch_size=5, max_anchors=9, seed=4, device="cpu"),
             out_dir / "simclr", progress=False)
    ids = np.flatnonzero(cache.scan < 3)
    finetune(cache, ids, np.flatnonzero(cache.scan == 3), SMALL,
             FinetuneConfig(epochs=2, steps_per_epoch=3, batch_size=5, bce_weight=1.0, freeze_encoder_epochs=1, pretrained=str(enc), seed=5, device="cpu"),
             out_dir / "finetune", progress=False)
    # the learning loop's set-up: softmax over background + label, augmented batches, and the
    # mixed PolyCL-O+S sampler with one scan's organ presence unknown
    flags = np.where(cache.scan == 3, -1, cache.present[:, 0]).astype(np.int8)
    enc2 = pretrain(cache, pool, SMALL, PretrainConfig(strategy="polycl-o+s", epochs=1, batch_size=5, max_anchors=9, seed=6, device="cpu", center=True),
                    out_dir / "polycl-o+s", progress=False, present=flags)
    finetune(cache, ids, np.flatnonzero(cache.scan == 3), UNetConfig(out_channels=2, channels=(4, 8), proj_dim=16),
             FinetuneConfig(epochs=1, steps_per_epoch=2, batch_size=5, pretrained=str(enc2), seed=7, device="cpu", activation="softmax",
                            augment=SegAugmentConfig()),
             out_dir / "finetune-softmax", progress=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
