"""Integrated loudness (EBU R128, the ITU-R BS.1770-4 measure) of audio fed in pieces, and
the peak envelope a waveform thumbnail is drawn from, both from 100 ms sub-blocks.

Not ffmpeg's `ebur128` filter through PyAV: the filter reports its figures in frame
metadata, which PyAV 16 does not expose, and parsing its log would depend on log levels.
Not pyloudnorm: it wants the whole signal in memory. Here each 100 ms sub-block is
K-weighted in the frequency domain (|H(f)|^2 of BS.1770's two filters, designed for the
stream's own sample rate as libebur128 does), which differs from filtering in time only by
the filters' few-millisecond edge effects at block borders: a 1 kHz tone at -20 dBFS reads
-23.0 LUFS mono and -20.0 stereo, as the standard says, and a 100 Hz tone, synthetic music
and espeak-ng speech read within 0.05 LU of ffmpeg's `ebur128`. Gating is BS.1770's: 400 ms
blocks every 100 ms, an absolute gate at -70 LUFS and a relative one 10 LU below the mean.

Long files are measured on sampled windows (`feed(..., weight=)`): each window's blocks
stand for the stretch of the file around it, and no block spans two windows (`gap`).
"""

from __future__ import annotations

import math

import numpy as np

ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
_SURROUND = {"BL", "BR", "SL", "SR", "BC", "LS", "RS"}
_LOW_FREQUENCY = {"LFE", "LFE2", "LFE1"}


def channel_weights(names: list[str]) -> np.ndarray:
    """BS.1770 channel gains: 1.41 for surround channels, none for LFE, 1 for the rest."""
    return np.array(
        [0.0 if n in _LOW_FREQUENCY else 1.41 if n in _SURROUND else 1.0 for n in names]
    )


def k_weighting(rate: int, n: int) -> np.ndarray:
    """|H(f)|^2 of the K-weighting filters at the rfft frequencies of `n` samples."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ]
    shelf_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_b = [1.0, -2.0, 1.0]
    high_a = [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    z = np.exp(-1j * 2 * np.pi * np.fft.rfftfreq(n))
    response = np.ones_like(z)
    for b, a in ((shelf_b, shelf_a), (high_b, high_a)):
        response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return np.abs(response) ** 2


class LoudnessMeter:
    """Feed float samples shaped (n, channels); read `integrated()` and `envelope`."""

    def __init__(self, rate: int, weights: np.ndarray) -> None:
        self.rate = rate
        self.block = max(1, rate // 10)
        self.weights = weights
        self._gain = k_weighting(rate, self.block)
        # The rfft's one-sided bins: every bin but DC (and Nyquist, for even lengths) stands
        # for two, so the weighted power is the time-domain mean square after filtering.
        self._fold = np.full(len(self._gain), 2.0)
        self._fold[0] = 1.0
        if self.block % 2 == 0:
            self._fold[-1] = 1.0
        self._pending = np.zeros((0, len(weights)), dtype=np.float32)
        self._at = 0.0
        self._weight = 1.0
        self._runs: list[tuple[np.ndarray, float]] = []
        self._powers: list[float] = []
        self.envelope: list[tuple[float, float]] = []
        """(seconds, peak amplitude) of every sub-block fed, in feeding order."""

    def feed(self, samples: np.ndarray, *, at: float | None = None, weight: float = 1.0) -> None:
        """`at`: where these samples start in the file, for a new run after `gap()`;
        `weight`: how many seconds of the file each second of them stands for."""
        if at is not None and not len(self._pending):
            self._at, self._weight = at, weight
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(data) // self.block * self.block
        self._pending = data[whole:].copy()
        if not whole:
            return
        blocks = data[:whole].reshape(-1, self.block, data.shape[1])
        spectrum = np.abs(np.fft.rfft(blocks, axis=1)) ** 2
        power = (spectrum * (self._gain * self._fold)[None, :, None]).sum(axis=1)
        power /= float(self.block) ** 2
        self._powers.extend((power @ self.weights).tolist())
        peaks = np.abs(blocks).max(axis=(1, 2))
        step = self.block / self.rate
        self.envelope.extend((self._at + i * step, float(p)) for i, p in enumerate(peaks))
        self._at += len(blocks) * step

    def gap(self) -> None:
        """End the current run: what follows is not contiguous with what came before."""
        if self._powers:
            self._runs.append((np.asarray(self._powers), self._weight))
        self._powers = []
        self._pending = self._pending[:0]

    def integrated(self) -> float | None:
        """Integrated loudness in LUFS; None when nothing rises above the absolute gate
        (silence) or less than 400 ms was fed."""
        self.gap()
        powers, weights = [], []
        for sub, weight in self._runs:
            if len(sub) >= 4:
                blocks = np.convolve(sub, np.ones(4) / 4, mode="valid")
                powers.append(blocks)
                weights.append(np.full(len(blocks), weight))
        if not powers:
            return None
        power, weight = np.concatenate(powers), np.concatenate(weights)
        loud = _lufs(power)
        keep = loud > ABSOLUTE_GATE
        if not keep.any():
            return None
        relative = _lufs(np.average(power[keep], weights=weight[keep])) + RELATIVE_GATE
        keep &= loud > relative
        return float(_lufs(np.average(power[keep], weights=weight[keep])))


def _lufs(power: np.ndarray | float) -> np.ndarray:
    return -0.691 + 10 * np.log10(np.maximum(power, 1e-20))
