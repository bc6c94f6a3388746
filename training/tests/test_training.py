from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from polycl.finetune import FinetuneConfig, finetune, load_unet
from polycl.losses import DiceLoss
from polycl.model import UNet, UNetConfig
from polycl.pretrain import NonFiniteLoss, PretrainConfig, pretrain

SMALL = UNetConfig(channels=(4, 8), proj_dim=16)


@pytest.mark.parametrize("strategy,loss", [("polycl-s", "triplet"), ("polycl-o", "infonce"), ("polycl-m", "triplet"), ("simclr", "triplet")])
def test_pretrain_writes_loadable_encoder(cache, tmp_path: Path, strategy: str, loss: str) -> None:
    ck = pretrain(cache, np.arange(len(cache.scan)), SMALL, PretrainConfig(strategy=strategy, loss=loss, epochs=2, batch_size=8, max_anchors=16),
                  tmp_path, progress=False)
    state = torch.load(ck)
    assert state["pretrain_config"]["strategy"] == strategy and len(state["history"]) == 2
    assert all(np.isfinite(h["loss"]) for h in state["history"])
    assert (tmp_path / "pretrain_loss.png").stat().st_size > 0
    log = [json.loads(l) for l in (tmp_path / "pretrain.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "start" and log[-1]["event"] == "done"
    # fine-tuning starts from exactly these encoder weights
    unet = UNet(SMALL)
    from polycl.finetune import load_encoder

    load_encoder(unet, ck)
    for k, v in unet.encoder.state_dict().items():
        torch.testing.assert_close(v, state["encoder"][k])


def test_centred_embeddings_leave_the_collapsed_start(cache, tmp_path: Path) -> None:
    """At initialisation every slice's embedding is nearly the same vector, so the paper's loss
    starts at ln 2 whatever the pairs; centred on the batch mean it does not."""
    runs = {}
    for center in (False, True):
        ck = pretrain(cache, np.arange(len(cache.scan)), SMALL, PretrainConfig(strategy="polycl-s", epochs=1, batch_size=8, max_anchors=16,
                      center=center, seed=0), tmp_path / str(center), progress=False)
        runs[center] = torch.load(ck)
    assert runs[True]["pretrain_config"]["center"] is True
    assert abs(runs[False]["history"][0]["loss"] - np.log(2)) < 0.01
    assert abs(runs[True]["history"][0]["loss"] - np.log(2)) > 0.02


def _loss_on(unet: UNet, cache, ids: np.ndarray) -> float:
    unet.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(cache.images[ids]))[:, None]
        y = torch.from_numpy(np.asarray(cache.masks[ids])).float()
        return DiceLoss(1.0)(unet(x), y).item()


def test_one_epoch_lowers_the_loss(cache, tmp_path: Path) -> None:
    ids = np.flatnonzero(cache.scan < 2)
    torch.manual_seed(0)
    before = _loss_on(UNet(SMALL), cache, ids)  # same seed -> same initial weights as finetune's
    cfg = FinetuneConfig(epochs=1, steps_per_epoch=12, batch_size=8, lr=3e-3, bce_weight=1.0, seed=0)
    best = finetune(cache, ids, np.flatnonzero(cache.scan == 3), SMALL, cfg, tmp_path, progress=False)
    unet, ck = load_unet(best)
    assert _loss_on(unet, cache, ids) < before
    assert ck["finetune_config"]["bce_weight"] == 1.0 and ck["model_config"]["channels"] == [4, 8]
    assert ck["preprocess"]["size"] == 32 and ck["labels"] == [5]


def test_resume_continues_from_last(cache, tmp_path: Path) -> None:
    ids = np.flatnonzero(cache.scan < 2)
    cfg = FinetuneConfig(epochs=1, steps_per_epoch=2, batch_size=4)
    finetune(cache, ids, ids[:4], SMALL, cfg, tmp_path, progress=False)
    cfg.epochs = 3
    finetune(cache, ids, ids[:4], SMALL, cfg, tmp_path, resume=True, progress=False)
    last = torch.load(tmp_path / "last.pt")
    assert last["epoch"] == 3 and [h["epoch"] for h in last["history"]] == [1, 2, 3]
    log = (tmp_path / "finetune.jsonl").read_text()
    assert '"event": "resume", "epoch": 1' in log
    assert (tmp_path / "finetune_dice.png").is_file()


def test_non_finite_loss_stops(cache, tmp_path: Path) -> None:
    with pytest.raises(NonFiniteLoss):
        finetune(cache, np.arange(8), np.arange(4), SMALL, FinetuneConfig(epochs=1, steps_per_epoch=5, lr=1e30, batch_size=4), tmp_path, progress=False)


def test_frozen_encoder_warmup_leaves_encoder_unchanged(cache, tmp_path: Path) -> None:
    torch.manual_seed(0)
    init = {k: v.clone() for k, v in UNet(SMALL).encoder.state_dict().items()}
    cfg = FinetuneConfig(epochs=1, steps_per_epoch=3, batch_size=4, freeze_encoder_epochs=1, seed=0)
    unet, _ = load_unet(finetune(cache, np.arange(16), np.arange(16, 20), SMALL, cfg, tmp_path, progress=False))
    for k, v in unet.encoder.state_dict().items():
        torch.testing.assert_close(v, init[k])


def test_softmax_finetuning_with_augmentation(cache, tmp_path: Path) -> None:
    from polycl.augment import SegAugmentConfig
    from polycl.finetune import predict_labels, validate

    cfg3 = UNetConfig(out_channels=2, channels=(4, 8), proj_dim=16)  # background + liver
    ids = np.flatnonzero(cache.scan < 2)
    cfg = FinetuneConfig(epochs=2, steps_per_epoch=6, batch_size=8, lr=3e-3, seed=0, activation="softmax", augment=SegAugmentConfig())
    events = []
    best = finetune(cache, ids, np.flatnonzero(cache.scan == 3), cfg3, cfg, tmp_path, progress=False, on_progress=events.append)
    unet, ck = load_unet(best)
    assert ck["activation"] == "softmax" and ck["finetune_config"]["augment"]["p_spatial"] == 0.8
    steps = [e for e in events if e["event"] == "step"]
    assert len(steps) == 12 and steps[-1] == {**steps[-1], "phase": "finetune", "epoch": 2, "epochs": 2, "step": 6, "steps": 6}
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
    d = validate(unet, cache, np.flatnonzero(cache.scan == 3), torch.device("cpu"), activation="softmax")
    assert len(d) == 1 and 0 <= d[0] <= 1
    with pytest.raises(ValueError, match="needs 2"):
        finetune(cache, ids, ids, SMALL, cfg, tmp_path / "x", progress=False)
    logits = torch.tensor([[[[0.0]], [[1.0]]]])
    assert predict_labels(logits, "softmax").item() == 1 and predict_labels(logits, "sigmoid").item() == 2


def test_weighted_drawing_follows_the_weights(cache, tmp_path: Path) -> None:
    from polycl.loop import finetune_weights

    w = finetune_weights(np.array([0, 0, 0, 1]), 1.0)
    np.testing.assert_allclose(w, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    np.testing.assert_allclose(finetune_weights(np.array([0, 0, 0, 1]), 0.0), [0.25] * 4)
