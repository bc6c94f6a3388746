from __future__ import annotations

import json
from pathlib import Path

import pytest

from polycl.cli import main


def test_finetune_evaluate_export(msd_a: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    common = ["--data", str(msd_a), "--size", "32", "--cache", str(tmp_path / "cache")]
    main(["pretrain", *common, "--channels", "4,8", "--strategy", "polycl-s", "--epochs", "1", "--max-anchors", "8", "--batch-size", "4",
          "--out", str(tmp_path / "pre")])
    main(["finetune", *common, "--channels", "4,8", "--labels", "5,1", "--budget", "1", "--val", "1", "--epochs", "1", "--steps", "2",
          "--batch-size", "4", "--pretrained", str(tmp_path / "pre" / "encoder.pt"), "--out", str(tmp_path / "ft")])
    main(["evaluate", "--data", str(msd_a), "--checkpoint", str(tmp_path / "ft" / "best.pt"), "--out", str(tmp_path / "ev")])
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert set(summary["summary"]) == {"liver", "spleen"} and summary["summary"]["liver"]["scans"] == 4
    main(["export", "--checkpoint", str(tmp_path / "ft" / "best.pt"), "--out", str(tmp_path / "m.onnx"), "--keep-labels", "5",
          "--metrics", f"phantoms={tmp_path / 'ev' / 'summary.json'}", "--metrics-note", "test", "--strategy", "polycl-s",
          "--reference", str(next((msd_a / "imagesTr").iterdir())), "--reference-slices", "3,7", "--reference-out", str(tmp_path / "ref")])
    man = json.loads((tmp_path / "m.json").read_text())
    assert [l["value"] for l in man["labels"]] == [5] and man["outputs"][0]["shape"] == [-1, 1, 32, 32]
    ref = json.loads((tmp_path / "ref" / "reference.json").read_text())
    assert ref["probs_shape"] == [2, 1, 32, 32] and ref["model_sha256"] == man["sha256"]
    assert (tmp_path / "ref" / "input.f32").stat().st_size == 2 * 32 * 32 * 4
    assert man["metrics"]["export_check"]["max_abs_diff"] < 1e-5
    assert man["provenance"]["strategy"] == "polycl-s" and man["metrics"]["phantoms"]["liver"]["scans"] == 4


def test_bad_case_spec_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        main(["finetune", "--case", "broken", "--out", str(tmp_path)])
