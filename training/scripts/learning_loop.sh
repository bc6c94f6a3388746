#!/usr/bin/env bash
# The learning-loop experiment of docs/learning-loop.md. Run from training/:
#   scripts/learning_loop.sh                     # every arm, seeds 0 1 2 (hours on 2 shared cores)
#   ARMS="full scratch" SEEDS="0" scripts/learning_loop.sh
#   scripts/learning_loop.sh report              # the tables, from whatever runs exist
# Resumable: a finished run (its model folder) and a finished evaluation are skipped, so two
# invocations with different ARMS can share the machine. Needs the Go toolchain (the phantoms, the
# datasets and the DICOM conversion come from `polyseg`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-out/ll}
PROFILE=${PROFILE:-cpu30}
SEEDS=${SEEDS:-0 1 2}
ARMS=${ARMS:-full scratch noaug spatialonly nophantoms nounlabelled size160 sigmoid}
REAL=../../shared/data/real/totalsegmentator
POLYSEG=${POLYSEG:-out/polyseg}
VAL=phantom_B_2019   # the held-out done case (a scanner-B phantom), the same for every run
mkdir -p "$OUT/runs/logs"

if [ "${1:-}" = report ]; then
  exec $PY scripts/learning_loop_report.py "$OUT/runs" --liver-model "$OUT/runs/eval/polycl-liver"
fi

[ -x "$POLYSEG" ] || (cd .. && go build -o "training/$POLYSEG" ./cmd/polyseg)
# Scanner A: 3 mm, non-contrast, chest base to pelvis (110 slices); scanner B: 5 mm, noisier,
# portal-venous contrast (66 slices); 128 px in-plane. The default liver model's seeds.
[ -f "$OUT/phantA/dataset.json" ] || "$POLYSEG" phantom "$OUT/phantA" --msd --count 20 --seed 1000 --scanner A --size 128 --slices 110 >/dev/null
[ -f "$OUT/phantB/dataset.json" ] || "$POLYSEG" phantom "$OUT/phantB" --msd --count 20 --seed 2000 --scanner B --size 128 --slices 66 >/dev/null
# patient B as NIfTI, for the evaluations (the datasets read its DICOM series themselves)
[ -f "$OUT/patientB_ct.nii.gz" ] || "$POLYSEG" convert "$REAL/example_ct_dicom" "$OUT/patientB_ct.nii.gz" >/dev/null
# The datasets, made with polyseg dataset init/add (scripts/learning_loop_dataset.sh); patient B
# straight from its DICOM series. Each has done.json, the labelled cases: patient B's label file
# is empty and not done, so the trainer gets the list (--done-file) and keeps B unlabelled.
A=(--patient-a "$REAL/example_ct.nii.gz" "$REAL/example_seg_fast_force_split.nii.gz")
B=(--patient-b "$REAL/example_ct_dicom")
P=(--phantoms "$OUT/phantA" --phantoms "$OUT/phantB")
export PY POLYSEG
[ -f "$OUT/ds-full/dataset.json" ] || scripts/learning_loop_dataset.sh "$OUT/ds-full" "${A[@]}" "${B[@]}" "${P[@]}" >/dev/null
[ -f "$OUT/ds-nophantoms/dataset.json" ] || scripts/learning_loop_dataset.sh "$OUT/ds-nophantoms" "${A[@]}" "${B[@]}" >/dev/null
[ -f "$OUT/ds-nounlabelled/dataset.json" ] || scripts/learning_loop_dataset.sh "$OUT/ds-nounlabelled" "${A[@]}" "${P[@]}" >/dev/null

CASE_A="patientA=$REAL/example_ct.nii.gz,$REAL/example_seg_fast_force_split.nii.gz"
CASE_B="patientB=$OUT/patientB_ct.nii.gz,$REAL/example_seg_dicom.nii.gz"
# patient B's 20 slices hold liver, spleen, stomach and pancreas (no kidneys, no gallbladder)
ORGANS_B=liver,spleen,stomach,pancreas

evaluate() {  # evaluate NAME MANIFEST: both patients, with and without the app's largest-component clean-up
  local name=$1 man=$2 ev=$OUT/runs/eval/$1 PY="nice -n 10 $PY"
  [ -f "$ev/B-lcc/summary.json" ] || $PY -m polycl evaluate-model --model "$man" --case "$CASE_B" --only $ORGANS_B --largest-component --out "$ev/B-lcc" >/dev/null
  [ -f "$ev/B-raw/summary.json" ] || $PY -m polycl evaluate-model --model "$man" --case "$CASE_B" --only $ORGANS_B --out "$ev/B-raw" >/dev/null
  [ -f "$ev/A-lcc/summary.json" ] || $PY -m polycl evaluate-model --model "$man" --case "$CASE_A" --largest-component --out "$ev/A-lcc" >/dev/null
  [ -f "$ev/A-raw/summary.json" ] || $PY -m polycl evaluate-model --model "$man" --case "$CASE_A" --out "$ev/A-raw" >/dev/null
}

# (b): today's default liver model, trained on phantoms only
evaluate polycl-liver ../models/polycl-liver.json

for seed in $SEEDS; do
  for arm in $ARMS; do
    ds=ds-full; extra=(--val-case $VAL)
    case $arm in
      full) ;;                                   # PolyCL-O+S pre-training, all augmentation, softmax, 128 px
      scratch) extra+=(--pretrain none) ;;       # (a): the same network and fine-tuning, random init
      noaug) extra+=(--augment none) ;;
      spatialonly) extra+=(--augment spatial) ;; # no intensity, organ-contrast, resolution or noise augmentation
      nophantoms) ds=ds-nophantoms; extra=() ;;  # patient A the only labelled case (no validation case)
      nounlabelled) ds=ds-nounlabelled ;;        # patient B's slices not in pre-training
      size160) extra+=(--size 160) ;;
      sigmoid) extra+=(--activation sigmoid) ;;
      *) echo "unknown arm $arm" >&2; exit 2 ;;
    esac
    name=$arm-s$seed
    # A dataset made before learning_loop_dataset.sh has no done.json and no label file for B
    done_file=(); [ ! -f "$OUT/$ds/done.json" ] || done_file=(--done-file "$OUT/$ds/done.json")
    model=$OUT/runs/models/$name
    if [ ! -f "$model/$name.json" ]; then
      echo "$(date +%T) $name: start, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/runs/logs/times.txt"
      # CPU seconds (user + sys) measure the work whatever the load: single-threaded
      # (OMP_NUM_THREADS=1) they are the run's wall time on an idle core
      nice -n 10 /usr/bin/time -f "%e s wall, %U s user, %S s sys" -o "$OUT/runs/logs/$name.time" $PY -m polycl train-dataset --dataset "$OUT/$ds" --out "$model" --profile "$PROFILE" --seed "$seed" "${done_file[@]}" "${extra[@]}" \
        --cache "$OUT/runs/cache" --command-note "cd training && ARMS=$arm SEEDS=$seed scripts/learning_loop.sh" \
        --data-note "learning-loop experiment ($ds): patient A (TotalSegmentator example, labels 1-7), 20+20 polyseg phantoms (scanner A seeds 1000.., B 2000..), patient B unlabelled" \
        --licence "Apache-2.0 (weights trained by polyseg's trainer on the TotalSegmentator example CT and labels, Apache-2.0, and synthetic phantoms)" \
        > "$OUT/runs/logs/$name.jsonl" 2> "$OUT/runs/logs/$name.err"
      echo "$(date +%T) $name: done, $(cat "$OUT/runs/logs/$name.time"), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/runs/logs/times.txt"
    fi
    evaluate "$name" "$model/$name.json"
  done
done
