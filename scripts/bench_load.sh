#!/bin/sh
# bench_load.sh times polyseg's NIfTI loader (volume.ReadNIfTI, through
# scripts/loadtime) against nibabel loading the same file into memory:
#
#   /usr/bin/python3 -c 'import nibabel,sys; nibabel.load(sys.argv[1]).get_fdata()' FILE
#
# on the real example CT and on a generated 512x512x300 int16 .nii.gz (made
# with nibabel in a temporary directory, removed afterwards). Each side is
# timed as a whole process, start-up included, since that is what a user
# waits for: one warm-up run, then the median of 5. It prints the medians
# and the ratio polyseg/nibabel (the project's target is at most 0.5).
#
# Usage: scripts/bench_load.sh   (from anywhere; needs go and python3-nibabel)
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
REAL=../shared/data/real/totalsegmentator/example_ct.nii.gz
RUNS=5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/loadtime" ./scripts/loadtime

"$PY" scripts/ct_phantom.py "$tmp/ct512.nii.gz"  # a CT-like volume, 32 MB

# median CMD...: wall seconds of the median of $RUNS runs after a warm-up.
median() {
	"$@" >/dev/null
	i=0
	while [ $i -lt $RUNS ]; do
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		awk "BEGIN { print $e - $s }"
		i=$((i + 1))
	done | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

printf '%-34s %12s %12s %8s\n' file "nibabel (s)" "polyseg (s)" ratio
for f in "$REAL" "$tmp/ct512.nii.gz"; do
	if [ ! -f "$f" ]; then
		echo "skipping $f: not found" >&2
		continue
	fi
	nib=$(median "$PY" -c 'import nibabel,sys; nibabel.load(sys.argv[1]).get_fdata()' "$f")
	ours=$(median "$tmp/loadtime" "$f")
	printf '%-34s %12.3f %12.3f %8.2f\n' "$(basename "$f")" "$nib" "$ours" "$(awk "BEGIN { print $ours / $nib }")"
done
echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
