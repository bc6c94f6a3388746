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
# their plain run, and, after the plain run of all the UI's tests, on those
# where jobs hand their results to the window through fyne.Do while the
# test sends events (opening, autosave, propagation, fill, export, the
# worklist, training, SAM clicks) and on the key tests: the UI's other tests (window
# captures of patient A, the 3D view) would take minutes more under it and
# exercise no other threading. Measured in docs/benchmarks.md.
race=(./viewer ./app/tools ./internal/...)
plain=$(go list ./... | grep -vxF -f <(go list "${race[@]}"))
go test -timeout 25m $plain
# The GUI smoke test mostly waits for the window (a third of its wall time is
# CPU) and the trainer's tests use one core: both run beside the race
# detector's runs, their output shown after them (docs/benchmarks.md).
side=$(mktemp -d)
trap 'rm -rf "$side"' EXIT
./scripts/gui_smoke.sh >"$side/smoke" 2>&1 &
smoke=$!
(cd training && /usr/bin/python3 -m pytest -q -p no:cacheprovider) >"$side/pytest" 2>&1 &
pytest=$!
go test -race -timeout 15m "${race[@]}"
threaded_ui='TestExportSEGFromTheFileMenu|TestFillBetweenDialog|TestUndoRedoKeys|TestFileKeys|TestNoKeysBehindDialogs'
threaded_ui+='|TestControlsGiveKeysBack|TestDropSegmentation|TestDropLabelsAsks|TestOpenErrorsShowADialog'
threaded_ui+='|TestAutosaveIsOfferedBack|TestJobsBarShowsProgressAndCancels|TestPropagateCancelled|TestModelErrorsSayWhy'
threaded_ui+='|TestSegmentListActions|TestStrokeEndedByALoadSaysSo|TestTrain|TestWorklist|TestLeaveDataset'
threaded_ui+='|TestPointsToolThroughTheWindow|TestShiftKeys'
go test -race -timeout 15m -run "$threaded_ui" ./ui
smoke_status=0 pytest_status=0
wait "$smoke" || smoke_status=$?
wait "$pytest" || pytest_status=$?
cat "$side/smoke" "$side/pytest"
if [ "$smoke_status" != 0 ] || [ "$pytest_status" != 0 ]; then
  echo "gui_smoke.sh exit $smoke_status, training pytest exit $pytest_status" >&2
  exit 1
fi
