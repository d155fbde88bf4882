"""How well an optimised image worked: its objective against noise's, and a status word per channel.

Pure numpy. See ``docs/feature-visualization.md`` for what the figures mean
and ``docs/format.md`` for how records carry them.

Example:
    >>> quality_figures([3.0], [1.5])["ratio"]
    [2.0]
"""

import numpy as np

from tb_featureviz.featurevis import seeding

def noise_image(seed, key, size):
    """The random-noise image a channel's result is compared with: uniform [0, 1), float32."""
    return seeding.generator(seed, key, seeding.NOISE_STREAM).random((size, size, 3)).astype(np.float32)


#: Largest ratio a quality figure states: "at least this many times noise".
#: A channel that noise leaves at 0 reaches it with any positive objective.
RATIO_CAP = 1000.0

#: Status words of a channel's quality, beside its ratio.
STATUS_OK, STATUS_NOISE_OFF, STATUS_DEAD, STATUS_NONFINITE = "ok", "noise_off", "dead", "nonfinite"


def quality_figures(objective, noise_objective, dead=None):
    """Per-channel quality: the objective on the result, on noise, their ratio and a status word.

    ``ratio = objective / |noise_objective|``, clipped to
    ``[-RATIO_CAP, RATIO_CAP]``: how many times the noise value the result
    reaches; above 1 only when the result beats noise, negative when it
    ends below zero. Always finite: where noise gives exactly 0 the ratio
    is ``RATIO_CAP`` with the objective's sign (0 when both are 0), and a
    non-finite value gives 0.

    ``status``: ``"dead"`` where ``dead`` says the channel stayed off
    however the image was pushed; ``"nonfinite"`` where a value is not
    finite; ``"noise_off"`` where noise leaves the channel at 0 (the
    ratio is then a bound, not a measurement); ``"ok"`` otherwise.

    Example:
        >>> q = quality_figures([2.0, 1.0, 0.0], [0.5, 0.0, 0.0], dead=[False, False, True])
        >>> q["ratio"], q["status"]
        ([4.0, 1000.0, 0.0], ['ok', 'noise_off', 'dead'])
    """
    objective = np.asarray(objective, np.float64)
    noise = np.asarray(noise_objective, np.float64)
    dead = np.zeros(objective.shape, bool) if dead is None else np.asarray(dead, bool)
    finite = np.isfinite(objective) & np.isfinite(noise)
    safe_objective, safe_noise = np.where(finite, objective, 0.0), np.where(finite, np.abs(noise), 0.0)
    # objective / max(|noise|, |objective| / cap) is the clipped ratio without a division by 0.
    floor = np.maximum(safe_noise, np.abs(safe_objective) / RATIO_CAP)
    ratio = np.divide(safe_objective, floor, out=np.zeros_like(safe_objective), where=floor > 0)
    status = np.where(dead, STATUS_DEAD, np.where(~finite, STATUS_NONFINITE,
                                                  np.where(safe_noise == 0, STATUS_NOISE_OFF, STATUS_OK)))
    return {"objective": objective.tolist(), "noise_objective": noise.tolist(),
            "ratio": np.clip(ratio, -RATIO_CAP, RATIO_CAP).tolist(), "status": [str(w) for w in status]}
