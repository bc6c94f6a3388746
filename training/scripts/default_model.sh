#!/usr/bin/env bash
# Trains, evaluates and exports the app's default model, models/polycl-liver.{onnx,json}.
# Run from training/: scripts/default_model.sh  (about 30 min on 2 busy CPU cores).
# Needs the Go toolchain (phantoms and the DICOM->NIfTI conversion come from `polyseg`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-out/default}
KEEP=${KEEP:-5,1,2,3}            # label values to ship (liver, spleen, kidneys)
REAL=../../shared/data/real/totalsegmentator
POLYSEG=${POLYSEG:-$OUT/polyseg}
mkdir -p "$OUT"
[ -x "$POLYSEG" ] || (cd .. && go build -o "training/$POLYSEG" ./cmd/polyseg)
gen() { [ -f "$OUT/$1/dataset.json" ] || "$POLYSEG" phantom "$OUT/$1" --msd --count "$2" --seed "$3" --scanner "$4" --size 128 --slices 64 >/dev/null 2>&1; }
gen phantA 20 1000 A; gen phantB 12 2000 B; gen testA 3 3000 A; gen testB 3 4000 B
[ -f "$OUT/patientB_ct.nii.gz" ] || "$POLYSEG" convert "$REAL/example_ct_dicom" "$OUT/patientB_ct.nii.gz" >/dev/null 2>&1

NET=(--size 96 --channels 8,16,32,64,128 --labels 5,1,2,3 --cache "$OUT/cache" --seed 0)
# PolyCL-S: the one strategy that needs no organ-presence flags, so the real patients' CT can
# join the unlabelled pool without their labels.
[ -f "$OUT/pretrain/encoder.pt" ] || $PY -m polycl pretrain "${NET[@]}" --data "$OUT/phantA" --data "$OUT/phantB" \
  --case "realA=$REAL/example_ct.nii.gz" --case "realB=$OUT/patientB_ct.nii.gz" \
  --strategy polycl-s --epochs 4 --max-anchors 320 --batch-size 24 --out "$OUT/pretrain"
[ -f "$OUT/finetune/best.pt" ] || $PY -m polycl finetune "${NET[@]}" --data "$OUT/phantA" --data "$OUT/phantB" --val 2 \
  --pretrained "$OUT/pretrain/encoder.pt" --epochs 12 --steps 20 --batch-size 12 --bce 1 --out "$OUT/finetune"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --case "patientA=$REAL/example_ct.nii.gz,$REAL/example_seg_fast_force_split.nii.gz" --out "$OUT/eval-realA"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --case "patientB=$OUT/patientB_ct.nii.gz,$REAL/example_seg_dicom.nii.gz" --out "$OUT/eval-realB"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --data "$OUT/testA" --out "$OUT/eval-phantomA"
$PY -m polycl evaluate --checkpoint "$OUT/finetune/best.pt" --data "$OUT/testB" --out "$OUT/eval-phantomB"
$PY -m polycl export --checkpoint "$OUT/finetune/best.pt" --out ../models/polycl-liver.onnx --name polycl-liver --keep-labels "$KEEP" \
  --strategy polycl-s \
  --data-note "pre-training: 20 scanner-A + 12 scanner-B polyseg phantoms (seeds 1000.., 2000..) and the CT of TotalSegmentator example patients A and B without labels; fine-tuning: the labelled phantoms (2 held out for validation)" \
  --command "cd training && KEEP=$KEEP scripts/default_model.sh" \
  --metrics "patientA=$OUT/eval-realA/summary.json" --metrics "patientB=$OUT/eval-realB/summary.json" \
  --metrics "phantomA_test=$OUT/eval-phantomA/summary.json" --metrics "phantomB_test=$OUT/eval-phantomB/summary.json" \
  --metrics-note "3D Dice/HD95 (mm) per scan on the scan's own grid; patient A/B references are TotalSegmentator predictions (TotalSegmentator example files), not manual ground truth; patient A's liver top is cut off by the scan; phantom test scans are unseen seeds 3000.. (A) and 4000.. (B)"
