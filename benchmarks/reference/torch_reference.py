#!/usr/bin/env python3
"""External reference figures for the offline inversion table in benchmarks/REPORT.md.

Runs torchaudio's GriffinLim (fast Griffin-Lim, momentum 0.99) from random and zero phase and
torch-autograd gradient descent (L-BFGS, Adam) on the magnitude MSE, on the same WAV and STFT
configuration rephase uses (periodic Hann, n_fft 512, hop 128, center=True, reflect padding), and
prints spectral convergence in dB at 100/300/600 iterations and milliseconds per iteration as one
JSON object per line. Debian: python3-torch python3-torchaudio. Single thread.

usage: torch_reference.py speech.wav [n_fft hop]
"""
import json
import sys
import time
import wave

import numpy as np
import torch
import torchaudio

torch.set_num_threads(1)
path = sys.argv[1]
n_fft = int(sys.argv[2]) if len(sys.argv) > 2 else 512
hop = int(sys.argv[3]) if len(sys.argv) > 3 else n_fft // 4
with wave.open(path) as w:
    assert w.getsampwidth() == 2 and w.getnchannels() == 1
    x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
x = torch.from_numpy(x)
win = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)


def stft(sig):
    return torch.stft(sig, n_fft, hop, window=win, center=True, pad_mode="reflect", return_complex=True)


T = stft(x).abs()


def sc_db(y):
    return float(20 * torch.log10(torch.linalg.norm(stft(y).abs() - T) / torch.linalg.norm(T)))


checkpoints = (100, 300, 600)
for rand_init in (True, False):
    row = {"system": "torchaudio GriffinLim (momentum 0.99)", "init": "random" if rand_init else "zero"}
    total = 0.0
    for it in checkpoints:
        torch.manual_seed(0)
        gl = torchaudio.transforms.GriffinLim(n_fft=n_fft, hop_length=hop, power=1, n_iter=it,
                                              momentum=0.99, rand_init=rand_init, length=len(x),
                                              window_fn=lambda n, **kw: torch.hann_window(n, periodic=True, **kw),
                                              wkwargs={"dtype": torch.float64})
        t0 = time.perf_counter()
        y = gl(T)
        total = time.perf_counter() - t0
        row[f"sc_db_{it}"] = round(sc_db(y), 2)
    row["ms_per_iteration"] = round(1000 * total / checkpoints[-1], 3)
    print(json.dumps(row), flush=True)

for name in ("lbfgs", "adam"):
    torch.manual_seed(0)
    y = (torch.randn(len(x), dtype=torch.float64) * 1e-3).requires_grad_()
    if name == "lbfgs":
        opt = torch.optim.LBFGS([y], lr=1, max_iter=1, history_size=10, line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([y], lr=1e-3)
    row = {"system": f"torch autograd {name}", "init": "noise"}

    def closure():
        opt.zero_grad()
        loss = ((stft(y).abs() - T) ** 2).sum()
        loss.backward()
        return loss

    t0 = time.perf_counter()
    for it in range(1, checkpoints[-1] + 1):
        opt.step(closure)
        if it in checkpoints:
            row[f"sc_db_{it}"] = round(sc_db(y.detach()), 2)
    row["ms_per_iteration"] = round(1000 * (time.perf_counter() - t0) / checkpoints[-1], 3)
    print(json.dumps(row), flush=True)
