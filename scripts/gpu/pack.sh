#!/usr/bin/env bash
# Packs what scripts/gpu/check.sh needs on the GPU machine and cannot find there (no registry
# is reachable from it) into parts small enough for one device call each, which carries at most
# 64 MiB with the repository: the GPU runtime (ONNX Runtime 1.29 + CUDA plugin), the SAM
# weights, the headless gpucheck binary and the one shared library it needs beyond glibc, the
# real patients as NIfTI, and Debian's pure-Python nibabel/tqdm/packaging (used there only if
# its own Python lacks them). The experiment's phantoms are not packed: gpucheck makes them there
# and checks them against scripts/gpu/data.sha256 (the same bytes, made here beforehand).
#
#   scripts/gpu/pack.sh            # -> out/gpu-pack/part-aa, part-ab, ... and SHA256SUMS
#
# Needs: scripts/fetch-runtime.sh --gpu done, Go, xz. docs/gpu.md says how to send the parts.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
cache=${POLYSEG_CACHE:-$root/.cache}
real=${REAL:-$root/../shared/data/real/totalsegmentator}
out=$root/out/gpu-pack
part_size=${PART_SIZE:-50M}

g=$cache/runtime-gpu
for f in "$g/libonnxruntime.so.1" "$g/libonnxruntime_providers_shared.so" "$g/libonnxruntime_providers_cuda.so" \
	"$cache/models/sam-encoder.onnx" "$cache/models/sam-decoder.onnx"; do
	[ -f "$f" ] || { echo "pack: $f missing (run scripts/fetch-runtime.sh --gpu)" >&2; exit 1; }
done
[ -d "$real/example_ct_dicom" ] || { echo "pack: real data not found in $real (set REAL)" >&2; exit 1; }

rm -rf "$out"
stage=$out/stage
mkdir -p "$stage/bin" "$stage/lib" "$stage/cache/runtime-gpu" "$stage/cache/models" "$stage/data" "$stage/python"

echo "pack: building gpucheck" >&2
CGO_ENABLED=1 go build -trimpath -o "$stage/bin/gpucheck" ./scripts/gpu/gpucheck
# glibc is the machine's own; anything else gpucheck links (OpenJPEG, for DICOM) travels.
ldd "$stage/bin/gpucheck" | awk '/=> \//{print $3}' | while read -r lib; do
	case "$(basename "$lib")" in
	libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) ;;
	*) cp -L "$lib" "$stage/lib/" ;;
	esac
done

cp "$g"/libonnxruntime.so.1 "$g"/libonnxruntime_providers_shared.so "$g"/libonnxruntime_providers_cuda.so "$stage/cache/runtime-gpu/"
cp "$cache"/models/sam-encoder.onnx "$cache"/models/sam-decoder.onnx "$stage/cache/models/"
cp models/sam-encoder.json models/sam-decoder.json "$stage/cache/models/"

echo "pack: patient B as NIfTI" >&2
go run ./cmd/polyseg convert "$real/example_ct_dicom" "$stage/data/patientB_ct.nii.gz" >/dev/null
cp "$real/example_seg_dicom.nii.gz" "$stage/data/patientB_seg.nii.gz"
cp "$real/example_ct.nii.gz" "$stage/data/patientA_ct.nii.gz"
cp "$real/example_seg_fast_force_split.nii.gz" "$stage/data/patientA_seg.nii.gz"

for p in nibabel tqdm packaging; do
	d=/usr/lib/python3/dist-packages/$p
	[ -d "$d" ] && cp -r "$d" "$stage/python/"
done
find "$stage/python" -name __pycache__ -prune -exec rm -rf {} +

echo "pack: compressing" >&2
(cd "$stage" && find . -type f | LC_ALL=C sort >"$out/FILES" && sha256sum $(cat "$out/FILES") >"$out/stage.sha256")
cp "$out/stage.sha256" "$stage/stage.sha256"
tar -C "$stage" -cf - . | xz -T0 -6 >"$out/pack.tar.xz"
(cd "$out" && split -b "$part_size" -a 2 pack.tar.xz part- && sha256sum pack.tar.xz part-* >SHA256SUMS)
rm -rf "$stage" "$out/pack.tar.xz"
ls -la "$out" >&2
echo "pack: $(ls "$out"/part-* | wc -l) parts in $out; send them as docs/gpu.md says" >&2
