#!/usr/bin/env bash
# The label-efficiency experiment of docs/experiment.md. Run from training/:
#   scripts/experiment.sh            # quick profile: 2 CPU cores, ~35-45 min
#   PROFILE=gpu scripts/experiment.sh    # the method's network at 256 px, one GPU, minutes (docs/gpu.md)
#   PROFILE=full scripts/experiment.sh   # the method's network and schedule, for a GPU
# Resumable: finished runs are skipped. Writes ../docs/experiment-results.md and ../docs/experiment/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
PROFILE=${PROFILE:-quick}
WORK=${WORK:-out/experiment-$PROFILE}
DATA=${DATA:-out/data}
REAL=../../shared/data/real/totalsegmentator
POLYSEG=${POLYSEG:-out/polyseg}
case "$PROFILE" in
  quick) SIZE=96; SLICES=64; NA=16; NB=10 ;;
  gpu) SIZE=256; SLICES=48; NA=16; NB=10 ;;
  full) SIZE=256; SLICES=64; NA=40; NB=30 ;;
  *) echo "unknown PROFILE $PROFILE" >&2; exit 2 ;;
esac
mkdir -p "$DATA"
[ -x "$POLYSEG" ] || (cd .. && go build -o "training/$POLYSEG" ./cmd/polyseg)
A=$DATA/$PROFILE-A; B=$DATA/$PROFILE-B
[ -f "$A/dataset.json" ] || "$POLYSEG" phantom "$A" --msd --count $NA --seed 100 --scanner A --size $SIZE --slices $SLICES
[ -f "$B/dataset.json" ] || "$POLYSEG" phantom "$B" --msd --count $NB --seed 500 --scanner B --size $SIZE --slices $SLICES
[ -f "$DATA/patientB_ct.nii.gz" ] || "$POLYSEG" convert "$REAL/example_ct_dicom" "$DATA/patientB_ct.nii.gz"
$PY -m polycl experiment --profile "$PROFILE" --phantom-a "$A" --phantom-b "$B" --work "$WORK" \
  --real "realA=$REAL/example_ct.nii.gz,$REAL/example_seg_fast_force_split.nii.gz" \
  --real "realB=$DATA/patientB_ct.nii.gz,$REAL/example_seg_dicom.nii.gz"
