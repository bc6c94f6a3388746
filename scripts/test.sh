#!/usr/bin/env bash
# Runs every test of the project: formatting and vet, the Go tests (the UI
# ones headless through fyne's test driver), the race detector on the
# packages where it is affordable, the GUI smoke test (the real binary
# under Xvfb, scripts/gui_smoke.sh), and the trainer's pytest suite on
# Debian's PyTorch. Run scripts/setup.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# The race detector slows tests 2-10 times. It runs on viewer (parallel
# rendering), app/tools and internal (locks, atomic writes) in place of
# their plain run, and on the UI's tests that drive the window with
# synthetic scans, jobs and dialogs (the threading of fyne.Do from jobs)
# after the plain run of them all: the UI's tests of real patients (window
# captures of large views, the 3D view, SAM propagation) would take
# several minutes more under it. Measured in docs/benchmarks.md.
race=(./viewer ./app/tools ./internal/...)
plain=$(go list ./... | grep -vxF -f <(go list "${race[@]}"))
go test -timeout 25m $plain
go test -race -timeout 15m "${race[@]}"
heavy_ui='TestPropagateBoxAcceptUndoRedoExport|TestView3DGestures|TestView3DStatsFollowEdits|TestZoomPanAndReset'
heavy_ui+='|TestOverlayVisibilityAndOutline|TestBoxToolPreviewEnterEsc|TestWindowPresetsAndRightDragChangePixels'
heavy_ui+='|TestTapMovesCrosshairInAllViews|TestOpenShowsScanAndStatus|TestScrollAndKeysChangeSlice|TestLiverOnScreenLeft'
heavy_ui+='|TestSegmentButtonPreview|TestExportSurfacesDialog|TestLabelListShowsLabels|TestLabelListChoosesToolLabel'
heavy_ui+='|TestMaximiseAndRestore|TestStatusFollowsTheMouse|TestDropOpensTheFile'
go test -race -timeout 15m -skip "$heavy_ui" ./ui
./scripts/gui_smoke.sh
(cd training && /usr/bin/python3 -m pytest -q -p no:cacheprovider)
