"""Warnings a logger gives once: a layer a cap reached, a layer a selection can't log.

A logger writes many steps; saying the same thing at every step would bury
it. :class:`OnceReports` remembers what it said, per logger.

Example:
    >>> reports = OnceReports()
    >>> reports.caps([], max_mosaic_tiles=4096)  # nothing capped: nothing said
"""

import warnings

from tb_featureviz.render import caps


class OnceReports:
    """The warnings of one logger, each said once."""

    def __init__(self):
        self._said = set()  # (layer, setting) of caps, (layer, what) of skipped layers

    def caps(self, grid_jobs, max_mosaic_tiles):
        """One :class:`tb_featureviz.render.caps.CapWarning` per cap for the layers it newly reached."""
        notes = []
        for job in grid_jobs:
            for note in caps.cap_notes(job, max_mosaic_tiles):
                if (note.layer, note.setting) not in self._said:  # a layer's first grid speaks for it
                    self._said.add((note.layer, note.setting))
                    notes.append(note)
        for warning in caps.cap_warnings(notes):
            warnings.warn(warning, stacklevel=4)

    def skipped(self, skipped, what):
        """Warn once per layer about layers a selection reached but can't log."""
        for info, reason in skipped:
            if (info.name, what) not in self._said:
                self._said.add((info.name, what))
                warnings.warn(f"Not logging {what} of layer {info.name!r} ({info.class_name}): {reason}.",
                              stacklevel=4)
