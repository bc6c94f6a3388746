#!/bin/sh
# bench_mesh.sh times re-meshing one changed segment of a 512x512x120 scan
# (mesh.BenchmarkRemesh) against scikit-image's marching_cubes on the same
# mask in the same run: the phantom of `polyseg phantom --size 512 --slices
# 120 --seed 1` (0.78x0.78x3 mm voxels), label 5 (the liver, about 1 million
# voxels). Both sides do the same work: find the label's voxels and their
# bounding box in the whole scan, pad the box by one voxel, run marching
# cubes at level 0.5 (scikit-image's default Lewiner method, one thread;
# polyseg on GOMAXPROCS threads). Reading the file is not timed. Each side
# is warmed up once, then the median of $RUNS runs (default 5) is printed,
# wall time and CPU time, and the ratios polyseg / scikit-image. The Go
# benchmark also times the re-mesh with the box known ("box") and with
# `polyseg mesh`'s default smoothing ("extract+smooth20").
#
# Usage: scripts/bench_mesh.sh   (from anywhere; needs go, python3-skimage
# and python3-nibabel; the phantom takes about half a minute to make)
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUNS=${RUNS:-5}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go run ./cmd/polyseg phantom --size 512 --slices 120 --seed 1 "$tmp" >/dev/null
labels="$tmp/phantom_A_0001_labels.nii.gz"

POLYSEG_MESH_BENCH_LABELS="$labels" go test -run '^$' -bench Remesh -benchtime 10x -count "$RUNS" ./mesh | tee "$tmp/go.txt"

"$PY" scripts/skimage_remesh.py "$labels" "$RUNS" | tee "$tmp/py.txt"

med() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
for case in extract box extract+smooth20; do
  wall=$(awk -v c="BenchmarkRemesh/$case-" 'index($1, c) == 1 {print $3/1e6}' "$tmp/go.txt" | med)
  cpu=$(awk -v c="BenchmarkRemesh/$case-" 'index($1, c) == 1 {print $5}' "$tmp/go.txt" | med)
  echo "polyseg $case: median $wall ms wall, $cpu ms CPU"
done
pyw=$(sed -n 's/.*median \([0-9.]*\) ms wall.*/\1/p' "$tmp/py.txt")
pyc=$(sed -n 's/.*wall, \([0-9.]*\) ms CPU.*/\1/p' "$tmp/py.txt")
for case in extract box extract+smooth20; do
  wall=$(awk -v c="BenchmarkRemesh/$case-" 'index($1, c) == 1 {print $3/1e6}' "$tmp/go.txt" | med)
  cpu=$(awk -v c="BenchmarkRemesh/$case-" 'index($1, c) == 1 {print $5}' "$tmp/go.txt" | med)
  awk -v n="$case" -v w="$wall" -v c="$cpu" -v pw="$pyw" -v pc="$pyc" \
    'BEGIN {printf "ratio polyseg %s / scikit-image: %.2f wall, %.2f CPU\n", n, w/pw, c/pc}'
done
