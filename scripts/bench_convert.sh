#!/usr/bin/env bash
# Times `polyseg convert` against `dcm2niix -z y` on the same DICOM series
# (patient B of the fixtures by default: 20 JPEG 2000 slices of 512x512),
# both writing .nii.gz into a temporary folder. One warm-up run each, then
# RUNS runs of each, interleaved so that load on a shared machine hits both
# alike; prints the medians, peak memory and the ratio polyseg/dcm2niix
# (below 1: polyseg is faster).
#
# usage: scripts/bench_convert.sh [DICOMDIR]   (RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-../shared/data/real/totalsegmentator/example_ct_dicom}
runs=${RUNS:-5}
[ -d "$dir" ] || { echo "bench_convert: no DICOM folder $dir" >&2; exit 1; }
command -v dcm2niix >/dev/null || { echo "bench_convert: dcm2niix not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_convert: /usr/bin/time not installed (Debian package time)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/polyseg" ./cmd/polyseg
# Fyne, linked into the binary, warns on stderr about a locale it cannot parse.
unset LC_ALL
export LANG=en_US.UTF-8

# one_run NAME: runs the tool once, prints "seconds peak_kB".
one_run() {
	rm -rf "$tmp/out" && mkdir "$tmp/out"
	case $1 in
	polyseg) /usr/bin/time -f "%e %M" -o "$tmp/t" "$tmp/polyseg" convert "$dir" "$tmp/out/ct.nii.gz" >/dev/null ;;
	dcm2niix) /usr/bin/time -f "%e %M" -o "$tmp/t" dcm2niix -z y -f ct -o "$tmp/out" "$dir" >/dev/null ;;
	esac
	cat "$tmp/t"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

one_run polyseg >/dev/null
one_run dcm2niix >/dev/null
: >"$tmp/polyseg.txt"
: >"$tmp/dcm2niix.txt"
for _ in $(seq "$runs"); do
	one_run polyseg >>"$tmp/polyseg.txt"
	one_run dcm2niix >>"$tmp/dcm2niix.txt"
done

p=$(cut -d' ' -f1 "$tmp/polyseg.txt" | median)
d=$(cut -d' ' -f1 "$tmp/dcm2niix.txt" | median)
pm=$(cut -d' ' -f2 "$tmp/polyseg.txt" | median)
dm=$(cut -d' ' -f2 "$tmp/dcm2niix.txt" | median)
echo "input: $dir ($(ls "$dir" | wc -l) files), median of $runs runs after a warm-up, $(nproc) cores"
echo "polyseg convert: $p s, peak $((pm / 1024)) MiB   (runs: $(cut -d' ' -f1 "$tmp/polyseg.txt" | tr '\n' ' '))"
echo "dcm2niix -z y:   $d s, peak $((dm / 1024)) MiB   (runs: $(cut -d' ' -f1 "$tmp/dcm2niix.txt" | tr '\n' ' '))"
awk -v p="$p" -v d="$d" 'BEGIN { printf "ratio polyseg/dcm2niix: %.2f\n", p / d }'
