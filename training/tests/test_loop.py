"""The learning loop end to end (polycl.loop, `python -m polycl train-dataset`) on a tiny
nnU-Net dataset: the model folder, its manifest, the JSON progress lines, refusals, and what an
interruption leaves behind."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from polycl.cli import main as cli_main
from polycl.loop import Reporter, claim_partial, main as loop_main, partial_dir

HERE = Path(__file__).resolve().parent


def _args(ds: Path, out: Path, *extra: str):
    import argparse

    from polycl.loop import add_arguments

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    return ap.parse_args(["--dataset", str(ds), "--out", str(out), "--profile", "smoke", "--device", "cpu", *extra])


def _run(ds: Path, out: Path, *extra: str) -> tuple[int, list[dict], str]:
    so, se = io.StringIO(), io.StringIO()
    rc = loop_main(_args(ds, out, *extra), Reporter(so, se))
    return rc, [json.loads(l) for l in so.getvalue().splitlines()], se.getvalue()


@pytest.fixture(scope="module")
def trained(nnunet_ds: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("run") / "models" / "tiny"
    rc, events, err = _run(nnunet_ds, out, "--seed", "1", "--cases", "case00,case01,case02")
    assert rc == 0, err
    return out, events


def test_model_folder_and_manifest(trained, nnunet_ds: Path) -> None:
    out, events = trained
    assert {"model.pt", "tiny.json", "tiny.onnx", "train.log", "finetune.jsonl"} <= {p.name for p in out.iterdir()}
    assert not partial_dir(out).exists()
    man = json.loads((out / "tiny.json").read_text())
    assert man["format"] == "polyseg-model/1" and man["name"] == "tiny" and man["file"] == "tiny.onnx"
    assert man["sha256"] == hashlib.sha256((out / "tiny.onnx").read_bytes()).hexdigest()
    assert man["activation"] == "softmax" and man["outputs"][0]["shape"] == [-1, 3, 32, 32]
    assert man["labels"] == [{"channel": 1, "value": 1, "name": "liver"}, {"channel": 2, "value": 2, "name": "spleen"}]
    prov = man["provenance"]
    # 3 done cases: one held out; case03 has a label but is not done; case04/05 have none
    assert len(prov["cases"]) == 2 and prov["validation_case"] in {"case00", "case01", "case02"}
    assert sorted(prov["cases"] + [prov["validation_case"]]) == ["case00", "case01", "case02"]
    assert prov["unlabelled_cases"] == ["case03", "case04", "case05"]
    assert prov["profile"]["name"] == "smoke" and prov["seed"] == 1 and prov["pretraining"]["strategy"] == "polycl-o+s"
    assert set(man["metrics"]["validation"]) == {"liver", "spleen"}
    assert man["metrics"]["export_check"]["max_abs_diff"] < 1e-4


def test_progress_lines(trained) -> None:
    out, events = trained
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    phases = [e["phase"] for e in events if e["event"] == "phase"]
    assert phases == ["check", "cache", "pretrain", "finetune", "validate", "export"]
    steps = [e for e in events if e["event"] == "step"]
    assert {"phase", "epoch", "epochs", "step", "steps", "loss", "fraction", "time", "elapsed_s"} <= set(steps[0])
    fr = [e["fraction"] for e in steps]
    assert fr == sorted(fr) and fr[-1] == 1.0 and 0 < fr[0] < 1
    ft = [e for e in events if e["event"] == "epoch" and e["phase"] == "finetune"]
    assert len(ft) == 2 and len(ft[0]["val_dice"]) == 2
    assert events[-1]["model"] == str(out) and events[-1]["manifest"] == str(out / "tiny.json")
    # the log file holds the same JSON lines, and the messages as comments
    log = (out / "train.log").read_text().splitlines()
    assert [json.loads(l) for l in log if l.startswith("{")] == events
    assert any(l.startswith("# ") and "validation" in l for l in log)


def test_onnx_runs_like_the_checkpoint(trained, nnunet_ds: Path) -> None:
    import torch

    from polycl.export import onnx_model
    from polycl.finetune import load_unet

    out, _ = trained
    unet, ck = load_unet(out / "model.pt")
    x = np.random.default_rng(0).random((2, 1, 32, 32), dtype=np.float32)
    with torch.no_grad():
        want = torch.softmax(unet(torch.from_numpy(x)), 1).numpy()
    np.testing.assert_allclose(onnx_model(out / "tiny.onnx")(x), want, atol=1e-5)


def test_existing_model_is_kept_without_force(trained, nnunet_ds: Path) -> None:
    out, _ = trained
    before = (out / "tiny.onnx").read_bytes()
    rc, events, err = _run(nnunet_ds, out)
    assert rc == 2 and events[-1]["kind"] == "usage" and "--force" in events[-1]["message"]
    assert (out / "tiny.onnx").read_bytes() == before


def test_bad_dataset_is_refused_naming_the_case(nnunet_ds: Path, tmp_path: Path) -> None:
    ds = Path(shutil.copytree(nnunet_ds, tmp_path / "ds"))
    p = ds / "labelsTr" / "case01.nii.gz"
    img = nib.load(str(p))
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[:, :, :5], img.affine), str(p))
    out = tmp_path / "models" / "m"
    rc, events, err = _run(ds, out)
    assert rc == 2 and events[-1]["event"] == "error" and events[-1]["kind"] == "dataset"
    assert "case case01" in events[-1]["message"] and "shape" in events[-1]["message"]
    assert not out.exists() and not partial_dir(out).exists()


def test_one_done_case_trains_without_validation(nnunet_ds: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "one"
    rc, events, err = _run(nnunet_ds, out, "--cases", "case02", "--pretrain", "none", "--activation", "sigmoid", "--augment", "none")
    assert rc == 0, err
    man = json.loads((out / "one.json").read_text())
    assert man["provenance"]["cases"] == ["case02"] and man["provenance"]["validation_case"] is None
    assert man["metrics"]["validation"] is None and man["activation"] == "sigmoid"
    assert [l["channel"] for l in man["labels"]] == [0, 1] and man["provenance"]["pretraining"]["strategy"] == "none"
    assert "pretrain" not in [e.get("phase") for e in events if e["event"] == "phase"]


def test_stale_partial_folder_is_replaced_live_one_refused(tmp_path: Path) -> None:
    out = tmp_path / "models" / "m"
    stale = partial_dir(out)
    stale.mkdir(parents=True)
    (stale / "half.onnx").write_bytes(b"x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale / "pid").write_text(f"{dead.pid}\n")
    tmp = claim_partial(out)
    assert tmp == stale and not (tmp / "half.onnx").exists()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp / "pid").write_text(f"{live.pid}\n")
        with pytest.raises(RuntimeError, match=f"pid {live.pid}"):
            claim_partial(out)
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)])
def test_interruption_leaves_no_model(nnunet_ds: Path, tmp_path: Path, sig: int, code: int) -> None:
    """A training stopped mid-run (Ctrl+C, SIGTERM) removes its work folder: models/ holds
    nothing new, not even a hidden half-written folder."""
    out = tmp_path / "models" / "m"
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([sys.executable, "-m", "polycl", "train-dataset", "--dataset", str(nnunet_ds), "--out", str(out),
                          "--profile", "smoke", "--epochs", "500", "--pretrain", "none", "--device", "cpu"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.time() + 120
    assert p.stdout is not None
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(json.loads(line))
        if sum(e["event"] == "epoch" for e in lines) == 2:  # mid fine-tuning, epoch 1's checkpoints written
            assert partial_dir(out).is_dir() and any(partial_dir(out).rglob("*.pt"))
            p.send_signal(sig)
            break
    rest, err = p.communicate(timeout=60)
    lines += [json.loads(l) for l in rest.splitlines()]
    assert p.returncode == code, err
    assert lines[-1]["event"] == "error" and lines[-1]["kind"] == "interrupted"
    assert not out.exists() and not partial_dir(out).exists()
    assert sorted(p.name for p in out.parent.iterdir()) == [".cache"]


def test_cli_help_documents_the_progress_format(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        cli_main(["train-dataset", "-h"])
    text = capsys.readouterr().out
    assert '"event": "step"' in text and "--done-file" in text and "--val-case" in text
