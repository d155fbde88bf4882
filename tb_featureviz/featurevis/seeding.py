"""Per-sample random generators: a channel's draws don't depend on its batch.

Every random draw of a sample (its starting spectrum, each step's
transform, the noise image its result is compared with) comes from a
generator seeded by ``(seed, key, stream)``, where ``key`` is the sample's
channel: a channel gets the same start and the same transforms whether it
is optimised alone or in a batch.

Example:
    >>> a = generator(0, 3, INIT_STREAM).normal()
    >>> a == generator(0, 3, INIT_STREAM).normal(), a == generator(0, 4, INIT_STREAM).normal()
    (True, False)
"""

import numpy as np

#: The streams of a sample's generator (the last entries of its seed sequence).
INIT_STREAM, TRANSFORM_STREAM, NOISE_STREAM = 0, 1, 2


def generator(seed, key, *stream):
    """The numpy generator of sample ``key`` under ``seed`` for ``stream`` (and sub-streams)."""
    return np.random.default_rng([int(seed), int(key), *stream])
