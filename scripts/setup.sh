#!/usr/bin/env bash
# Installs what building and testing rephase needs on a fresh Debian machine, skipping what is
# already there: FFTW3 and pkg-config for the default cgo FFT backend, PortAudio for audio devices,
# and the JACK server the device tests run against. Runs apt-get update first; as root, or through sudo otherwise.
set -euo pipefail

packages=(
	libfftw3-dev # FFTW3, the default FFT backend (cgo); the pure-Go build does not need it
	pkg-config   # finds FFTW for cgo
	gcc          # cgo
	portaudio19-dev # PortAudio, for stream/device and "rephase live" (cgo)
	jackd2          # JACK: the tests run PortAudio against jackd's dummy backend (headless, paced in real time)
	espeak-ng       # speech input of the benchmarks (rephase bench, benchmarks/)
	sox             # resamples it
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
		sudo="sudo"
	fi
	echo "setup: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
	echo "setup: add /usr/local/go/bin to PATH" >&2
fi
