#!/usr/bin/python3
"""Reference values for rephase's CWT, computed independently of it.

The analytic Morlet wavelet of rephase (MATLAB's "amor"), psi_hat(w) = 2 exp(-(w - 6)^2 / 2) for
w > 0, has the closed-form time-domain wavelet psi(t) = sqrt(2/pi) exp(6it - t^2/2) (the cut at
w = 0 is below 1e-7). Its CWT at scale s is the circular convolution of the signal with
(1/s) psi(t/s), computed here directly in the time domain with numpy (O(n^2) per scale), not
through any FFT. rephase computes the same transform in the frequency domain.

Usage: /usr/bin/python3 retrieval/testdata/cwt_reference.py > retrieval/testdata/cwt_morlet_reference.json
"""
import json

import numpy as np

n = 256
rng = np.random.default_rng(20261121)
t = np.arange(n)
signal = np.cos(2 * np.pi * 0.01 * t * (1 + t / 64)) + 0.5 * rng.standard_normal(n)

# rephase's scales with FreqLimits = [6/(2*pi*32), 6/(2*pi*4)] cycles/sample and 10 voices per
# octave are s_j = 4 * 2^(j/10), j = 0..30.
js = [0, 5, 10, 20, 30]
scales = [4 * 2 ** (j / 10) for j in js]


def psi(u):
    return np.sqrt(2 / np.pi) * np.exp(6j * u - u * u / 2)


re, im = [], []
for s in scales:
    w = np.zeros(n, dtype=complex)
    for b in range(n):
        d = b - t
        k = sum(psi((d + shift) / s) for shift in (-2 * n, -n, 0, n, 2 * n)) / s
        w[b] = np.dot(signal, k)
    re.append(w.real.tolist())
    im.append(w.imag.tolist())

json.dump({"description": __doc__.strip().splitlines()[0], "signal": signal.tolist(),
           "freq_limits": [6 / (2 * np.pi * 32), 6 / (2 * np.pi * 4)], "voices": 10,
           "scales": scales, "re": re, "im": im}, __import__("sys").stdout)
