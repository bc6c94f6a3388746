"""Atomic writes stay atomic when a signal's exception lands at any point of them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from polycl import common


class Interrupt(BaseException):
    """Stands for the exception a signal handler raises (loop.Interrupted)."""


@pytest.mark.parametrize("write", [
    lambda p: common.atomic_write_bytes(p, b"new"),
    lambda p: common.atomic_torch_save({"w": torch.zeros(2)}, p),
])
def test_interrupt_just_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write) -> None:  # type: ignore[no-untyped-def]
    """The handler may run right after os.replace returns, still inside the write: the caller
    sees the interruption (not a FileNotFoundError from cleaning up the renamed temporary file),
    and no temporary file is left."""
    real = os.replace

    def replace_then_interrupt(src: str, dst: str) -> None:
        real(src, dst)
        raise Interrupt()

    monkeypatch.setattr(common.os, "replace", replace_then_interrupt)
    target = tmp_path / "out.bin"
    with pytest.raises(Interrupt):
        write(target)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_interrupt_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted before the rename, the target keeps its old content and no temporary file stays."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def interrupt(src: str, dst: str) -> None:
        raise Interrupt()

    monkeypatch.setattr(common.os, "replace", interrupt)
    with pytest.raises(Interrupt):
        common.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
