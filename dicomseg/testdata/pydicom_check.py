"""Independent checks of package dicomseg with pydicom and nibabel.

    pydicom_check.py written SEG LABELS.nii.gz SERIES_DIR COLORTABLE
        SEG was written from LABELS (on SERIES_DIR's grid, voxel order as
        DICOM's pixels, slices sorted along the normal): every frame holds
        exactly its segment's voxels on the slice its source image names, at
        that slice's position, and every (segment, slice) pair with voxels has
        one frame, the others none. Segment labels are names of COLORTABLE.

    pydicom_check.py imported SEG SERIES_DIR OUT.nii.gz MAPPING.json
        OUT was imported from SEG onto SERIES_DIR: each voxel holds the value
        (MAPPING: segment number -> value) of the smallest segment (fewest
        voxels; ties: lowest number) whose frames cover it, else 0.

Prints one line starting with "ok" on success; exits 1 with a reason else.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def series(folder):
    """The series' slices sorted along the normal: (uids, positions)."""
    dss = []
    for name in sorted(os.listdir(folder)):
        try:
            d = pydicom.dcmread(os.path.join(folder, name))
        except Exception:
            continue
        if "PixelData" not in d or "ImagePositionPatient" not in d:
            continue
        dss.append(d)
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
    uids = [str(d.get("SOPInstanceUID", "") or d.file_meta.MediaStorageSOPInstanceUID) for d in dss]
    pos = [np.array(d.ImagePositionPatient, dtype=float) for d in dss]
    return uids, pos, (int(dss[0].Columns), int(dss[0].Rows))


def frames(seg):
    pa = seg.pixel_array
    if pa.ndim == 2:
        pa = pa[np.newaxis]
    out = []
    for f, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
        n = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        uid = None
        for di in fg.get("DerivationImageSequence", []):
            for s in di.SourceImageSequence:
                uid = str(s.ReferencedSOPInstanceUID)
        p = None
        if "PlanePositionSequence" in fg:
            p = np.array(fg.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        out.append((n, uid, p, pa[f]))
    return out


def written(seg_path, labels_path, folder, table_path):
    seg = pydicom.dcmread(seg_path)
    uids, pos, _ = series(folder)
    lab = np.asarray(nib.load(labels_path).dataobj).astype(np.int64)
    table = {}
    for line in open(table_path):
        f = line.split()
        if f and not f[0].startswith("#"):
            table[f[1]] = int(f[0])
    value = {int(s.SegmentNumber): table[str(s.SegmentLabel)] for s in seg.SegmentSequence}
    refd = [str(i.ReferencedSOPInstanceUID) for s in seg.ReferencedSeriesSequence for i in s.ReferencedInstanceSequence]
    if sorted(refd) != sorted(uids):
        fail("ReferencedSeriesSequence does not list the series' instances")
    seen = set()
    for f, (n, uid, p, px) in enumerate(frames(seg)):
        if uid not in uids:
            fail("frame %d names source %s, not in the series" % (f + 1, uid))
        k = uids.index(uid)
        if p is None or np.abs(p - pos[k]).max() > 1e-3:
            fail("frame %d lies at %s, its slice at %s" % (f + 1, p, pos[k]))
        want = (lab[:, :, k].T == value[n]).astype(np.uint8)
        if not want.any():
            fail("frame %d (segment %d, slice %d) is empty" % (f + 1, n, k))
        if not np.array_equal(px, want):
            fail("frame %d (segment %d, slice %d): %d pixels differ" % (f + 1, n, k, int((px != want).sum())))
        if (n, k) in seen:
            fail("two frames of segment %d on slice %d" % (n, k))
        seen.add((n, k))
    expect = {(n, k) for n, v in value.items() for k in range(lab.shape[2]) if (lab[:, :, k] == v).any()}
    if expect != seen:
        fail("%d (segment, slice) pairs hold voxels, %d frames written" % (len(expect), len(seen)))
    present = set(np.unique(lab).tolist()) - {0}
    if present != set(value.values()):
        fail("labels %s, segments %s" % (sorted(present), sorted(value.values())))
    print("ok %d frames, %d segments, %d voxels" % (len(seen), len(value), int(seg.pixel_array.sum())))


def imported(seg_path, folder, out_path, mapping_path):
    seg = pydicom.dcmread(seg_path)
    uids, pos, (nx, ny) = series(folder)
    value = {int(k): v for k, v in json.load(open(mapping_path)).items()}
    masks = {n: np.zeros((nx, ny, len(uids)), dtype=bool) for n in value}
    for f, (n, uid, p, px) in enumerate(frames(seg)):
        if uid in uids:
            k = uids.index(uid)
        else:
            d = [np.linalg.norm(p - q) for q in pos]
            k = int(np.argmin(d))
        masks[n][:, :, k] |= px.T.astype(bool)
    size = {n: int(m.sum()) for n, m in masks.items()}
    want = np.zeros((nx, ny, len(uids)), dtype=np.int64)
    for n in sorted(masks, key=lambda n: (-size[n], n)):
        want[masks[n]] = value[n]
    got = np.asarray(nib.load(out_path).dataobj).astype(np.int64)
    if got.shape != want.shape:
        fail("shape %s, want %s" % (got.shape, want.shape))
    if not np.array_equal(got, want):
        fail("%d voxels differ" % int((got != want).sum()))
    print("ok %d voxels labelled, segments %s" % (int((want > 0).sum()), size))


if __name__ == "__main__":
    if sys.argv[1] == "written":
        written(*sys.argv[2:6])
    elif sys.argv[1] == "imported":
        imported(*sys.argv[2:6])
    else:
        fail("unknown mode " + sys.argv[1])
