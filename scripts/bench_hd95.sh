#!/bin/sh
# bench_hd95.sh times `polyseg evaluate` against the usual Python way of
# computing the same numbers: medpy's hd95 (medpy.metric.binary, whose
# surface-distance code is reproduced here with SciPy, as medpy is not a
# Debian package): the border of each mask by a 6-connected erosion, an
# exact Euclidean distance transform of the whole volume with the voxel
# spacing, distances both ways pooled, NumPy's 95th percentile. Both read
# the same pair of label files, a realistic case: a 512x512x300 grid of
# 0.75x0.75x1 mm with a liver (about 1.8 L, label 5), a spleen and two
# kidneys, the prediction shifted 3 mm with rippled surfaces (the same
# phantom as metrics.BenchmarkCompareLabels). Only the liver is compared
# (--labels 5): SciPy needs about 20 s per label on two cores.
#
# Each side is timed as a whole process (start-up and reading the two
# .nii.gz included, as a user waits for it) by /usr/bin/time, which also
# gives the peak resident memory. A first run of each checks that both give
# the same Dice, HD95 and ASSD (the pooled mean; see metrics/doc.go) to
# 1e-6 and is the warm-up; then the median of $RUNS runs (default 3) is
# printed with the ratio polyseg/Python.
#
# Usage: scripts/bench_hd95.sh   (from anywhere; needs go, python3-scipy
# and python3-nibabel)
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUNS=${RUNS:-3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/polyseg" ./cmd/polyseg

"$PY" - "$tmp/pred.nii.gz" "$tmp/ref.nii.gz" <<'EOF'
import sys
import numpy as np, nibabel as nib
d = (512, 512, 300)
sp = (0.75, 0.75, 1.0)
organs = [  # label, centre (mm), semi-axes (mm): as in metrics/bench_test.go
    (5, (150, 200, 150), (90, 70, 70)),
    (1, (280, 230, 160), (45, 30, 50)),
    (2, (170, 290, 130), (25, 30, 50)),
    (3, (250, 290, 130), (25, 30, 50)),
]
pred = np.zeros(d, np.uint8)
ref = np.zeros(d, np.uint8)
for label, c, rad in organs:
    lo = [max(0, int((c[a] - 1.2 * rad[a]) / sp[a])) for a in range(3)]
    hi = [min(d[a], int((c[a] + 1.2 * rad[a]) / sp[a]) + 1) for a in range(3)]
    i, j, k = np.meshgrid(*[np.arange(lo[a], hi[a]) for a in range(3)], indexing="ij")
    x = (i * sp[0] - c[0]) / rad[0]
    y = (j * sp[1] - c[1]) / rad[1]
    z = (k * sp[2] - c[2]) / rad[2]
    box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
    ref[box][x * x + y * y + z * z <= 1] = label
    xs = (i * sp[0] - c[0] - 3) / rad[0]
    r = 1 + 0.06 * np.sin(5 * np.arctan2(y, xs)) * np.cos(3 * z)
    pred[box][xs * xs + y * y + z * z <= r * r] = label
aff = np.diag([sp[0], sp[1], sp[2], 1.0])
for path, data in ((sys.argv[1], pred), (sys.argv[2], ref)):
    img = nib.Nifti1Image(data, aff)
    img.header.set_xyzt_units("mm")
    nib.save(img, path)
EOF

cat >"$tmp/medpy_style.py" <<'EOF'
import sys
import numpy as np, nibabel as nib
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

def surface_distances(result, reference, spacing):
    # medpy.metric.binary.__surface_distances, connectivity 1.
    fp = generate_binary_structure(result.ndim, 1)
    result_border = result ^ binary_erosion(result, structure=fp, iterations=1)
    reference_border = reference ^ binary_erosion(reference, structure=fp, iterations=1)
    dt = distance_transform_edt(~reference_border, sampling=spacing)
    return dt[result_border]

pred_img, ref_img = nib.load(sys.argv[1]), nib.load(sys.argv[2])
label = int(sys.argv[3])
spacing = ref_img.header.get_zooms()[:3]
p = np.asarray(pred_img.dataobj) == label
r = np.asarray(ref_img.dataobj) == label
dice = 2 * np.count_nonzero(p & r) / (np.count_nonzero(p) + np.count_nonzero(r))
pooled = np.hstack((surface_distances(p, r, spacing), surface_distances(r, p, spacing)))
print(f"{dice!r} {np.percentile(pooled, 95)!r} {pooled.mean()!r}")
EOF

# timed NAME CMD...: appends "SECONDS KB" of one run (wall time and peak
# resident memory, /usr/bin/time) to $tmp/NAME.
timed() {
	name=$1
	shift
	/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1 >>"$tmp/$name"
}

# stats NAME: "SECONDS MB", the median time and the largest peak memory.
stats() {
	sort -n "$tmp/$1" | awk -v runs="$RUNS" '
		{ t[NR] = $1; if ($2 > m) m = $2 }
		END { printf "%s %.0f", t[int((runs + 1) / 2)], m / 1024 }'
}

# Same numbers first: Dice, HD95, ASSD of the liver from both. These runs
# are also the warm-up (page cache, binaries).
"$tmp/polyseg" evaluate --labels 5 --csv "$tmp/go.csv" "$tmp/pred.nii.gz" "$tmp/ref.nii.gz" >/dev/null
ours=$(awk -F, 'NR == 2 { print $5, $6, $7 }' "$tmp/go.csv")
theirs=$("$PY" "$tmp/medpy_style.py" "$tmp/pred.nii.gz" "$tmp/ref.nii.gz" 5)
echo "liver Dice, HD95 (mm), ASSD (mm): polyseg $ours; medpy-style $theirs"
awk -v a="$ours" -v b="$theirs" 'BEGIN {
	split(a, x, " "); split(b, y, " ")
	for (i = 1; i <= 3; i++) {
		d = x[i] - y[i]; if (d < 0) d = -d
		if (d > 1e-6) { print "MISMATCH in value " i; exit 1 }
	}
}'

# The sides alternate, so that both see the same load.
i=0
while [ $i -lt $RUNS ]; do
	timed py "$PY" "$tmp/medpy_style.py" "$tmp/pred.nii.gz" "$tmp/ref.nii.gz" 5
	timed go "$tmp/polyseg" evaluate --labels 5 "$tmp/pred.nii.gz" "$tmp/ref.nii.gz"
	timed go4 "$tmp/polyseg" evaluate "$tmp/pred.nii.gz" "$tmp/ref.nii.gz"
	i=$((i + 1))
done
set -- $(stats py)
py=$1 pymem=$2
set -- $(stats go)
go=$1 gomem=$2
set -- $(stats go4)
go4=$1 go4mem=$2
printf '%-30s %12s %8s %14s\n' "median of $RUNS" "seconds" ratio "peak RSS (MB)"
printf '%-30s %12s %8s %14s\n' "liver, medpy-style SciPy" "$py" "" "$pymem"
printf '%-30s %12s %8.3f %14s\n' "liver, polyseg evaluate" "$go" "$(awk "BEGIN { print $go / $py }")" "$gomem"
printf '%-30s %12s %8s %14s\n' "4 organs, polyseg evaluate" "$go4" "" "$go4mem"
for n in py go go4; do
	echo "$n runs (s, KB): $(tr '\n' ';' <"$tmp/$n")"
done
echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
