#!/usr/bin/env bash
# GUI smoke test: builds the real binary, runs `polyseg view` on a small
# generated scan under a virtual X server (Xvfb), drives it with real key
# and mouse events (xdotool), and checks through the state file the app
# writes when POLYSEG_DEBUG_STATE names one (ui.DebugState) that:
#   - a brush stroke paints, Ctrl+Z removes it, Ctrl+Y brings it back;
#   - A opens the Add segment dialog with its name field holding the keys,
#     and typing a name there changes no tool, no window, no 3D, starts
#     nothing, and is the name;
#   - Esc closes the dialog;
#   - after a click on the 3D check box, a key reaches the views.
# Needs xvfb, xdotool and python3 (scripts/setup.sh installs them).
# POLYSEG_SMOKE_SHOTS=DIR keeps a screenshot of each step there (import,
# from imagemagick).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8

for tool in Xvfb xdotool python3; do
	command -v "$tool" >/dev/null || { echo "gui_smoke: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
xvfb= app=
cleanup() {
	# The app autosaves as it closes: let it finish before its folder goes.
	[ -n "$app" ] && { kill "$app" 2>/dev/null; wait "$app" 2>/dev/null; } || true
	[ -n "$xvfb" ] && { kill "$xvfb" 2>/dev/null; wait "$xvfb" 2>/dev/null; } || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

go build -o "$work/polyseg" ./cmd/polyseg
"$work/polyseg" phantom "$work/scan" --size 96 --slices 24 >/dev/null
scan=$(ls "$work"/scan/phantom_*_0001.nii.gz | grep -v _labels)

# Xvfb picks a free display and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1400x900x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
xvfb=$!
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "gui_smoke: Xvfb did not start" >&2; cat "$work/xvfb.log" >&2; exit 1; }
export DISPLAY=":$(cat "$work/display")"

# Its own home and XDG folders: Fyne's settings and the autosaves stay in
# the temporary folder. No ONNX Runtime: the app starts no model work.
mkdir -p "$work/home"
state="$work/state.json"
HOME="$work/home" XDG_STATE_HOME="$work/home/state" XDG_CACHE_HOME="$work/home/cache" \
	XDG_CONFIG_HOME="$work/home/config" POLYSEG_DEBUG_STATE="$state" \
	"$work/polyseg" view "$scan" --ort-lib /nonexistent/libonnxruntime.so.1 >"$work/app.log" 2>&1 &
app=$!

step=start
fail() {
	echo "gui_smoke: FAIL at step \"$step\": $*" >&2
	[ -f "$state" ] && { echo "state: $(cat "$state")" >&2; }
	tail -n 20 "$work/app.log" >&2
	exit 1
}
# field NAME prints a field of the state.
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if isinstance(v,(list,bool)) else v)' "$state" "$1"; }
# expect PYTHON-CONDITION waits (10 s at most) until the condition holds
# of the state s, a dict.
expect() {
	for _ in $(seq 100); do
		if [ -f "$state" ] && python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$state" "$1" 2>/dev/null; then
			return 0
		fi
		kill -0 "$app" 2>/dev/null || fail "the app exited"
		sleep 0.1
	done
	fail "want $1"
}
shot() {
	if [ -n "${POLYSEG_SMOKE_SHOTS:-}" ] && command -v import >/dev/null; then
		mkdir -p "$POLYSEG_SMOKE_SHOTS"
		import -window root "$POLYSEG_SMOKE_SHOTS/$1.png"
	fi
}

step="open the scan"
expect 's["scan"] != "" and s["jobs"] == 0'
win=$(xdotool search --sync --name polyseg | head -n 1)
# place NAME prints x y width height of a control, in the window.
place() { python3 -c 'import json,sys; print(*json.load(open(sys.argv[1]))["places"][sys.argv[2]])' "$state" "$1"; }
read -r ax ay aw ah < <(place axial)
cx=$((ax + aw / 2)) cy=$((ay + ah / 2))
xdotool mousemove --window "$win" "$cx" "$cy"
shot 0-open

step="D chooses the brush"
xdotool key d
expect 's["tool"] == "Brush"'

step="a brush stroke paints"
xdotool mousemove --window "$win" $((cx - 40)) $((cy - 20)) mousedown 1
for i in $(seq 16); do xdotool mousemove --window "$win" $((cx - 40 + 5 * i)) $((cy - 20 + 2 * i)); done
xdotool mouseup 1
expect 's["labelled_voxels"] > 0 and s["undo"] == "Paint liver"'
painted=$(field labelled_voxels)
shot 1-stroke

step="Ctrl+Z removes the stroke"
xdotool key ctrl+z
expect 's["labelled_voxels"] == 0 and s["redo"] == "Paint liver"'
shot 2-undo

step="Ctrl+Y brings it back"
xdotool key ctrl+y
expect "s['labelled_voxels'] == $painted and s['undo'] == 'Paint liver'"

step="A opens Add segment, its field holding the keys"
window=$(field window)
xdotool key a
expect 's["dialogs"] == 1 and s["focus"].endswith("keySelectEntry") and s["field"] == ""'

step="typing a name in the dialog changes nothing else"
name="Eng tp3 sxg X"
xdotool type --delay 20 "$name"
expect "s['field'] == '$name'"
expect "s['tool'] == 'Brush' and not s['sphere'] and s['window'] == '$window' and s['jobs'] == 0 and not s['preview'] and s['labelled_voxels'] == $painted"
shot 3-dialog

step="Esc closes the dialog"
xdotool key Escape
expect 's["dialogs"] == 0 and s["focus"] == ""'
expect 's["tool"] == "Brush"'

step="after a click on 3D, E reaches the views"
read -r bx by bw bh < <(place 3D)
xdotool mousemove --window "$win" $((bx + bh / 2)) $((by + bh / 2)) click 1
expect 's["sphere"]'
xdotool mousemove --window "$win" "$cx" "$cy" key e
expect 's["tool"] == "Eraser" and s["focus"] == ""'
shot 4-end

# A display whose socket accepts and then closes (a server going away, or
# refusing this user): one line naming the display, exit status 1, no
# stack trace.
step="a display that refuses gives one line"
fake=$(python3 - <<'PY'
import os
for n in range(90, 200):
    if not os.path.exists("/tmp/.X11-unix/X%d" % n):
        print(n)
        break
PY
)
python3 -c '
import os, socket, sys, time
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(p)
s.listen(8)
s.settimeout(30)
end = time.time() + 30
try:
    while time.time() < end:
        c, _ = s.accept()
        c.close()
except OSError:
    pass
finally:
    os.unlink(p)
' "/tmp/.X11-unix/X$fake" &
refuser=$!
for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X$fake" ] && break; sleep 0.1; done
set +e
DISPLAY=":$fake" HOME="$work/home" "$work/polyseg" view "$scan" >"$work/refused.log" 2>&1
code=$?
set -e
kill "$refuser" 2>/dev/null || true
wait "$refuser" 2>/dev/null || true
[ "$code" = 1 ] || fail "exit status $code on a refusing display, want 1: $(cat "$work/refused.log")"
grep -q "polyseg view: cannot open a window on DISPLAY \":$fake\"" "$work/refused.log" || fail "no one-line error: $(cat "$work/refused.log")"
! grep -q "goroutine" "$work/refused.log" || fail "a stack trace: $(head -5 "$work/refused.log")"
echo "gui_smoke: ok (a stroke of $painted voxels undone and redone, the Add dialog typed in and closed, keys back after 3D, a refusing display named in one line)"
