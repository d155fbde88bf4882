"""tb_featureviz.names: the kinds, their labels, and the tags built and parsed."""

import pytest

from tb_featureviz import names


def test_kind_names_and_labels():
    assert names.KINDS == ("activations", "attribution", "examples", "features", "filters", "filter_change",
                           "filters_mosaic", "pointwise")
    assert dict(names.KIND_LABELS) == {
        "activations": "Activations", "attribution": "Attribution", "examples": "Examples", "features": "Features",
        "filters": "Filters",
        "filter_change": "Filter change", "filters_mosaic": "Filter mosaic", "pointwise": "Pointwise",
    }
    assert dict(names.TILE_LABELS) == {
        "activations": "Feature map", "examples": "Dataset examples", "features": "Feature visualization",
        "filters": "Filter",
        "filter_change": "Filter change",
    }
    assert (names.ACTIVATIONS_KIND, names.ATTRIBUTION_KIND, names.EXAMPLES_KIND, names.FEATURES_KIND,
            names.FILTERS_KIND, names.FILTER_CHANGE_KIND, names.FILTERS_MOSAIC_KIND, names.POINTWISE_KIND) == names.KINDS
    assert names.PROBE_KIND not in names.KINDS


def test_label_tables_are_read_only():
    with pytest.raises(TypeError):
        names.KIND_LABELS["activations"] = "Maps"
    with pytest.raises(TypeError):
        names.TILE_LABELS["saliency"] = "Saliency map"


def test_kind_label_falls_back_to_the_kind():
    assert [names.kind_label(k) for k in ("pointwise", "saliency", "")] == ["Pointwise", "saliency", ""]


def test_feature_visualizer_logs_the_features_kind():
    from tb_featureviz.featurevis import visualizer

    assert visualizer.KIND is names.FEATURES_KIND


def test_tags_round_trip():
    assert names.image_tag("base/conv", "filters") == "featureviz/base/conv/filters"
    assert names.parse_record_tag(names.record_tag("base/conv", "attribution")) == ("base/conv", "attribution")
    assert names.parse_scalar_tag(names.scalar_tag("base/conv", "drift/cosine_min")) == ("base/conv", "drift/cosine_min")
