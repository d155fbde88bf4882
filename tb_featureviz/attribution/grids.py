"""An attribution result as a logged grid: the maps over the pictures, and their values in the record.

Kind ``attribution``, logged under the layer the maps come from: one grid
per probe picture (a sample, as feature maps are), one RGB tile per target
class: the raw map upsampled over the picture on the viridis scale from 0
to the map's maximum, blended at 50 %
(:func:`tb_featureviz.render.heatmaps.overlay`), so the stock Images tab
shows it. The record says what the pixels mean (``docs/format.md``):

- ``attribution``: ``method``, ``targets`` (as asked), ``map_height``,
  ``map_width`` (the layer's resolution), ``opacity``, ``colormap``;
- per sample, ``targets``: per tile ``{"class", "name", "score",
  "probability", "range", "heatmap"}``: the class index and name, its
  logit and probability, the raw map's ``[min, max]`` and the raw map
  itself (rows of floats, 6 significant digits), which the panel draws
  with its own opacity and reads values from.

Pure numpy.

Example:
    >>> job = attribution_job(result, class_names=["cat", "dog"])  # doctest: +SKIP
    >>> job.kind, job.sample_extra[0]["targets"][0]["name"]  # doctest: +SKIP
    ('attribution', 'cat')
"""

import numpy as np

from tb_featureviz import jsontext, names
from tb_featureviz.render import heatmaps
from tb_featureviz.render.jobs import GridJob

#: Significant digits of the raw maps in the record.
DIGITS = 6


def class_name(class_names, index):
    """The name of class ``index`` from a list or a dict, or None.

    Example:
        >>> class_name(["cat", "dog"], 1), class_name({3: "cat"}, 4), class_name(None, 0)
        ('dog', None, None)
    """
    if class_names is None:
        return None
    try:
        name = class_names[int(index)]
    except (IndexError, KeyError, TypeError):
        return None
    return None if name is None else str(name)


def check_class_names(class_names, num_classes, owner):
    """Refuse class names that aren't a list of ``num_classes`` names or a dict by class index."""
    if class_names is None or isinstance(class_names, dict):
        return
    if isinstance(class_names, str) or not hasattr(class_names, "__len__") or len(class_names) != num_classes:
        received = len(class_names) if hasattr(class_names, "__len__") and not isinstance(class_names, str) \
            else type(class_names).__name__
        raise ValueError(f"{owner} expects class_names as a list of {num_classes} names (one per class) or a dict "
                         f"by class index. Received: {received}")


def _rounded(array):
    return [jsontext.rounded_floats(row, DIGITS) for row in np.asarray(array, np.float64)]


def attribution_job(result, class_names=None, opacity=heatmaps.OPACITY):
    """The :class:`tb_featureviz.render.jobs.GridJob` of an :class:`AttributionResult`."""
    overlays = result.overlays(opacity)  # [N, T, H, W, 3]
    count, targets = result.classes.shape
    sample_extra = []
    for n in range(count):
        entries = []
        for t in range(targets):
            heatmap = result.heatmaps[n, t]
            entries.append({
                "class": int(result.classes[n, t]),
                "name": class_name(class_names, result.classes[n, t]),
                "score": jsontext.rounded_floats([result.scores[n, t]], DIGITS)[0],
                "probability": jsontext.rounded_floats([result.probabilities[n, t]], DIGITS)[0],
                "range": jsontext.rounded_floats([heatmap.min(), heatmap.max()], DIGITS),
                "heatmap": _rounded(heatmap),
            })
        sample_extra.append({"targets": entries})
    return GridJob(
        layer=result.layer, class_name=result.class_name, kind=names.ATTRIBUTION_KIND, layout="tiles",
        samples=list(overlays), channels=list(range(targets)), total_channels=targets,
        source_shape=tuple(result.heatmaps.shape), scale="fixed", value_range=(0.0, 255.0),
        record_extra={"attribution": {
            "method": result.method, "targets": result.targets,
            "map_height": int(result.heatmaps.shape[2]), "map_width": int(result.heatmaps.shape[3]),
            "opacity": float(opacity), "colormap": "viridis",
        }},
        sample_extra=sample_extra,
    )
