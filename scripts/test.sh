#!/usr/bin/env bash
# Runs every test of the project: formatting and vet, the Go tests (the UI
# ones headless through fyne's test driver), and the trainer's pytest suite
# on Debian's PyTorch. Run scripts/setup.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -timeout 25m ./...
(cd training && /usr/bin/python3 -m pytest -q -p no:cacheprovider)
