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
# The race detector slows tests 2-10 times: it runs on the packages whose
# goroutines share state and whose tests are quick (the UI's threading,
# fyne.Do from jobs; viewer's parallel rendering; the tools; the lock and
# atomic-write helpers), in place of their plain run, not on the model
# tests of app, inference and cmd, which would take several minutes more.
race=(./ui ./viewer ./app/tools ./internal/...)
plain=$(go list ./... | grep -vxF -f <(go list "${race[@]}"))
go test -timeout 25m $plain
go test -race -timeout 15m "${race[@]}"
./scripts/gui_smoke.sh
(cd training && /usr/bin/python3 -m pytest -q -p no:cacheprovider)
