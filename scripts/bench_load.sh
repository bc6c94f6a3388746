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

# A CT-like phantom: air, a soft-tissue ellipse, a bony ring and noise inside
# the body, so that it compresses about as a real scan does (32 MB).
"$PY" - "$tmp/ct512.nii.gz" <<'EOF'
import sys
import numpy as np, nibabel as nib
nx, ny, nz = 512, 512, 300
rng = np.random.default_rng(1)
x, y = np.meshgrid(np.arange(nx) - nx / 2, np.arange(ny) - ny / 2, indexing="ij")
r = (x / 200) ** 2 + (y / 150) ** 2
sl = np.full((nx, ny), -1000, np.int16)
sl[r < 1] = 40
sl[(r > 0.8) & (r < 0.9)] = 700
vol = np.empty((nx, ny, nz), np.int16)
for k in range(nz):
    vol[:, :, k] = sl + (rng.normal(0, 15, (nx, ny)) * (r < 1)).astype(np.int16)
aff = np.diag([-0.75, -0.75, 1.0, 1.0])
aff[:3, 3] = [190, 190, -150]
img = nib.Nifti1Image(vol, aff)
img.header.set_xyzt_units("mm")
nib.save(img, sys.argv[1])
EOF

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
