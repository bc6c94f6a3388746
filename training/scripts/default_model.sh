#!/usr/bin/env bash
# Trains, evaluates and exports the app's default model, models/polycl-liver.{onnx,json}.
# Run from training/: scripts/default_model.sh  (about 30 min on 2 busy CPU cores).
# Needs the Go toolchain (phantoms and the DICOM->NIfTI conversion come from `polyseg`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-out/default-o128}
REAL=../../shared/data/real/totalsegmentator
POLYSEG=${POLYSEG:-$OUT/polyseg}
mkdir -p "$OUT"
[ -x "$POLYSEG" ] || (cd .. && go build -o "training/$POLYSEG" ./cmd/polyseg)
# Scanner A (3 mm): 110 slices, B (5 mm): 66 slices: chest base to pelvis like patient A, so the
# model also sees the many slices without liver that real abdomen-pelvis scans have.
gen() { [ -f "$OUT/$1/dataset.json" ] || "$POLYSEG" phantom "$OUT/$1" --msd --count "$2" --seed "$3" --scanner "$4" --size 128 --slices "$5" >/dev/null 2>&1; }
# valA/valB: unseen phantoms that choose between training set-ups (never the real patients, which
# are the test set); testA/testB: unseen phantoms reported as test scans.
gen phantA 28 1000 A 110; gen phantB 16 2000 B 66; gen valA 2 5000 A 110; gen valB 2 6000 B 66
gen testA 3 3000 A 110; gen testB 3 4000 B 66
[ -f "$OUT/patientB_ct.nii.gz" ] || "$POLYSEG" convert "$REAL/example_ct_dicom" "$OUT/patientB_ct.nii.gz" >/dev/null 2>&1

# Liver only: with spleen and kidneys as extra channels this budget left them near Dice 0.1.
NET=(--size 128 --channels 8,16,32,64,128 --labels 5 --cache "$OUT/cache" --seed 0)
# PolyCL-S: the one strategy that needs no organ-presence flags, so the real patients' CT can
# join the unlabelled pool without their labels.
[ -f "$OUT/pretrain/encoder.pt" ] || $PY -m polycl pretrain "${NET[@]}" --data "$OUT/phantA" --data "$OUT/phantB" \
  --strategy polycl-o --epochs 8 --max-anchors 480 --batch-size 24 --out "$OUT/pretrain"
[ -f "$OUT/finetune/best.pt" ] || $PY -m polycl finetune "${NET[@]}" --data "$OUT/phantA" --data "$OUT/phantB" --val 2 \
  --pretrained "$OUT/pretrain/encoder.pt" --epochs 60 --steps 20 --batch-size 12 --bce 1 --out "$OUT/finetune"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --data "$OUT/valA" --data "$OUT/valB" --out "$OUT/eval-phantom-val"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --case "patientA=$REAL/example_ct.nii.gz,$REAL/example_seg_fast_force_split.nii.gz" --out "$OUT/eval-realA"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --case "patientB=$OUT/patientB_ct.nii.gz,$REAL/example_seg_dicom.nii.gz" --out "$OUT/eval-realB"
# the same with only the largest connected component kept (what an app-side clean-up would give)
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --largest-component --case "patientA=$REAL/example_ct.nii.gz,$REAL/example_seg_fast_force_split.nii.gz" \
  --case "patientB=$OUT/patientB_ct.nii.gz,$REAL/example_seg_dicom.nii.gz" --out "$OUT/eval-real-lcc"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --data "$OUT/testA" --out "$OUT/eval-phantomA"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --data "$OUT/testB" --out "$OUT/eval-phantomB"
$PY -m polycl export --checkpoint "$OUT/finetune/best.pt" --out ../models/polycl-liver.onnx --name polycl-liver \
  --strategy polycl-o --reference "$REAL/example_ct.nii.gz" --reference-slices 75,90,105 --reference-out testdata/polycl-liver-reference \
  --data-note "pre-training (PolyCL-O, liver flags from the phantoms' label volumes): 28 scanner-A (128x128x110, 3 mm) + 16 scanner-B (128x128x66, 5 mm) polyseg phantoms (seeds 1000.., 2000..); fine-tuning: the same labelled phantoms (2 held out for checkpoint selection); set-up chosen on unseen phantoms 5000-5001 (A) and 6000-6001 (B); no real patient data used for training or selection" \
  --command "cd training && scripts/default_model.sh" \
  --metrics "patientA=$OUT/eval-realA/summary.json" --metrics "patientB=$OUT/eval-realB/summary.json" \
  --metrics "patients_largest_component=$OUT/eval-real-lcc/summary.json" \
  --metrics "phantom_val=$OUT/eval-phantom-val/summary.json" --metrics "phantomA_test=$OUT/eval-phantomA/summary.json" --metrics "phantomB_test=$OUT/eval-phantomB/summary.json" \
  --metrics-note "3D Dice/HD95 (mm) per scan on the scan's own grid; patient A/B references are TotalSegmentator predictions (TotalSegmentator example files), not manual ground truth; patient A's liver top is cut off by the scan; phantom test scans are unseen seeds 3000.. (A) and 4000.. (B); patients_largest_component: both patients after keeping the largest 3D connected component"
