"""The JSON record written beside a grid's PNGs, and the records a ``log_*`` call returns.

The record's layout is documented in ``docs/format.md``: the fields every
sample of a grid shares (:func:`record_header`) and each sample's own
(ranges, stats), joined without re-encoding what the workers encoded
(:func:`record_text`). Pure: no Keras, no I/O.

Example:
    >>> import numpy as np
    >>> from tb_featureviz.render.jobs import activation_job, draw_job
    >>> drawn = draw_job(activation_job("c", "Conv2D", np.ones((1, 2, 2, 1), np.float32)))
    >>> record_header(drawn, step=3, sequence=0)["step"]
    3
"""

from tb_featureviz import jsontext, metadata


def record_header(drawn, step, sequence):
    """The record fields shared by every sample of a drawn grid (docs/format.md)."""
    job, first = drawn.job, drawn.grids[0]
    return {
        **(job.record_extra or {}),
        "version": metadata.FORMAT_VERSION,
        "layer": job.layer,
        "class": job.class_name,
        "kind": job.kind,
        "step": step,
        "sequence": sequence,
        "layout": job.layout,
        "scale": job.scale,
        "symmetric": job.symmetric,
        "source_shape": [None if d is None else int(d) for d in job.source_shape],
        "width": int(first.image.shape[1]),
        "height": int(first.image.shape[0]),
        "depth": max(int(g.image.shape[2]) if g.image.ndim == 3 else 1 for g in drawn.grids),
        "rows": first.rows,
        "cols": first.cols,
        "tile_height": first.tile_height,
        "tile_width": first.tile_width,
        "pad": first.pad,
        "channels": [int(c) for c in job.channels],
        "total_channels": int(job.total_channels),
        "input_channels": None if job.input_channels is None else [int(c) for c in job.input_channels],
    }


def record_text(header, drawn):
    """The JSON record of a drawn grid: the header plus the samples encoded on the workers.

    Example:
        >>> import numpy as np
        >>> from tb_featureviz.render.jobs import activation_job, draw_job
        >>> job = activation_job("c", "Conv2D", np.ones((1, 2, 2, 1), np.float32))
        >>> drawn = draw_job(job)
        >>> jsontext.loads(record_text(record_header(drawn, 0, 0), drawn))["samples"][0]["lo"]
        [1.0]
    """
    return jsontext.dumps(header)[:-1] + ',"samples":[' + ",".join(drawn.sample_texts) + "]}"


def returned_records(header, drawn, tag):
    """The records a ``log_*`` call returns: one dict per sample, with the pixels."""
    records = []
    for index, (grid, png_bytes, sample) in enumerate(zip(drawn.grids, drawn.pngs, drawn.samples)):
        record = dict(header)
        record.update(sample)
        record.update(tag=tag, sample=index, image=grid.image, png=png_bytes, num_samples=len(drawn.grids))
        records.append(record)
    return records
