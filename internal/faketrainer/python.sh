#!/bin/sh
# A stand-in for "python3" running the trainer of training/ (tests only).
# It answers polyseg's probe (-c SCRIPT) with PROBE, and runs
# "-m polycl train-dataset ..." (alone or under -m torch.distributed.run)
# as MODE says, printing the trainer's documented JSON progress lines
# (training/polycl/loop.py, PROGRESS_FORMAT) and exiting with its statuses.
# Its arguments are written one per line to RECORD, the done-case file's
# content to RECORD.done, the pid of its worker process (modes hang and
# stubborn) to RECORD.worker. The lines above "set -u" are filled in by
# package faketrainer.
set -u
case "${1:-}" in
-c) printf '%s\n' "$PROBE"; exit 0 ;;
esac
printf '%s\n' "$@" > "$RECORD"
prefix=""
out=""
done_file=""
while [ $# -gt 0 ]; do
	case "$1" in
	torch.distributed.run) prefix="[default0]:" ;;
	--out) out="$2"; shift ;;
	--done-file) done_file="$2"; shift ;;
	esac
	shift
done
[ -n "$done_file" ] && cat "$done_file" > "$RECORD.done"
name=$(basename "$out")
partial="$(dirname "$out")/.$name.partial"
emit() { printf '%s%s\n' "$prefix" "$1"; }
say() { printf '%s%s\n' "$prefix" "$1" >&2; }
now=0
emit "{\"event\": \"start\", \"dataset\": \"d\", \"out\": \"$out\", \"profile\": {\"name\": \"smoke\"}, \"seed\": 0, \"pid\": $$, \"time\": 1, \"elapsed_s\": 0.0}"
emit '{"event": "phase", "phase": "check", "time": 1, "elapsed_s": 0.1}'
case "$MODE" in
dataset)
	emit '{"event": "error", "kind": "dataset", "message": "dataset d: case c1: label file missing", "time": 1, "elapsed_s": 0.2}'
	say "error: dataset d: case c1: label file missing"
	exit 2 ;;
argparse)
	say "usage: polycl train-dataset [-h] --dataset DATASET --out OUT"
	say "polycl train-dataset: error: unrecognized arguments: --bogus"
	exit 2 ;;
fail)
	emit '{"event": "error", "kind": "failed", "message": "RuntimeError: CUDA out of memory", "time": 1, "elapsed_s": 0.2}'
	say "error: RuntimeError: CUDA out of memory"
	exit 1 ;;
crash)
	say "Traceback (most recent call last):"
	say "MemoryError: cannot allocate 9 GB"
	exit 1 ;;
noevent)
	exit 0 ;;
esac
mkdir -p "$partial"
echo $$ > "$partial/pid"
emit '{"event": "phase", "phase": "pretrain", "time": 1, "elapsed_s": 0.3}'
say "pre-training (fake)"
case "$MODE" in
killed)
	kill -9 $$ ;;
hang | stubborn)
	# A worker in the trainer's process group, as torchrun's are; started
	# in the background by a non-interactive shell, it ignores SIGINT.
	sleep 1000 &
	worker=$!
	echo $worker > "$RECORD.worker"
	if [ "$MODE" = stubborn ]; then
		trap '' INT TERM
	else
		trap 'rm -rf "$partial"; emit "{\"event\": \"error\", \"kind\": \"interrupted\", \"message\": \"interrupted (SIGINT); no model written\", \"time\": 2, \"elapsed_s\": 1}"; exit 130' INT
		# On SIGTERM it stops its worker, as torchrun's agent does.
		trap 'rm -rf "$partial"; kill "$worker" 2>/dev/null; emit "{\"event\": \"error\", \"kind\": \"interrupted\", \"message\": \"interrupted by signal 15; no model written\", \"time\": 2, \"elapsed_s\": 1}"; exit 143' TERM
	fi
	i=0
	while :; do
		i=$((i + 1))
		emit "{\"event\": \"step\", \"phase\": \"pretrain\", \"epoch\": 1, \"epochs\": 1, \"step\": $i, \"steps\": 1000000, \"loss\": 0.7, \"fraction\": 0.001, \"time\": 1, \"elapsed_s\": 1}"
		sleep 0.05
	done ;;
esac
for i in 1 2; do
	emit "{\"event\": \"step\", \"phase\": \"pretrain\", \"epoch\": 1, \"epochs\": 1, \"step\": $i, \"steps\": 2, \"loss\": 1.5, \"fraction\": 0.$((i * 2)), \"time\": 1, \"elapsed_s\": 0.4}"
done
emit '{"event": "epoch", "phase": "pretrain", "epoch": 1, "epochs": 1, "loss": 1.4, "time": 1, "elapsed_s": 0.5}'
emit '{"event": "phase", "phase": "finetune", "time": 1, "elapsed_s": 0.5}'
for i in 1 2 3; do
	emit "{\"event\": \"step\", \"phase\": \"finetune\", \"epoch\": 1, \"epochs\": 1, \"step\": $i, \"steps\": 3, \"loss\": NaN_IS_NULL, \"fraction\": $(( (4 + 2 * i) / 10 )).$(( (4 + 2 * i) % 10 )), \"time\": 1, \"elapsed_s\": 0.6}" | sed 's/NaN_IS_NULL/null/'
done
emit '{"event": "epoch", "phase": "finetune", "epoch": 1, "epochs": 1, "loss": 0.9, "val_dice": [0.91, null], "time": 1, "elapsed_s": 0.7}'
emit '{"event": "phase", "phase": "validate", "time": 1, "elapsed_s": 0.8}'
emit '{"event": "phase", "phase": "export", "time": 1, "elapsed_s": 0.9}'
printf 'fake onnx of %s\n' "$name" > "$partial/$name.onnx"
sha=$(sha256sum "$partial/$name.onnx" | cut -d' ' -f1)
cat > "$partial/$name.json" <<JSON
{
  "format": "polyseg-model/1", "name": "$name", "kind": "unet", "file": "$name.onnx", "sha256": "$sha",
  "inputs": [{"name": "image", "shape": [-1, 1, 32, 32], "type": "float32"}],
  "outputs": [{"name": "probs", "shape": [-1, 3, 32, 32], "type": "float32"}],
  "preprocess": {"plane": "axial", "orientation": "radiological", "window": {"level": 40, "width": 400},
                 "normalize": "window01", "size": [32, 32], "resize": "bilinear"},
  "activation": "softmax", "threshold": 0.5,
  "labels": [{"channel": 1, "value": 1, "name": "spleen"}, {"channel": 2, "value": 2, "name": "liver"}],
  "provenance": {"cases": ["c1", "c2"], "validation_case": "c3", "unlabelled_cases": ["c4"],
                 "profile": {"name": "smoke"}, "seed": 0, "strategy": "polycl-o+s"},
  "metrics": {"validation": {"spleen": 0.91, "liver": null}}
}
JSON
echo "a log line" > "$partial/train.log"
rm -f "$partial/pid"
mv "$partial" "$out"
emit "{\"event\": \"done\", \"model\": \"$out\", \"manifest\": \"$out/$name.json\", \"validation\": {\"spleen\": 0.91, \"liver\": null}, \"time\": 1, \"elapsed_s\": 1.0}"
exit 0
