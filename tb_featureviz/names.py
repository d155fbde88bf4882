"""Every on-disk name: tags, reserved layers, kinds and their labels, scalar groups.

The single place that knows how a featureviz summary is named on disk; each
name has a builder and a parser here (the summaries' metadata and content
are :mod:`tb_featureviz.metadata`'s). Pure Python, so the writer and the
plugin (which runs without TensorFlow) share it.

Example:
    >>> image_tag("xception/block1_conv1", "filters")
    'featureviz/xception/block1_conv1/filters'
    >>> parse_record_tag(record_tag("xception/block1_conv1", "filters"))
    ('xception/block1_conv1', 'filters')
"""

import types

#: Tag prefix shared by every summary this package writes.
TAG_PREFIX = "featureviz"


#: Tag of the model-structure summary, written once per run.
STRUCTURE_TAG = TAG_PREFIX + "/_model"


#: Tag of the training-events summary (e.g. layers becoming trainable).
EVENTS_TAG = TAG_PREFIX + "/_events"


#: Pseudo layer and kind under which the probe images themselves are logged.
PROBE_LAYER = "_probe"
PROBE_KIND = "probe"

#: Pseudo layer and kind under which a data-set pass logs the pictures behind its drawn examples.
DATA_LAYER = "_data"
PICTURES_KIND = "pictures"


#: Layer names starting with this are the package's own (the probe), not model layers.
RESERVED_LAYER_PREFIX = "_"


#: Kinds of grid a layer can have: what its pixels show (docs/format.md).
ACTIVATIONS_KIND = "activations"
ATTRIBUTION_KIND = "attribution"
EXAMPLES_KIND = "examples"
FEATURES_KIND = "features"
FILTERS_KIND = "filters"
FILTER_CHANGE_KIND = "filter_change"
FILTERS_MOSAIC_KIND = "filters_mosaic"
POINTWISE_KIND = "pointwise"


#: Display name of each kind (the panel's tab titles and captions), in the
#: order the panel shows them. Read-only; the plugin serves it as
#: ``kind_labels`` (docs/http_api.md), so the panel keeps no copy.
KIND_LABELS = types.MappingProxyType({
    ACTIVATIONS_KIND: "Activations",
    ATTRIBUTION_KIND: "Attribution",
    EXAMPLES_KIND: "Examples",
    FEATURES_KIND: "Features",
    FILTERS_KIND: "Filters",
    FILTER_CHANGE_KIND: "Filter change",
    FILTERS_MOSAIC_KIND: "Filter mosaic",
    POINTWISE_KIND: "Pointwise",
})


#: Kinds of grid, in the order the panel shows them; kinds not listed follow, sorted.
KINDS = tuple(KIND_LABELS)


#: What one tile is called, for the kinds whose tiles each show one channel
#: of the layer (the channel view names the open channel's tile in the
#: layer's other kinds with it). Served as ``tile_labels``.
TILE_LABELS = types.MappingProxyType({
    ACTIVATIONS_KIND: "Feature map",
    EXAMPLES_KIND: "Dataset examples",
    FEATURES_KIND: "Feature visualization",
    FILTERS_KIND: "Filter",
    FILTER_CHANGE_KIND: "Filter change",
})


#: Groups of the per-layer scalar series: tag ``featureviz/<layer>/<group>/<name>``. ``health`` is read
#: from the probe pictures, ``data`` from a data-set pass (kind ``examples``).
SCALAR_GROUPS = ("drift", "health", "data")


def is_reserved_layer(layer):
    """Whether ``layer`` names the package's own data (the probe), not a model layer.

    Example:
        >>> is_reserved_layer(PROBE_LAYER), is_reserved_layer("block1_conv1")
        (True, False)
    """
    return layer.startswith(RESERVED_LAYER_PREFIX)


def ordered_kinds(kinds):
    """``kinds`` in display order: those of :data:`KINDS` first, the rest sorted.

    Example:
        >>> ordered_kinds(["zeta", "filters", "activations"])
        ['activations', 'filters', 'zeta']
    """
    kinds = set(kinds)
    return [k for k in KINDS if k in kinds] + sorted(kinds - set(KINDS))


def kind_label(kind):
    """The display name of ``kind``; a kind this release does not know shows its own name.

    Example:
        >>> kind_label(FILTER_CHANGE_KIND), kind_label("saliency")
        ('Filter change', 'saliency')
    """
    return KIND_LABELS.get(kind, kind)


def image_tag(layer, kind):
    """Tag of the image summary holding a layer's grid of one kind.

    Example:
        >>> image_tag("xception/block1_conv1", "activations")
        'featureviz/xception/block1_conv1/activations'
    """
    return f"{TAG_PREFIX}/{layer}/{kind}"


def record_tag(layer, kind):
    """Tag of the ``featureviz`` summary describing the grid's pixels.

    Example:
        >>> record_tag("block1_conv1", "filters")
        'featureviz/block1_conv1/filters/record'
    """
    return image_tag(layer, kind) + "/record"


def parse_record_tag(tag):
    """``(layer, kind)`` of a record tag ``featureviz/<layer>/<kind>/record``, or None.

    Layer names may hold ``/`` (nested models); the kind is the last part.

    Example:
        >>> parse_record_tag("featureviz/xception/block1_conv1/filters/record")
        ('xception/block1_conv1', 'filters')
        >>> parse_record_tag("featureviz/_model") is None
        True
    """
    prefix, suffix = TAG_PREFIX + "/", "/record"
    if not (tag.startswith(prefix) and tag.endswith(suffix)):
        return None
    layer, _, kind = tag[len(prefix) : -len(suffix)].rpartition("/")
    return (layer, kind) if layer and kind else None


def histogram_tag(layer):
    """Tag of the histogram of a layer's activations over a data set (the stock Histograms tab shows it).

    Example:
        >>> histogram_tag("xception/block1_conv1")
        'featureviz/xception/block1_conv1/histogram'
    """
    return f"{TAG_PREFIX}/{layer}/histogram"


def scalar_tag(layer, name):
    """Tag of a per-layer scalar (drift, channel health) written beside grids.

    Args:
        layer: qualified layer name.
        name: ``"<group>/<metric>"`` with a group of :data:`SCALAR_GROUPS`.

    Example:
        >>> scalar_tag("block1_conv1", "drift/relative_change")
        'featureviz/block1_conv1/drift/relative_change'
    """
    return f"{TAG_PREFIX}/{layer}/{name}"


def parse_scalar_tag(tag):
    """``(layer, "<group>/<metric>")`` of a per-layer scalar tag, or None.

    Only groups of :data:`SCALAR_GROUPS` and model layers count.

    Example:
        >>> parse_scalar_tag("featureviz/xception/block1_conv1/drift/cosine_min")
        ('xception/block1_conv1', 'drift/cosine_min')
        >>> parse_scalar_tag("featureviz/conv1/other/thing") is None
        True
    """
    parts = tag.split("/")
    if len(parts) < 4 or parts[0] != TAG_PREFIX or parts[-2] not in SCALAR_GROUPS:
        return None
    layer = "/".join(parts[1:-2])
    if is_reserved_layer(layer):
        return None
    return layer, parts[-2] + "/" + parts[-1]
