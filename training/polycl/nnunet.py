"""nnU-Net v2 raw datasets: reading, the integrity check, and which cases are done.

Layout (nnU-Net v2 "raw"):

    DIR/dataset.json                 labels (name -> value, background 0), channel_names,
                                     numTraining, file_ending
    DIR/imagesTr/CASE_0000.nii.gz    one file per channel (CT: one channel)
    DIR/labelsTr/CASE.nii.gz         the case's label volume, on the image's grid
    DIR/imagesTs/CASE_0000.nii.gz    optional: images without labels

Invariants:
- Cases are named by their file names and paired by name, never by listing order.
- A case is *labelled* for training only when it has a label file AND is done. Which cases are
  done is the caller's (the app's worklist); when the caller says nothing, every case with a
  label file is done (nnU-Net's own reading). Images without a label file, images in imagesTs
  and labelled cases that are not done are *unlabelled*: their images join contrastive
  pre-training (PolyCL-S, scan identity only), their labels are never read.
- `check` applies nnU-Net's verify_dataset_integrity rules to the done cases before anything is
  trained: the required dataset.json keys, consecutive label values 0..n, one image file per
  declared channel, a label file for every done case, label values that dataset.json declares,
  the label on the image's grid (shape, spacing, and -- stricter than nnU-Net, which only warns
  -- origin and direction), no NaN. It reports every problem it finds, each naming the case
  and the file, in one DatasetError. Label volumes holding only background get a warning, as
  in nnU-Net.
- Region-based labels (a list of values per name) and an "ignore" label are refused with a
  message: the trainer does not implement them.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np

from .data import Case

REQUIRED_KEYS = ("labels", "channel_names", "numTraining", "file_ending")
READABLE_ENDINGS = (".nii.gz", ".nii")
CHANNEL_RE = re.compile(r"^(?P<case>.+)_(?P<channel>\d{4})$")


class DatasetError(ValueError):
    """A dataset that cannot be trained on; the message lists every problem found."""

    def __init__(self, root: Path, problems: list[str]):
        self.root, self.problems = Path(root), problems
        super().__init__(f"dataset {root}: " + ("; ".join(problems) if len(problems) == 1 else
                                                  f"{len(problems)} problems:\n  " + "\n  ".join(problems)))


@dataclass
class DatasetCase:
    name: str
    images: list[Path]  # one per channel, channel order
    label: Path | None  # labelsTr/NAME<ending>, None when there is none
    done: bool  # labelled AND marked done: trained on as a labelled case

    def case(self) -> Case:
        """The trainer's view: labelled only when done."""
        return Case(self.name, self.images[0], self.label if self.done else None)


@dataclass
class NnunetDataset:
    root: Path
    name: str
    labels: dict[str, int]  # foreground labels, name -> value, in value order
    channel_names: dict[str, str]
    file_ending: str
    num_training: int
    cases: list[DatasetCase] = field(default_factory=list)
    # every value a label file may hold (0 included); for an MSD dataset trained on some of its
    # labels the others count as background; None: unknown, values are not checked
    declared: list[int] | None = None

    @property
    def done(self) -> list[DatasetCase]:
        return [c for c in self.cases if c.done]

    @property
    def unlabelled(self) -> list[DatasetCase]:
        return [c for c in self.cases if not c.done]

    @property
    def label_values(self) -> list[int]:
        return list(self.labels.values())

    @property
    def label_names(self) -> list[str]:
        return list(self.labels.keys())


def is_nnunet(root: Path) -> bool:
    """A folder in nnU-Net v2 raw layout (dataset.json with channel_names and file_ending), as
    opposed to the MSD layout (dataset.json with a "training" list)."""
    ds = Path(root) / "dataset.json"
    if not ds.is_file():
        return False
    try:
        meta = json.loads(ds.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "channel_names" in meta and "file_ending" in meta


def read_done(spec: str | None, file: str | Path | None) -> set[str] | None:
    """The done cases the caller names: `--cases A,B` and/or `--done-file F` (a JSON list of
    case names, or an object with a "done" list). None when neither is given."""
    if spec is None and file is None:
        return None
    out: set[str] = set()
    if spec:
        out |= {s.strip() for s in spec.split(",") if s.strip()}
    if file is not None:
        try:
            data = json.loads(Path(file).read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"done-case file {file}: {e}") from e
        if isinstance(data, dict):
            data = data.get("done")
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise ValueError(f"done-case file {file}: want a JSON list of case names or {{\"done\": [names]}}")
        out |= set(data)
    return out


def _labels(meta: dict, problems: list[str]) -> dict[str, int]:
    raw = meta.get("labels")
    if not isinstance(raw, dict) or not raw:
        problems.append('dataset.json: "labels" must be an object mapping names to values')
        return {}
    out: dict[str, int] = {}
    for name, v in raw.items():
        if isinstance(v, (list, tuple)):
            problems.append(f'dataset.json: label "{name}" is a region ({v}); region-based training is not supported')
            continue
        if name == "ignore":
            problems.append('dataset.json: an "ignore" label is not supported by this trainer')
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 255:
            problems.append(f'dataset.json: label "{name}" has value {v!r}, want an integer 0..255')
            continue
        out[str(name)] = v
    values = sorted(out.values())
    if values and values[0] != 0:
        problems.append("dataset.json: no background label with value 0")
    if len(set(values)) != len(values):
        problems.append(f"dataset.json: label values repeat: {values}")
    elif values and values != list(range(len(values))):
        gaps = [b for a, b in zip(values, values[1:]) if b != a + 1]
        problems.append(f"dataset.json: label values must be consecutive (0, 1, 2, ...); {gaps} do not follow on")
    if len(out) < 2:
        problems.append("dataset.json: no foreground label")
    return {n: v for n, v in sorted(out.items(), key=lambda kv: kv[1]) if v != 0}


def _scan_images(folder: Path, ending: str, problems: list[str]) -> dict[str, dict[int, Path]]:
    """CASE -> {channel: path} for the image files of a folder."""
    out: dict[str, dict[int, Path]] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.name.endswith(ending):
            continue
        m = CHANNEL_RE.match(p.name[: -len(ending)])
        if not m:
            problems.append(f"{p}: an image file name must end in _CCCC{ending} (the channel, e.g. _0000)")
            continue
        out.setdefault(m["case"], {})[int(m["channel"])] = p
    return out


def read_dataset(root: Path, done: set[str] | None = None) -> NnunetDataset:
    """Read dataset.json and pair the files; raises DatasetError naming every structural problem.
    `done`: the case names the caller marks done (None: every case with a label file)."""
    root = Path(root)
    problems: list[str] = []
    ds = root / "dataset.json"
    if not ds.is_file():
        raise DatasetError(root, [f"no dataset.json in {root}"])
    try:
        meta = json.loads(ds.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(root, [f"{ds}: {e}"]) from e
    if not isinstance(meta, dict):
        raise DatasetError(root, [f"{ds}: not a JSON object"])
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise DatasetError(root, [f"{ds}: missing required keys {missing} (nnU-Net v2 needs {list(REQUIRED_KEYS)})"])
    labels = _labels(meta, problems)
    channels = meta["channel_names"]
    if not isinstance(channels, dict) or not channels:
        problems.append('dataset.json: "channel_names" must be an object like {"0": "CT"}')
        channels = {}
    elif len(channels) != 1:
        problems.append(f"dataset.json: {len(channels)} channels {channels}; this trainer takes one CT channel")
    ending = meta["file_ending"]
    if ending not in READABLE_ENDINGS:
        problems.append(f'dataset.json: file_ending "{ending}": this trainer reads {list(READABLE_ENDINGS)}')
    num_training = meta["numTraining"]
    if not isinstance(num_training, int) or isinstance(num_training, bool) or num_training < 0:
        problems.append(f"dataset.json: numTraining {num_training!r} is not a count")
    if problems:
        raise DatasetError(root, problems)
    if not (root / "imagesTr").is_dir():
        raise DatasetError(root, [f"no imagesTr folder in {root}"])

    tr = _scan_images(root / "imagesTr", ending, problems)
    ts = _scan_images(root / "imagesTs", ending, problems)
    label_files: dict[str, Path] = {}
    if (root / "labelsTr").is_dir():
        for p in sorted((root / "labelsTr").iterdir()):
            if not p.name.startswith(".") and p.name.endswith(ending):
                label_files[p.name[: -len(ending)]] = p
    for name in sorted(set(label_files) - set(tr)):
        problems.append(f"case {name}: label {label_files[name]} has no image imagesTr/{name}_0000{ending}")
    for name in sorted(set(tr) & set(ts)):
        problems.append(f"case {name}: in both imagesTr and imagesTs")
    n_labelled = len(set(label_files) & set(tr))
    if isinstance(num_training, int) and num_training not in (len(tr), n_labelled):
        problems.append(f"dataset.json: numTraining is {num_training}, but imagesTr holds {len(tr)} cases, {n_labelled} of them with labels")
    if done is not None:
        for name in sorted(done - set(tr) - set(ts)):
            problems.append(f"case {name}: marked done but there is no such case")
        for name in sorted((done & (set(tr) | set(ts))) - set(label_files)):
            problems.append(f"case {name}: marked done but has no label file labelsTr/{name}{ending}")

    cases = []
    for name, chans in sorted({**ts, **tr}.items()):
        want = list(range(len(channels)))
        if sorted(chans) != want:
            problems.append(f"case {name}: image channels {sorted(chans)}, dataset.json declares {len(channels)} ({want})")
            continue
        label = label_files.get(name)
        is_done = label is not None and name in tr and (done is None or name in done)
        cases.append(DatasetCase(name, [chans[c] for c in want], label, is_done))
    if problems:
        raise DatasetError(root, problems)
    return NnunetDataset(root, str(meta.get("name", root.name)), labels, channels, ending, num_training, cases,
                         declared=[0, *labels.values()])


def _read(path: Path, voxels: bool = True) -> tuple[nib.Nifti1Image, np.ndarray | None]:
    """Header and (when asked) voxels of a NIfTI file; ValueError naming the file when it
    cannot be read (bad header, truncated gzip, short data)."""
    try:
        img = nib.load(str(path))
        return img, (np.asarray(img.dataobj) if voxels else None)
    except Exception as e:  # nibabel, gzip and zlib raise several types for broken files
        raise ValueError(f"{path}: not a readable NIfTI file ({type(e).__name__}: {e})") from e


def _spacing(img: nib.Nifti1Image) -> np.ndarray:
    return np.asarray(img.header.get_zooms()[:3], np.float64)


def check_case(c: DatasetCase, expected: list[int] | None) -> tuple[list[str], list[str]]:
    """Problems and warnings of one done case (nnU-Net's check_cases and verify_labels);
    expected: the values its label may hold (None: not checked)."""
    problems: list[str] = []
    warnings: list[str] = []
    try:
        img, data = _read(c.images[0])
        lab, seg = _read(c.label)  # type: ignore[arg-type]
    except ValueError as e:
        return [f"case {c.name}: {e}"], warnings
    assert data is not None and seg is not None
    if len(img.shape) != 3:
        return [f"case {c.name}: image {c.images[0]} has shape {img.shape}, want a 3D volume"], warnings
    if lab.shape != img.shape:
        return [f"case {c.name}: label {c.label} has shape {lab.shape}, image {c.images[0]} has {img.shape} "
                "(the label must be on the image's grid)"], warnings
    if not np.allclose(_spacing(lab), _spacing(img), rtol=1e-3, atol=1e-4):
        problems.append(f"case {c.name}: label {c.label} has spacing {tuple(_spacing(lab).round(4))} mm, "
                        f"the image {tuple(_spacing(img).round(4))} mm")
    elif not np.allclose(lab.affine, img.affine, rtol=1e-3, atol=1e-3):
        problems.append(f"case {c.name}: label {c.label} and image differ in origin or direction "
                        f"(affines {lab.affine.round(3).tolist()} and {img.affine.round(3).tolist()})")
    if data.dtype.kind == "f" and np.isnan(data).any():
        problems.append(f"case {c.name}: image {c.images[0]} contains NaN values")
    if seg.dtype.kind == "f":
        if np.isnan(seg).any():
            return problems + [f"case {c.name}: label {c.label} contains NaN values"], warnings
        if not np.all(seg == np.round(seg)):
            return problems + [f"case {c.name}: label {c.label} holds non-integer values"], warnings
    found = [int(v) for v in np.unique(seg)]
    unexpected = [v for v in found if expected is not None and v not in expected]
    if unexpected:
        problems.append(f"case {c.name}: label {c.label} holds values {unexpected} that dataset.json does not declare "
                        f"(declared {expected})")
    if found == [0]:
        warnings.append(f"case {c.name}: label {c.label} holds only background (0)")
    return problems, warnings


def check(ds: NnunetDataset, log: Callable[[str], None] = print) -> list[str]:
    """Run check_case over the done cases; raise DatasetError with every problem, return the
    warnings. Unlabelled images are checked for being readable 3D volumes."""
    expected = ds.declared
    problems, warnings = [], []
    for c in ds.done:
        p, w = check_case(c, expected)
        problems += p
        warnings += w
    for c in ds.unlabelled:
        try:
            img, _ = _read(c.images[0])
            if len(img.shape) != 3:
                problems.append(f"case {c.name}: image {c.images[0]} has shape {img.shape}, want a 3D volume")
        except ValueError as e:
            problems.append(f"case {c.name}: {e}")
    if problems:
        raise DatasetError(ds.root, problems)
    for w in warnings:
        log(f"warning: {w}")
    return warnings


def pick_validation(ds: NnunetDataset, seed: int, val_case: str | None = None, min_cases: int = 3) -> str | None:
    """The done case held out for validation: `val_case` when given; else, with at least
    `min_cases` done cases, one drawn from them by the seed; else none."""
    names = sorted(c.name for c in ds.done)
    if val_case:
        if val_case not in names:
            raise ValueError(f"validation case {val_case!r} is not a done case (done: {names})")
        return val_case
    if len(names) < min_cases:
        return None
    return names[int(np.random.default_rng([seed, 13]).integers(len(names)))]


def label_volume_stats(path: Path) -> dict[int, int]:
    """Voxel count per value of a label file (for logs and reports)."""
    seg = np.asarray(nib.load(str(path)).dataobj)
    vals, counts = np.unique(seg, return_counts=True)
    return {int(v): int(n) for v, n in zip(vals, counts) if not math.isnan(float(v))}


def read_msd(root: Path, done: set[str] | None = None, labels: dict[str, int] | None = None) -> NnunetDataset:
    """An MSD-layout folder (dataset.json with a "training" list and labels value -> name, or
    imagesTr/labelsTr) in the same shape as read_dataset's result. Its label values need not be
    consecutive; `labels` (name -> value) picks the ones to train, default all declared."""
    from .data import discover_cases

    root = Path(root)
    declared: dict[str, int] = {}
    ds = root / "dataset.json"
    if ds.is_file():
        try:
            meta = json.loads(ds.read_text())
            declared = {str(n): int(v) for v, n in meta.get("labels", {}).items() if int(v) != 0}
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise DatasetError(root, [f"{ds}: {e}"]) from e
    if labels is None:
        labels = declared
    if not labels:
        raise DatasetError(root, ["no labels: dataset.json declares none; name them with --labels"])
    problems = []
    cases = []
    found = discover_cases(root)
    names = {c.name for c in found}
    if done is not None:
        problems += [f"case {n}: marked done but there is no such case" for n in sorted(done - names)]
    for c in found:
        if done is not None and c.name in done and c.label is None:
            problems.append(f"case {c.name}: marked done but has no label file")
        cases.append(DatasetCase(c.name, [c.image], c.label, c.label is not None and (done is None or c.name in done)))
    if problems:
        raise DatasetError(root, problems)
    return NnunetDataset(root, root.name, dict(sorted(labels.items(), key=lambda kv: kv[1])), {"0": "CT"}, ".nii.gz", len(cases), cases,
                         declared=sorted({0, *declared.values(), *labels.values()}) if declared else None)
