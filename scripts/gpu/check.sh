#!/usr/bin/env bash
# The GPU proof of docs/gpu.md, in one go, on the GPU machine (run from the repository root):
#
#   bash scripts/gpu/check.sh PARTS_DIR [all|ort|train]
#
# PARTS_DIR holds SHA256SUMS and the parts scripts/gpu/pack.sh made here (sent one per device
# call, docs/gpu.md). The script joins and checks them, unpacks, finds the CUDA 13 libraries,
# and then
#   ort:   runs the one-operator check (gpucheck opcheck: each operator the SAM rewrite uses, and
#          Slice, on the CUDA plugin, each in its own process) and the benchmark (gpucheck bench:
#          U-Net, SAM encoder, decoder and the refinement of patient B's liver, CUDA against the
#          CPU in the same run, masks compared slice by slice);
#   train: makes the experiment's phantoms (checked against scripts/gpu/data.sha256) and runs
#          the PolyCL experiment's gpu profile (all strategies x budgets x 3 seeds).
# Everything goes to $OUT (the device tool's folder that comes back) or ./gpu-out.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
parts=${1:?usage: check.sh PARTS_DIR [all|ort|train]}
what=${2:-all}
out=${OUT:-$root/gpu-out}
mkdir -p "$out"
log=$out/gpu-check.log
exec > >(tee -a "$log") 2>&1
say() { echo "check: $(date -u +%H:%M:%S) $*"; }

say "joining the parts in $parts"
work=${WORK:-/root/pg-work}
mkdir -p "$work"
(cd "$parts" && sha256sum -c --quiet <(grep ' part-' SHA256SUMS)) || { say "a part is damaged"; exit 1; }
if [ ! -f "$work/x/stage.sha256" ]; then
	cat "$parts"/part-* >"$work/pack.tar.xz"
	want=$(awk '$2=="pack.tar.xz"{print $1}' "$parts/SHA256SUMS")
	got=$(sha256sum "$work/pack.tar.xz" | cut -d' ' -f1)
	[ "$want" = "$got" ] || { say "joined pack sha256 $got, want $want"; exit 1; }
	rm -rf "$work/x" && mkdir -p "$work/x"
	xz -dc "$work/pack.tar.xz" | tar -C "$work/x" -xf - || { say "unpacking failed"; exit 1; }
	rm -f "$work/pack.tar.xz"
fi
(cd "$work/x" && sha256sum -c --quiet stage.sha256) || { say "unpacked files do not match their checksums"; exit 1; }
x=$work/x
export POLYSEG_CACHE=$x/cache
gpucheck=$x/bin/gpucheck

# The CUDA 13 libraries the plugin needs: the Python environment's nvidia packages, a CUDA
# toolkit, or wherever find sees them.
libdirs=$x/lib
for py in python3 /usr/bin/python3; do
	d=$($py -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null) || continue
	for sub in nvidia/cu13/lib nvidia/cublas/lib nvidia/cuda_runtime/lib nvidia/curand/lib nvidia/cudnn/lib; do
		[ -d "$d/$sub" ] && libdirs=$libdirs:$d/$sub
	done
done
for d in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do
	[ -d "$d" ] && libdirs=$libdirs:$d
done
# One pass over the file system for the rest (the repository and temporary folders skipped).
while read -r f; do
	libdirs=$libdirs:$(dirname "$f")
done < <(timeout 120 find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path "$root" -o -path "$work" \) -prune -o \
	\( -name libcublasLt.so.13 -o -name libcudart.so.13 -o -name libcurand.so.10 -o -name libcudnn.so.9 \) -print 2>/dev/null | sort -u)
export LD_LIBRARY_PATH=$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi 2>&1 | head -15
# The Python that has PyTorch ($PY, else the first of these that imports torch).
py=
for p in ${PY:-} python3 /usr/bin/python3 /opt/conda/bin/python /usr/local/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
say "python: ${py:-none with torch} $([ -n "$py" ] && "$py" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1)"

status=0
if [ "$what" = all ] || [ "$what" = ort ]; then
	say "one-operator check on CUDA"
	timeout 240 "$gpucheck" opcheck --provider cuda --json "$out/opcheck.json" | tee "$out/opcheck.md" || status=1
	say "benchmark: CUDA against the CPU"
	timeout 420 "$gpucheck" bench --data "$x/data" --out "$out/bench" --reps 3 || status=1
	rm -rf "$out/bench/models-encoder" "$out/bench/models-both"
fi

if [ "$what" = all ] || [ "$what" = train ]; then
	say "experiment, gpu profile"
	# The device's own packages first; Debian's pure-Python ones fill gaps.
	export PYTHONPATH=$root/training:${PYTHONPATH:+$PYTHONPATH:}$x/python
	[ -n "$py" ] || { say "no Python with PyTorch: the experiment cannot run"; exit 1; }
	missing=$("$py" -c 'import importlib
for m in ("torch", "numpy", "scipy", "nibabel", "matplotlib", "tqdm"):
    try: importlib.import_module(m)
    except Exception: print(m, end=" ")' 2>&1)
	[ -n "$missing" ] && say "python lacks: $missing (numpy and nibabel are required: nibabel comes in the pack; scipy, matplotlib and tqdm are optional)"
	data=$work/data
	mkdir -p "$data"
	if ! (cd "$data" && sha256sum -c --quiet "$root/scripts/gpu/data.sha256" 2>/dev/null); then
		"$gpucheck" phantom --out "$data/gpu-A" --count 16 --seed 100 --scanner A --size 256 --slices 48 &&
			"$gpucheck" phantom --out "$data/gpu-B" --count 10 --seed 500 --scanner B --size 256 --slices 48 || status=1
	fi
	if (cd "$data" && sha256sum -c --quiet "$root/scripts/gpu/data.sha256"); then
		say "phantoms match scripts/gpu/data.sha256"
	else
		say "WARNING: phantoms differ from those made beforehand (scripts/gpu/data.sha256)"
	fi
	# PROFILE=smoke makes a dry run of this stage on a machine without a GPU.
	(cd "$root/training" && timeout "${TRAIN_TIMEOUT:-540}" "$py" -m polycl experiment --profile "${PROFILE:-gpu}" \
		--phantom-a "$data/gpu-A" --phantom-b "$data/gpu-B" --work "$work/experiment-gpu" \
		--real "realA=$x/data/patientA_ct.nii.gz,$x/data/patientA_seg.nii.gz" \
		--real "realB=$x/data/patientB_ct.nii.gz,$x/data/patientB_seg.nii.gz" \
		--out-md "$out/experiment-gpu.md" --plots "$out/experiment-gpu") || status=1
	# The per-run results (small) come back too, so that the report can be redrawn here.
	mkdir -p "$out/experiment-gpu/results"
	cp "$work"/experiment-gpu/results/*.json "$out/experiment-gpu/results/" 2>/dev/null
	for f in "$work"/experiment-gpu/pretrain/*-s0/pretrain.jsonl "$work"/experiment-gpu/finetune/*-b1-s0/finetune.jsonl; do
		[ -f "$f" ] && mkdir -p "$out/experiment-gpu/$(basename "$(dirname "$(dirname "$f")")")/$(basename "$(dirname "$f")")" &&
			cp "$f" "$out/experiment-gpu/$(basename "$(dirname "$(dirname "$f")")")/$(basename "$(dirname "$f")")/"
	done
fi
say "done, status $status; results in $out"
exit $status
