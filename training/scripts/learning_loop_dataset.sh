#!/usr/bin/env bash
# Builds a learning-loop dataset (docs/learning-loop.md) with the app's own commands, as a user
# would: `polyseg dataset init`, then `polyseg dataset add` for patient A with its reference
# labels, for each `polyseg phantom --msd` scan with its labels, and for patient B without labels.
# Run from training/:
#   scripts/learning_loop_dataset.sh OUT --patient-a CT SEG [--patient-b SCAN] [--phantoms DIR ...]
# SCAN is a NIfTI file or a DICOM series folder; DIR an MSD folder from `polyseg phantom --msd`.
#
# Labels: the seven abdominal organs, whose TotalSegmentator v2 values 1..7 are consecutive
# (spleen 1, kidney_right 2, kidney_left 3, gallbladder 4, liver 5, stomach 6, pancreas 7); every
# other value (adrenal glands, vessels, bones, bowel ...) becomes background. `polyseg dataset add`
# keeps every value it is given, so the label files are first reduced to 1..7 in a temporary
# folder (nibabel); dataset add then declares the values with TotalSegmentator's names.
#
# Done cases: `dataset add` without --labels writes an empty label volume for patient B, so B has
# a label file like the others. What keeps B unlabelled is the worklist: `polyseg train` trains
# on the cases marked done (or those named by --cases), and the trainer takes the same list
# (--cases / --done-file); a case with a label file that is not done is never read for its labels.
# No case of a new dataset is done, so this writes OUT/done.json ({"done": [the labelled cases]})
# for `python3 -m polycl train-dataset --done-file`, and prints the `polyseg train --cases` list.
#
# OUT is built in a temporary folder next to it and renamed at the end; an existing OUT is an error.
set -euo pipefail
PY=${PY:-/usr/bin/python3}
POLYSEG=${POLYSEG:-out/polyseg}

usage() { echo "usage: $0 OUT --patient-a CT SEG [--patient-b SCAN] [--phantoms DIR ...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
ct_a= seg_a= scan_b= phantoms=()
while [ $# -gt 0 ]; do
  case $1 in
    --patient-a) [ $# -ge 3 ] || usage; ct_a=$2; seg_a=$3; shift 3 ;;
    --patient-b) [ $# -ge 2 ] || usage; scan_b=$2; shift 2 ;;
    --phantoms) [ $# -ge 2 ] || usage; phantoms+=("$2"); shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$ct_a" ] || usage
[ ! -e "$out" ] || { echo "$out exists: remove it to rebuild" >&2; exit 1; }
[ -x "$POLYSEG" ] || { echo "no polyseg at $POLYSEG (build it: go build -o training/$POLYSEG ./cmd/polyseg)" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.$(basename "$out").XXXXXX")
labels=$(mktemp -d)  # the reduced label files: outside the dataset, removed at the end
trap 'rm -rf "$tmp" "$labels"' EXIT

# Cases as ID, image, label (empty: unlabelled), patient A first so that its labels are declared
# first; phantoms in their dataset.json's order.
cases=("patientA" "$ct_a" "$seg_a")
for dir in ${phantoms[@]+"${phantoms[@]}"}; do
  while IFS=$'\t' read -r id img lab; do
    cases+=("$id" "$img" "$lab")
  done < <($PY -c '
import json, sys
from pathlib import Path
root = Path(sys.argv[1])
for t in json.loads((root / "dataset.json").read_text())["training"]:
    img = root / t["image"]
    print(img.name.removesuffix(".nii.gz").removesuffix(".nii"), img, root / t["label"], sep="\t")
' "$dir")
done
[ -z "$scan_b" ] || cases+=("patientB" "$scan_b" "")

# Reduce every label file to the values 1..7 in one Python process (uint8, the source's grid).
remap=()
for ((i = 0; i < ${#cases[@]}; i += 3)); do
  [ -z "${cases[i+2]}" ] || remap+=("${cases[i+2]}" "$labels/${cases[i]}.nii.gz")
done
$PY - "${remap[@]}" <<'EOF'
import sys
import nibabel as nib
import numpy as np
args = sys.argv[1:]
for src, dst in zip(args[::2], args[1::2]):
    img = nib.load(src)
    seg = np.asanyarray(img.dataobj)
    out = np.where((seg >= 1) & (seg <= 7), seg, 0).astype(np.uint8)
    hdr = img.header.copy()
    hdr.set_data_dtype(np.uint8)
    hdr["scl_slope"], hdr["scl_inter"] = 1, 0
    nib.save(nib.Nifti1Image(out, img.affine, hdr), dst)
EOF

"$POLYSEG" dataset init --name "polyseg learning loop: patient A + phantoms, patient B unlabelled" "$tmp" >/dev/null
done_cases=()
for ((i = 0; i < ${#cases[@]}; i += 3)); do
  id=${cases[i]} img=${cases[i+1]} lab=${cases[i+2]}
  if [ -n "$lab" ]; then
    echo "$id: $img, labels $lab (values 1-7)"
    "$POLYSEG" dataset add --case "$id" --labels "$labels/$id.nii.gz" "$tmp" "$img" >/dev/null
    done_cases+=("$id")
  else
    echo "$id: $img, unlabelled"
    "$POLYSEG" dataset add --case "$id" "$tmp" "$img" >/dev/null
  fi
done
check=$("$POLYSEG" dataset check "$tmp" 2>&1) || { echo "$check" >&2; exit 1; }
$PY -c 'import json, sys; print(json.dumps({"done": sys.argv[1:]}, indent=1))' "${done_cases[@]}" > "$tmp/done.json"
chmod 755 "$tmp"  # mktemp's 0700 is not a dataset's
mv -T "$tmp" "$out"
trap 'rm -rf "$labels"' EXIT
echo "wrote $out: $((${#cases[@]} / 3)) cases, ${#done_cases[@]} done (labelled): $out/done.json"
echo "train on it: polyseg train --cases $(IFS=,; echo "${done_cases[*]}") $out"
