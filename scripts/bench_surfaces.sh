#!/bin/sh
# bench_surfaces.sh times what the 3D view waits for after an edit of one
# segment of a 512x512x120 scan (app.BenchmarkSurfacesRemesh: a brush dab
# on the liver or its undo, then the liver meshed again by the session's
# surfaces, raw and smoothed) against scikit-image's marching_cubes on the
# same mask in the same run: the phantom of `polyseg phantom --size 512
# --slices 120 --seed 1` (0.78x0.78x3 mm voxels), label 5 (the liver).
# scikit-image finds the label's box in the whole scan and runs marching
# cubes at level 0.5 on the padded box (one thread); the app copies the
# liver's box grown by the dab's out of the session and runs marching
# cubes on it (both cores). Each side is warmed up, then the median of
# $RUNS runs (default 5) is printed, wall and CPU time, and the ratios.
#
# Usage: scripts/bench_surfaces.sh   (from anywhere; needs go,
# python3-skimage and python3-nibabel; the phantom takes half a minute)
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUNS=${RUNS:-5}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go run ./cmd/polyseg phantom --size 512 --slices 120 --seed 1 "$tmp" >/dev/null
labels="$tmp/phantom_A_0001_labels.nii.gz"

POLYSEG_MESH_BENCH_LABELS="$labels" go test -run '^$' -bench SurfacesRemesh -benchtime 10x -count "$RUNS" ./app | tee "$tmp/go.txt"

"$PY" scripts/skimage_remesh.py "$labels" "$RUNS" | tee "$tmp/py.txt"

med() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { # case, metric name: the median of that metric over the runs
  awk -v c="BenchmarkSurfacesRemesh/$1-" -v m="$2" 'index($1, c) == 1 {for (i = 2; i < NF; i++) if ($(i+1) == m) print (m == "ns/op" ? $i/1e6 : $i)}' "$tmp/go.txt" | med
}
pyw=$(sed -n 's/.*median \([0-9.]*\) ms wall.*/\1/p' "$tmp/py.txt")
pyc=$(sed -n 's/.*wall, \([0-9.]*\) ms CPU.*/\1/p' "$tmp/py.txt")
for case in raw smooth20; do
  wall=$(field $case ns/op)
  cpu=$(field $case cpu-ms/op)
  first=$(field $case first-shown-ms)
  echo "app $case: median $wall ms wall (until idle), $cpu ms CPU, first surface shown after $first ms"
  awk -v n="$case" -v w="$wall" -v f="$first" -v c="$cpu" -v pw="$pyw" -v pc="$pyc" \
    'BEGIN {printf "ratio app %s / scikit-image: %.2f wall (first shown %.2f), %.2f CPU\n", n, w/pw, f/pw, c/pc}'
done
