#!/usr/bin/env bash
# The test command of the README: installs what is missing, then vets and runs every test with the
# race detector on the default (FFTW, cgo) build, and once more on the pure-Go build
# (CGO_ENABLED=0, gonum FFT), so that the suite is known to pass on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
./scripts/setup.sh
go mod download
echo "== go vet ./..."
go vet ./...
echo "== go test -race ./... (cgo, FFTW)"
go test -race -count=1 ./...
echo "== go test ./... (CGO_ENABLED=0, pure Go)"
CGO_ENABLED=0 go test -count=1 ./...
