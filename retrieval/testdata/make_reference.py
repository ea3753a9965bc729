#!/usr/bin/env python3
"""Reference STFT magnitudes for retrieval's tests, computed independently with numpy.

Run from this directory with Debian's python3-numpy:  /usr/bin/python3 make_reference.py
It writes stft_signal.npy (float64 samples) and one stft_mag_<case>.npy per case, each
bins x frames (librosa's layout), float64. The framing is written out here from its
definition (librosa's center=True padding, or the 'full' zero padding of retrieval.Full),
not taken from rephase.
"""
import numpy as np

L = 1500
n = np.arange(L)
# Deterministic test signal: exponential chirp + two tones + LCG noise (no RNG state involved).
chirp = np.sin(2 * np.pi * (0.002 * n + 0.25 * (1.002 ** n - 1) / np.log(1.002) / L))
tones = 0.3 * np.sin(2 * np.pi * 0.0371 * n + 0.4) + 0.2 * np.cos(2 * np.pi * 0.211 * n)
state = 12345
noise = np.empty(L)
for i in range(L):
    state = (1103515245 * state + 12345) % (1 << 31)
    noise[i] = state / float(1 << 31) - 0.5
x = chirp + tones + 0.1 * noise
np.save("stft_signal.npy", x.astype(np.float64))

def window(name, wl):
    # Periodic ("DFT-even") windows: the symmetric window of length wl+1 without its last sample.
    return {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman}[name](wl + 1)[:-1]

def stft_mag(x, n_fft, hop, wl, win, framing, pad):
    w = np.zeros(n_fft)
    off = (n_fft - wl) // 2
    w[off:off + wl] = window(win, wl)
    if framing == "center":
        xp = np.pad(x, n_fft // 2, mode="reflect" if pad == "reflect" else "constant")
        frames = 1 + len(x) // hop
    else:  # full: zero padding p = (ceil(n_fft/hop) - 1) * hop, frames until the last start < L
        p = (-(-n_fft // hop) - 1) * hop
        frames = (len(x) - 1 + p) // hop + 1
        xp = np.concatenate([np.zeros(p), x, np.zeros(n_fft)])
    cols = [np.abs(np.fft.rfft(w * xp[m * hop:m * hop + n_fft])) for m in range(frames)]
    return np.stack(cols, axis=1)  # bins x frames

cases = {
    "hann256_hop64_center_reflect": (256, 64, 256, "hann", "center", "reflect"),
    "hamming128_win96_hop40_center_zero": (128, 40, 96, "hamming", "center", "zero"),
    "blackman64_hop16_full": (64, 16, 64, "blackman", "full", "zero"),
}
for name, (n_fft, hop, wl, win, framing, pad) in cases.items():
    np.save("stft_mag_%s.npy" % name, stft_mag(x, n_fft, hop, wl, win, framing, pad))
