#!/bin/sh
# Reproduces docs/screenshot-propagate.png: the app under a virtual X server
# (Xvfb) on patient A of the shared real fixtures, with the liver drawn on
# one axial slice only (the slice where it is largest, cut out of the
# reference labels by `polyseg propagate --range K:K`), after P: the
# propagated liver as a preview, the confidence strip beside the axial view
# and the status line naming the engine and provider.
# Needs xvfb, imagemagick (import) and xdotool.
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot-propagate.png}
data=${POLYSEG_REAL_DATA:-../shared/data/real/totalsegmentator}
display=${DISPLAY_NUM:-:98}
slice=${ANCHOR_SLICE:-106}
command -v xdotool >/dev/null || { echo "screenshot_propagate.sh: needs xdotool (apt-get install xdotool)" >&2; exit 1; }

tmp=$(mktemp -d)
bin=$tmp/polyseg
go build -o "$bin" ./cmd/polyseg
"$bin" propagate --anchor-mask "$data/example_seg_fast_force_split.nii.gz" --label 5 \
	--anchor-slice "$slice" --range "$slice:$slice" "$data/example_ct.nii.gz" "$tmp/anchor.nii.gz" >/dev/null

Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
cleanup() {
	[ -n "$app" ] && kill "$app" 2>/dev/null || true
	kill "$xvfb" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
. scripts/xvfb_wait.sh
wait_for_xvfb screenshot_propagate.sh "$display" "$xvfb"
# A home of its own: no autosave of an earlier session is offered back.
HOME=$tmp DISPLAY=$display LANG=en_US.UTF-8 "$bin" view "$data/example_ct.nii.gz" --labels "$tmp/anchor.nii.gz" --goto liver &
app=$!
sleep "${SETTLE_SECONDS:-10}"
# No window manager: the window sits at the origin and the axial view is
# its top-left cell; keys go to the window under the pointer.
DISPLAY=$display xdotool mousemove 170 240 sleep 0.5 key p
sleep "${PROPAGATE_SECONDS:-40}"
DISPLAY=$display xdotool mousemove 172 236
sleep 1
DISPLAY=$display import -window root -trim +repage "$out"
echo "wrote $out"
