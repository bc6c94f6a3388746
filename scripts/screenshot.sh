#!/bin/sh
# Reproduces docs/screenshot.png: the desktop app under a virtual X server
# (Xvfb), showing patient A of the shared real fixtures with its labels and
# the crosshair in the liver. Other arguments after OUT.png replace those
# given to polyseg view; "-" alone gives none (the bundled example):
#   scripts/screenshot.sh docs/screenshot-example.png -
# Needs xvfb and imagemagick (import).
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/screenshot.png}
[ $# -gt 0 ] && shift
data=${POLYSEG_REAL_DATA:-../shared/data/real/totalsegmentator}
tour=
if [ $# -eq 0 ]; then
	set -- "$data/example_ct.nii.gz" --labels "$data/example_seg_fast_force_split.nii.gz" --goto liver
	tour=1
elif [ "$1" = "-" ]; then
	set --
fi
display=${DISPLAY_NUM:-:99}

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
wait_for_xvfb screenshot.sh "$display" "$xvfb"

# Fyne reads the locale from LANG and rejects plain "C".
DISPLAY=$display LANG=en_US.UTF-8 "$bin" view "$@" &
app=$!
# The window maps, the scan and labels load in the background: give both
# time, then grab the screen, trimmed to the window (there is no window
# manager, and the screen around the window is black).
sleep "${SETTLE_SECONDS:-8}"
if [ -n "$tour" ] && command -v xdotool >/dev/null; then
	# The window sits at the screen's origin (no window manager): the
	# axial view is its top-left cell; keys go to the window under the
	# pointer.
	DISPLAY=$display xdotool mousemove 170 240 sleep 0.5 key d key bracketright key bracketright key bracketright \
		sleep 0.3 key k sleep 0.3 mousemove 172 236
	sleep 1
fi
DISPLAY=$display import -window root -trim +repage "$out"
echo "wrote $out"
