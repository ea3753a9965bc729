#!/usr/bin/env python3
"""Independent reference for the phase-gradient heap integration figures in benchmarks/REPORT.md.

Debian (bookworm) packages no implementation of PGHI/RTPGHI: `apt-cache search ltfat` finds only
python3-ltfatpy 1.0.16, a port of LTFAT 2.1.0 without constructphasereal or rtpghi, and
`apt-cache search phaseret` finds nothing. This script is therefore a second implementation,
in numpy only, written from the equations of the papers and not from rephase's Go code nor from
LTFAT/libphaseret:

- Z. Průša, P. Balazs, P. L. Søndergaard, "A noniterative method for reconstruction of phase from
  STFT magnitude", IEEE/ACM TASLP 25(5), 2017 (PGHI, Algorithm 1, gamma = 0.25645 L^2 for Hann);
- Z. Průša, N. Holighaus, "Toward high-quality real-time signal reconstruction from STFT
  magnitude", IEEE SPL 24(6), 2017 (RTPGHI: centred time difference with one frame of look-ahead,
  the backward difference (3 f[n] - 4 f[n-1] + f[n-2]) / 2 without).

It also integrates the TRUE phase derivatives of the signal's STFT (computed with the
time-weighted and the differentiated window) with the same heap: that "oracle" row separates the
loss of the magnitude-based gradient estimate (Hann is not a Gaussian) from the loss of the
integration itself.

Metric: spectral convergence 20 log10(|| |STFT(y)| - |STFT(x)| || / || |STFT(x)| ||) with
periodic Hann, center=True, reflect padding; y is the least-squares ISTFT of |STFT(x)| with the
reconstructed phase (no iteration).

usage: pghi_reference.py speech.wav [n_fft hop] [tol]
prints one JSON object per method. Not used by the tests. Runs in a few seconds per configuration.
"""
import heapq
import json
import sys
import wave

import numpy as np


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768


def hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def stft(x, win, hop):
    """Center framing, reflect padding, frame-centre phase (frames x bins)."""
    n = len(win)
    xp = np.pad(x, n // 2, mode="reflect")
    frames = 1 + len(x) // hop
    xp = np.pad(xp, (0, max(0, (frames - 1) * hop + n - len(xp))))
    idx = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(xp[idx] * win, axis=1)
    return spec * (-1.0) ** np.arange(spec.shape[1])  # phase referenced to the frame's centre


def istft(spec, win, hop, length):
    """Least-squares inverse of stft (frame-centre phase)."""
    n = len(win)
    frames = spec.shape[0]
    spec = spec * (-1.0) ** np.arange(spec.shape[1])
    y = np.zeros((frames - 1) * hop + n)
    d = np.zeros_like(y)
    fr = np.fft.irfft(spec, n, axis=1) * win
    for m in range(frames):
        y[m * hop:m * hop + n] += fr[m]
        d[m * hop:m * hop + n] += win * win
    y = np.where(d > 1e-12, y / np.maximum(d, 1e-12), 0)
    return y[n // 2:n // 2 + length]


def sc_db(x, y, win, hop):
    t = np.abs(stft(x, win, hop))
    return float(20 * np.log10(np.linalg.norm(np.abs(stft(y, win, hop)) - t) / np.linalg.norm(t)))


def gradients(logs, hop, n, gamma, time_diff):
    """Phase steps from log-magnitudes (frames x bins): per hop (time direction) and per bin
    (frequency direction), in radians. time_diff(logs) is the derivative along frames."""
    bins = logs.shape[1]
    dk = np.zeros_like(logs)
    dk[:, 1:-1] = (logs[:, 2:] - logs[:, :-2]) / 2  # |X| is even in k about DC and Nyquist
    tgrad = hop * n / gamma * dk + 2 * np.pi * hop * np.arange(bins) / n
    fgrad = -gamma / (hop * n) * time_diff(logs)
    return tgrad, fgrad


def centred_time(logs):
    d = np.zeros_like(logs)
    d[1:-1] = (logs[2:] - logs[:-2]) / 2
    if len(logs) > 2:
        d[0] = (-3 * logs[0] + 4 * logs[1] - logs[2]) / 2
        d[-1] = (3 * logs[-1] - 4 * logs[-2] + logs[-3]) / 2
    return d


def heap_integrate(mag, tgrad, fgrad, mask, phase, known, rng):
    """Algorithm 1 of Průša et al. 2017 over a frames x bins grid: bins where mask is False get
    random phase; bins where known is True keep the given phase and seed the heap."""
    frames, bins = mag.shape
    done = ~mask | known
    heap = [(-mag[m, k], m, k) for m, k in zip(*np.nonzero(known & mask))]
    heapq.heapify(heap)
    order = sorted(zip(*np.nonzero(mask & ~known)), key=lambda mk: -mag[mk])
    nxt = 0
    while True:
        while heap:
            _, m, k = heapq.heappop(heap)
            for dm, dk in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                mm, kk = m + dm, k + dk
                if 0 <= mm < frames and 0 <= kk < bins and not done[mm, kk]:
                    if dm:
                        step = (tgrad[m, k] + tgrad[mm, kk]) / 2
                    else:
                        step = (fgrad[m, k] + fgrad[mm, kk]) / 2
                    phase[mm, kk] = phase[m, k] + (dm + dk) * step
                    done[mm, kk] = True
                    heapq.heappush(heap, (-mag[mm, kk], mm, kk))
        while nxt < len(order) and done[order[nxt]]:
            nxt += 1
        if nxt == len(order):
            break
        m, k = order[nxt]
        phase[m, k] = 0
        done[m, k] = True
        heapq.heappush(heap, (-mag[m, k], m, k))
    phase[~mask] = rng.uniform(0, 2 * np.pi, np.count_nonzero(~mask))
    return phase


def pghi(mag, hop, n, gamma, tol, rng, grads=None):
    """Offline PGHI: one pass over the bins above tol * max (the paper's algorithm)."""
    logs = np.log(np.maximum(mag, max(tol * mag.max(), np.finfo(float).tiny)))
    tgrad, fgrad = grads if grads is not None else gradients(logs, hop, n, gamma, centred_time)
    mask = mag > tol * mag.max()
    phase = np.zeros_like(mag)
    return heap_integrate(mag, tgrad, fgrad, mask, phase, np.zeros_like(mask), rng)


def rtpghi(mag, hop, n, gamma, tol, rng, causal):
    """RTPGHI: frame n's phase from frame n-1's, a heap over the two frames."""
    frames, bins = mag.shape
    phase = np.zeros_like(mag)
    for m in range(frames):
        lo = max(m - 1, 0)
        two = mag[lo:m + 1]
        thr = max(tol * two.max(), np.finfo(float).tiny)
        logs = np.log(np.maximum(mag, thr)[max(m - 2, 0):min(m + 2, frames)])
        c = m - max(m - 2, 0)  # row of frame m in logs
        have_prev, have_next = m >= 1, (not causal) and m + 1 < frames
        if have_prev and have_next:
            dt = (logs[c + 1] - logs[c - 1]) / 2
        elif causal and m >= 2:
            dt = (3 * logs[c] - 4 * logs[c - 1] + logs[c - 2]) / 2
        elif have_prev:
            dt = logs[c] - logs[c - 1]
        elif have_next:
            dt = logs[c + 1] - logs[c]
        else:
            dt = np.zeros(bins)
        rows = logs[c - 1:c + 1] if have_prev else logs[c:c + 1]
        tg, _ = gradients(rows, hop, n, gamma, lambda l: np.zeros_like(l))
        fg = np.zeros_like(tg)
        fg[-1] = -gamma / (hop * n) * dt
        ph = np.zeros_like(tg)
        known = np.zeros(tg.shape, dtype=bool)
        mask = two > thr
        if have_prev:
            ph[0] = phase[m - 1]
            known[0] = mask[0]
            mask[0] = known[0]
        out = heap_integrate(two, tg, fg, mask | known, ph, known, rng)
        # bins of the current frame below the tolerance: random phase (heap_integrate did it)
        phase[m] = out[-1]
    return phase


def true_gradients(x, win, hop):
    """The true per-hop and per-bin phase steps of the frame-centre STFT of x, from the STFTs
    with the time-weighted window t*w and the derivative window w' (t in samples from the
    window's centre)."""
    n = len(win)
    t = np.arange(n) - n / 2
    dw = np.gradient(win)  # central differences; exact enough for the oracle
    c = stft(x, win, hop)
    ct = stft(x, t * win, hop)
    cd = stft(x, dw, hop)
    s2 = np.maximum(np.abs(c) ** 2, 1e-300)
    bins = c.shape[1]
    omega = 2 * np.pi * np.arange(bins) / n  # rad per sample
    # dphi/dt = omega - Im(c_d conj c)/|c|^2 (rad per sample); dphi/domega = -Re(c_t conj c)/|c|^2
    inst = omega[None, :] - np.imag(cd * np.conj(c)) / s2
    gd = -np.real(ct * np.conj(c)) / s2
    return hop * inst, 2 * np.pi / n * gd


def main():
    x = read_wav(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    hop = int(sys.argv[3]) if len(sys.argv) > 3 else n // 4
    tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-6
    win = hann(n)
    gamma = 0.25645 * n * n
    mag = np.abs(stft(x, win, hop))
    rng = np.random.default_rng(1)

    def report(name, phase):
        y = istft(mag * np.exp(1j * phase), win, hop, len(x))
        print(json.dumps({"method": name, "n_fft": n, "hop": hop, "tol": tol,
                          "sc_db": round(sc_db(x, y, win, hop), 2)}), flush=True)

    report("pghi", pghi(mag, hop, n, gamma, tol, rng))
    report("rtpghi_lookahead1", rtpghi(mag, hop, n, gamma, tol, rng, causal=False))
    report("rtpghi_causal", rtpghi(mag, hop, n, gamma, tol, rng, causal=True))
    report("pghi_true_gradients", pghi(mag, hop, n, gamma, tol, rng, grads=true_gradients(x, win, hop)))


if __name__ == "__main__":
    main()
