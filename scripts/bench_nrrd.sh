#!/bin/sh
# bench_nrrd.sh times polyseg's NRRD loader (volume.ReadNRRD, through
# scripts/loadtime) against Python reading the same file as pynrrd 1.0 does
# (pynrrd is not packaged for Debian; its read path is: parse the header
# lines, inflate the gzip stream with zlib in chunks, numpy.frombuffer),
# plus the conversion to float32 that polyseg's volumes hold, and, when
# scripts/nrrdref is installed, against ITK's NRRD reader (itk-wasm under
# node). The file is a generated 512x512x300 int16 CT-like phantom written
# by Python as 3D Slicer writes a volume (NRRD0004, LPS, gzip). Each side
# is timed as a whole process, start-up included: one warm-up run, then the
# median of 5; the ratios are polyseg's time over each reference's.
#
# Usage: scripts/bench_nrrd.sh   (from anywhere; needs go and python3-numpy)
set -eu

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUNS=5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/loadtime" ./scripts/loadtime

"$PY" scripts/ct_phantom.py "$tmp/ct512.nrrd"

# pynrrd's read path (nrrd/reader.py: read_header, then read_data with
# zlib.decompressobj(zlib.MAX_WBITS | 16) in chunks and numpy.frombuffer).
cat >"$tmp/pyread.py" <<'PYEOF'
import sys, zlib
import numpy as np
with open(sys.argv[1], "rb") as f:
    fields = {}
    for line in f:
        line = line.decode("ascii").rstrip("\r\n")
        if line == "":
            break
        if line.startswith("#") or line.startswith("NRRD") or ":=" in line:
            continue
        k, v = line.split(": ", 1)
        fields[k] = v
    sizes = [int(s) for s in fields["sizes"].split()]
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    out = bytearray()
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        out += d.decompress(chunk)
    data = np.frombuffer(out, dtype="<i2").reshape(sizes, order="F").astype(np.float32)
PYEOF

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

f="$tmp/ct512.nrrd"
echo "file: 512x512x300 int16 gzip NRRD, $(($(stat -c %s "$f") / 1048576)) MiB"
ours=$(median "$tmp/loadtime" "$f")
py=$(median "$PY" "$tmp/pyread.py" "$f")
printf '%-40s %8.3f s\n' "polyseg (volume.ReadNRRD, float32)" "$ours"
printf '%-40s %8.3f s   ratio %.2f\n' "Python as pynrrd reads, + float32" "$py" "$(awk "BEGIN { print $ours / $py }")"
if [ -d scripts/nrrdref/node_modules/@itk-wasm/image-io ] && command -v node >/dev/null; then
	itk=$(median node scripts/nrrdref/read.mjs "$f")
	printf '%-40s %8.3f s   ratio %.2f\n' "ITK NrrdImageIO (itk-wasm, node)" "$itk" "$(awk "BEGIN { print $ours / $itk }")"
fi
echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
