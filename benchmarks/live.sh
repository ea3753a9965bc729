#!/usr/bin/env bash
# The live runs of benchmarks/REPORT.md ("Live audio"), against JACK's dummy backend at 48 kHz
# (started here if no JACK server runs, stopped on exit):
#   results/live10.json  rephase live --input sine:440 --output default --duration 10s (defaults)
#   results/live60.json  60 s at n_fft 1024, hop 256, ℓ = 2, 32 iterations per hop
# Timing runs, not tests: they need a quiet machine; CI does not run them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin" JACK_NO_START_SERVER=1
if ! jack_lsp >/dev/null 2>&1; then
	jackd --no-realtime -d dummy -r 48000 -p 256 -C 2 -P 2 >/tmp/rephase-jackd.log 2>&1 &
	jack_pid=$!
	trap 'kill "$jack_pid" 2>/dev/null || true' EXIT
	for _ in $(seq 100); do jack_lsp >/dev/null 2>&1 && break; sleep 0.1; done
fi
go build -o /tmp/rephase-bench ./cmd/rephase
/tmp/rephase-bench live --input sine:440 --output default --host-api jack --duration 10s --json \
	> benchmarks/results/live10.json 2> >(grep -v '^ALSA lib' >&2)
/tmp/rephase-bench live --input sine:440 --output default --host-api jack --duration 60s \
	--n-fft 1024 --hop 256 --lookahead 2 --iters-per-hop 32 --json \
	> benchmarks/results/live60.json 2> >(grep -v '^ALSA lib' >&2)
cat benchmarks/results/live10.json benchmarks/results/live60.json
