"""Channel caps: which channels a grid keeps under ``max_channels``, and the warning that says so.

Logging never drops a channel silently: a capped job records the channels
it holds (:func:`cap_job`), :func:`cap_notes` says what each cap left out,
and :func:`cap_warnings` turns one logging call's notes into one
:class:`CapWarning` per setting. Pure: no Keras, no I/O.

Example:
    >>> kept_channels(128, 64)[-1], kept_channels(32, 64)
    (63, None)
"""

import dataclasses
from typing import NamedTuple


def kept_channels(total, max_channels):
    """The output channels a grid holds under a cap: the first ones, or None for all.

    Example:
        >>> kept_channels(128, 64)[-1], kept_channels(32, 64)
        (63, None)
    """
    if max_channels is None or total <= max_channels:
        return None
    return list(range(max_channels))


def cap_job(job, max_channels):
    """``job`` holding at most ``max_channels`` output channels (the first ones).

    Keeps tiles of a ``tiles`` grid and columns of a ``matrix`` or
    ``mosaic`` grid; returns ``job`` itself when nothing is cut.

    Example:
        >>> import numpy as np
        >>> from tb_featureviz.render.jobs import activation_job
        >>> job = activation_job("c", "Conv2D", np.zeros((1, 2, 2, 5), np.float32))
        >>> cap_job(job, 2).channels, cap_job(job, 2).total_channels
        ([0, 1], 5)
    """
    keep = kept_channels(len(job.channels), max_channels)
    if keep is None:
        return job
    count = len(keep)
    cols = job.cols
    if job.layout == "tiles":
        samples = [tiles[:count] for tiles in job.samples]
    elif job.layout == "matrix":
        samples = [tiles[:, :, :count] for tiles in job.samples]
    elif job.layout == "mosaic":
        samples = []
        for tiles in job.samples:
            rows = tiles.shape[0] // job.cols
            grid = tiles.reshape((rows, job.cols) + tiles.shape[1:])[:, :count]
            samples.append(grid.reshape((rows * count,) + tiles.shape[1:]))
        cols = count
    else:
        raise ValueError(f"cap_job expects layouts 'tiles', 'matrix' or 'mosaic'. Received: {job.layout!r}")
    return dataclasses.replace(job, samples=samples, channels=list(job.channels[:count]), cols=cols,
                               capped_at=count)


class CapNote(NamedTuple):
    """One layer's grid left channels out: which setting, how many it has, how many it kept."""

    setting: str  # "max_channels" or "max_mosaic_tiles"
    layer: str
    total: int
    kept: int
    value: int  # the setting's value


class CapWarning(UserWarning):
    """A cap left channels out of some layers' grids in one logging call.

    Attributes:
        setting: ``"max_channels"`` or ``"max_mosaic_tiles"``.
        notes: the :class:`CapNote` of each layer, in logging order.
    """

    def __init__(self, message, setting, notes):
        super().__init__(message)
        self.setting = setting
        self.notes = tuple(notes)


def cap_notes(job, max_mosaic_tiles):
    """What a job's caps left out: ``[CapNote]`` (channels, and a mosaic's input channels).

    Example:
        >>> import numpy as np
        >>> from tb_featureviz.render.jobs import activation_job
        >>> job = cap_job(activation_job("c", "Conv2D", np.zeros((1, 2, 2, 5), np.float32)), 2)
        >>> cap_notes(job, 4096)
        [CapNote(setting='max_channels', layer='c', total=5, kept=2, value=2)]
    """
    notes = []
    if job.capped_at is not None:
        notes.append(CapNote("max_channels", job.layer, job.total_channels, job.capped_at, job.capped_at))
    if job.layout == "mosaic" and job.total_inputs is not None and len(job.input_channels) < job.total_inputs:
        notes.append(CapNote("max_mosaic_tiles", job.layer, job.total_inputs, len(job.input_channels),
                             max_mosaic_tiles))
    return notes


def cap_warnings(notes):
    """One :class:`CapWarning` per setting for ``notes`` (those of one logging call).

    Example:
        >>> notes = [CapNote("max_channels", "a", 128, 64, 64), CapNote("max_channels", "b", 728, 64, 64)]
        >>> str(cap_warnings(notes)[0])
        "2 layers have more channels than max_channels=64: 'a' (128), 'b' (728). Logging channels 0..63 of each; records list the channels they hold."
    """
    found = []
    for setting in ("max_channels", "max_mosaic_tiles"):
        chosen = [n for n in notes if n.setting == setting]
        if not chosen:
            continue
        values = "/".join(str(v) for v in sorted({n.value for n in chosen}))
        kept = "/".join(str(k - 1) for k in sorted({n.kept for n in chosen}))
        if setting == "max_channels" and len(chosen) == 1:
            note = chosen[0]
            message = (f"Layer {note.layer!r} has {note.total} channels; logging channels 0..{note.kept - 1} "
                       f"(max_channels={note.value}). Records list the channels they hold.")
        elif setting == "max_channels":
            message = (f"{len(chosen)} layers have more channels than max_channels={values}: "
                       + _named(chosen, lambda n: f"{n.layer!r} ({n.total})")
                       + f". Logging channels 0..{kept} of each; records list the channels they hold.")
        elif len(chosen) == 1:
            note = chosen[0]
            message = (f"Layer {note.layer!r}: the filter mosaic holds input channels 0..{note.kept - 1} of "
                       f"{note.total} (max_mosaic_tiles={note.value}).")
        else:
            message = (f"The filter mosaics of {len(chosen)} layers hold only their first input channels "
                       f"(max_mosaic_tiles={values}): "
                       + _named(chosen, lambda n: f"{n.layer!r} (0..{n.kept - 1} of {n.total})") + ".")
        found.append(CapWarning(message, setting, chosen))
    return found


#: Layers a cap warning names before it says how many more (its notes hold all).
NAMED_LAYERS = 8


def _named(notes, describe):
    """The first NAMED_LAYERS notes described, then how many more: one readable line."""
    text = ", ".join(describe(n) for n in notes[:NAMED_LAYERS])
    more = len(notes) - NAMED_LAYERS
    return text + (f" and {more} more" if more > 0 else "")
