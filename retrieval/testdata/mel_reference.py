#!/usr/bin/python3
"""Writes the mel filterbank fixtures read by retrieval/mel_test.go.

Reference: torchaudio.functional.melscale_fbanks, which implements librosa.filters.mel's
conventions (mel_scale="slaney"/"htk" = librosa htk=False/True, norm="slaney"/None). It is computed
in float64, stored as float32 and transposed to librosa's layout, n_mels x (n_fft/2+1), as mel_<name>.npy.
torchaudio itself returns (n_freqs, n_mels). The test reads the fixtures with stream/npy; Python is
not needed at test time.

Regenerate (Debian: apt-get install python3-torchaudio python3-numpy):
    /usr/bin/python3 retrieval/testdata/mel_reference.py  # the system Python, where apt installs
"""
import os

import numpy as np
import torch
import torchaudio.functional as AF

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))

# name: (sample_rate, n_fft, n_mels, f_min, f_max or None for sr/2, mel_scale, norm)
CONFIGS = {
    "hifigan": (22050, 1024, 80, 0.0, 8000.0, "slaney", "slaney"),
    "htk_none_16k": (16000, 512, 40, 0.0, None, "htk", None),
    "slaney_none_fmin": (22050, 512, 96, 30.0, 11025.0, "slaney", None),
    "htk_slaney_44k": (44100, 512, 64, 50.0, 14000.0, "htk", "slaney"),
}

for name, (sr, n_fft, n_mels, f_min, f_max, scale, norm) in CONFIGS.items():
    fb = AF.melscale_fbanks(
        n_freqs=n_fft // 2 + 1,
        f_min=f_min,
        f_max=float(sr // 2) if f_max is None else f_max,
        n_mels=n_mels,
        sample_rate=sr,
        norm=norm,
        mel_scale=scale,
    )
    # float32 keeps the fixtures small: its rounding (< 6e-8 for weights <= 1) is far below the
    # test tolerance of 1e-6.
    w = np.ascontiguousarray(fb.numpy().T.astype(np.float32))  # n_mels x bins
    np.save(os.path.join(HERE, "mel_%s.npy" % name), w)
    print(name, w.shape, float(w.max()))
