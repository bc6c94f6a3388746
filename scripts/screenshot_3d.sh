#!/bin/sh
# Reproduces docs/screenshot-3d.png: the desktop app under a virtual X
# server (Xvfb) showing patient A of the shared real fixtures with its
# labels, the crosshair in the liver, and the 3D view (the fourth quadrant)
# turned by a drag to look at the segments from the front, a little from
# the right and above. Needs xvfb, xdotool and imagemagick (import).
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot-3d.png}
data=${POLYSEG_REAL_DATA:-../shared/data/real/totalsegmentator}
display=${DISPLAY_NUM:-:98}

bin=$(mktemp -d)/polyseg
go build -o "$bin" ./cmd/polyseg

Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=
cleanup() {
	[ -n "$app" ] && kill "$app" 2>/dev/null || true
	kill "$xvfb" 2>/dev/null || true
	rm -rf "$(dirname "$bin")"
}
trap cleanup EXIT INT TERM
. scripts/xvfb_wait.sh
wait_for_xvfb screenshot_3d.sh "$display" "$xvfb"

# Fyne reads the locale from LANG and rejects plain "C".
DISPLAY=$display LANG=en_US.UTF-8 "$bin" view "$data/example_ct.nii.gz" \
	--labels "$data/example_seg_fast_force_split.nii.gz" --goto liver &
app=$!
# The scan, the labels and the surfaces load in the background.
sleep "${SETTLE_SECONDS:-15}"
# The window sits at the screen's origin (no window manager); the 3D view
# is the bottom-right cell of the views. A drag right and down turns the
# scene's front to the right and tips it towards the viewer's eye.
DISPLAY=$display xdotool mousemove 730 640 sleep 0.3 mousedown 1 \
	mousemove 745 645 sleep 0.1 mousemove 760 650 sleep 0.1 mousemove 775 655 sleep 0.1 mouseup 1
sleep 2
DISPLAY=$display import -window root -trim +repage "$out"
echo "wrote $out"
