"""FeatureVizPlugin: the JSON routes over the grids a run logged.

TensorBoard creates the plugin through ``tb_featureviz.plugin.loader``.
Each route is a thin wrapper that reads its parameters and calls an
``*_impl`` method; reading (and caching) is :class:`reader.RunReader`'s,
HTTP plumbing is :mod:`tb_featureviz.plugin.http`'s. Nothing here imports
TensorFlow: the plugin serves from a TensorBoard installed without it.

Routes, all under ``/data/plugin/featureviz/`` (contract and example JSON in
``docs/http_api.md``):

* ``runs``: runs holding featureviz data, and the active sample limits;
* ``layers?run=R``: layers in model order, with the kinds and steps logged;
* ``grid?run=R&layer=L&kind=K[&step=S][&sample=N]``: one grid's record;
* ``image?run=R&layer=L&kind=K&step=S&sample=N``: its PNG, byte-identical;
* ``scalars?run=R``: the drift and channel-health series per layer;
* ``/index.js`` and the panel's other static files, from a whitelist.

How it reads, and what it caches: see :mod:`tb_featureviz.plugin.reader`.

Example:
    >>> from werkzeug import test, wrappers                       # doctest: +SKIP
    >>> client = test.Client(tensorboard_wsgi_app, wrappers.Response)  # doctest: +SKIP
    >>> client.get("/data/plugin/featureviz/runs").json            # doctest: +SKIP
    {'runs': ['featureviz'], 'sampling': {'images': 10, 'featureviz': 10}}
"""

import collections
import urllib.parse

from tensorboard import errors
from tensorboard.plugins import base_plugin

from tb_featureviz import jsontext, metadata, names
from tb_featureviz.plugin import documents, http, reader

#: Tab title in TensorBoard's plugin bar.
TAB_NAME = "Feature maps"

#: Samples per tag that TensorBoard keeps when ``--samples_per_plugin``
#: names no value for a plugin: the Python loader (``--load_fast=false``)
#: keeps 10 images and 10 tensors of a third-party plugin such as
#: ``featureviz``; the Rust data server (``--load_fast=true``) keeps 10 blob
#: sequences (images) but 100 tensors.
PYTHON_LOADER_SAMPLES = {metadata.IMAGES_PLUGIN_NAME: 10, metadata.PLUGIN_NAME: 10}
DATA_SERVER_SAMPLES = {metadata.IMAGES_PLUGIN_NAME: 10, metadata.PLUGIN_NAME: 100}


def _steps_text(steps):
    if len(steps) <= 20:
        return f"kept steps: {list(steps)}"
    return f"{len(steps)} kept steps from {steps[0]} to {steps[-1]}"


def _is_data_server(data_provider):
    """Whether ``data_provider`` is the Rust data server (``--load_fast=true``)."""
    try:
        from tensorboard.data import grpc_provider
    except ImportError:  # grpc missing: then it cannot be the data server
        return False
    return isinstance(data_provider, grpc_provider.GrpcDataProvider)


class FeatureVizPlugin(base_plugin.TBPlugin):
    """Serves featureviz grids, records and scalars to the Feature maps panel.

    Example:
        >>> from tensorboard.backend import application        # doctest: +SKIP
        >>> app = application.TensorBoardWSGIApp(               # doctest: +SKIP
        ...     flags, [FeatureVizLoader()], data_provider)

    Args:
        context: the ``base_plugin.TBContext``; only ``data_provider`` and
            ``sampling_hints`` are used.
        static_files: whitelist ``{"/name": (bytes, content type)}``; by
            default :func:`http.load_static_files` of the installed package.
    """

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context, static_files=None):
        hints = context.sampling_hints or {}
        defaults = DATA_SERVER_SAMPLES if _is_data_server(context.data_provider) else PYTHON_LOADER_SAMPLES
        #: Samples per tag TensorBoard keeps, per plugin name; 0 means all.
        self.sample_limits = {
            name: default if hints.get(name) is None else int(hints[name])
            for name, default in defaults.items()
        }
        self._static = http.load_static_files() if static_files is None else dict(static_files)
        self._reader = reader.RunReader(context.data_provider)

    # -- TBPlugin ----------------------------------------------------------

    def get_plugin_apps(self):
        apps = {
            "/runs": http.json_route("runs", self._runs_route),
            "/layers": http.json_route("layers", self._layers_route),
            "/grid": http.json_route("grid", self._grid_route),
            "/image": http.json_route("image", self._image_route),
            "/scalars": http.json_route("scalars", self._scalars_route),
        }
        for path, (content, content_type) in self._static.items():
            apps[path] = http.static_route(content, content_type)
        return apps

    def is_active(self):
        # TensorBoard activates the tab when `data_plugin_names` has data.
        return False

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name=TAB_NAME)

    # -- routes: parameters in, *_impl out ----------------------------------

    def _runs_route(self, request, route, ctx, eid):
        return self.runs_impl(ctx, eid)

    def _layers_route(self, request, route, ctx, eid):
        return self.layers_impl(ctx, eid, http.param(request, route, "run"))

    def _grid_route(self, request, route, ctx, eid):
        return self.grid_impl(
            ctx, eid, http.param(request, route, "run"), http.param(request, route, "layer"),
            http.param(request, route, "kind"), http.int_param(request, route, "step", required=False),
            http.int_param(request, route, "sample", required=False, minimum=0),
        )

    def _image_route(self, request, route, ctx, eid):
        return self.image_impl(
            ctx, eid, http.param(request, route, "run"), http.param(request, route, "layer"),
            http.param(request, route, "kind"), http.int_param(request, route, "step"),
            http.int_param(request, route, "sample", minimum=0),
        )

    def _scalars_route(self, request, route, ctx, eid):
        return self.scalars_impl(ctx, eid, http.param(request, route, "run"))

    # -- implementations ----------------------------------------------------

    def runs_impl(self, ctx, eid):
        """The ``runs`` reply: runs with featureviz data and the sample limits."""
        return {"runs": self._reader.runs(ctx, eid), "sampling": dict(self.sample_limits)}

    def layers_impl(self, ctx, eid, run):
        """The ``layers`` reply text of a run, made once per change of the run."""
        index = self._reader.run_index(ctx, eid, run)
        if index.reply is None:
            index.reply = jsontext.dumps_lenient(self._layers_document(run, index))
        return index.reply

    def grid_impl(self, ctx, eid, run, layer, kind, step=None, sample=None):
        """The ``grid`` reply: one grid's record at a step, for one sample."""
        located = self._reader.locate(ctx, eid, run, layer, kind)
        values = self._reader.record_values(ctx, eid, run, located)
        images = self._reader.blob_keys(ctx, eid, run, located)
        # Only steps whose record and image TensorBoard both kept are served.
        steps = sorted(values.keys() & images.keys())
        what = f"layer {layer!r} kind {kind!r} in run {run!r}"
        if not steps:
            raise http.not_found(f"No step of {what} has both its record and its image")
        if step is None:
            step = steps[-1]
        elif step not in values or step not in images:
            raise http.not_found(f"No step {step} for {what}; {_steps_text(steps)}")
        record = documents.parse_document(values[step])
        problem = "it is not a JSON object" if record is None else documents.record_problem(record)
        if problem is not None:
            raise http.not_found(f"The record of {what} at step {step} is not a readable record")
        entries = record["samples"]
        num_samples = min(len(entries), len(metadata.image_blob_pngs(images[step])))
        sample = 0 if sample is None else sample
        if sample >= num_samples:
            raise http.not_found(f"No sample {sample} for {what} at step {step}: it has {num_samples} sample(s)")
        entry = entries[sample]
        document = {k: v for k, v in record.items() if k != "samples"}
        # A sample's own keys (an attribution grid's `targets`) come along;
        # they never replace the record's keys or those set below.
        document.update((k, v) for k, v in entry.items() if k not in document)
        document.update(
            step=step,
            lo=entry.get("lo"),
            hi=entry.get("hi"),
            nonfinite=entry.get("nonfinite"),
            stats=entry.get("stats"),
            sample=sample,
            num_samples=num_samples,
            steps=steps,
            image_url="image?" + urllib.parse.urlencode(
                [("run", run), ("layer", layer), ("kind", kind), ("step", step), ("sample", sample)],
                quote_via=urllib.parse.quote,
            ),
        )
        return document

    def image_impl(self, ctx, eid, run, layer, kind, step, sample):
        """The ``image`` reply: a grid's PNG, byte-identical to what was logged."""
        # Blob keys of the step's PNGs (an image summary's blobs start with
        # its width and height: metadata.image_blob_pngs skips them).
        keys = self._reader.known_blob_keys(eid, run, layer, kind, step)
        pngs = None if keys is None else metadata.image_blob_pngs(keys)
        what = f"layer {layer!r} kind {kind!r} in run {run!r}"
        if pngs is None or sample >= len(pngs):
            located = self._reader.locate(ctx, eid, run, layer, kind)
            images = self._reader.blob_keys(ctx, eid, run, located)
            if step not in images:
                raise http.not_found(f"No image of {what} at step {step}; {_steps_text(sorted(images))}")
            pngs = metadata.image_blob_pngs(images[step])
            if sample >= len(pngs):
                raise http.not_found(f"No sample {sample} for {what} at step {step}: it has {len(pngs)} sample(s)")
        try:
            png = self._reader.read_blob(ctx, pngs[sample])
        except (errors.NotFoundError, KeyError, IndexError):
            raise http.not_found(f"The image of {what} at step {step} is no longer kept by TensorBoard") from None
        except errors.InvalidArgumentError:
            # The key came from the provider itself. The Rust data server
            # (0.7) cannot parse its own keys of names holding '"' or '\\'.
            raise http.not_found(
                f"TensorBoard's data server cannot read the image of {what} at step {step}: it fails "
                "on names holding '\"' or '\\'; start TensorBoard with --load_fast=false to see it"
            ) from None
        return png, "image/png"

    def scalars_impl(self, ctx, eid, run):
        """The ``scalars`` reply: drift and channel-health series per layer."""
        layers = self._reader.layer_scalars(ctx, eid, run)
        if not layers:
            self._reader.run_index(ctx, eid, run)  # 404 for a run without featureviz data
        return {"run": run, "layers": layers}

    # -- the layers reply ----------------------------------------------------

    def _layers_document(self, run, index):
        """The ``layers`` reply for a run (see docs/http_api.md)."""
        by_layer = collections.defaultdict(dict)
        for (layer, kind), s in index.series.items():
            by_layer[layer][kind] = s

        def kinds_of(layer):
            kinds = by_layer.get(layer, {})
            return {
                kind: {"steps": sorted(kinds[kind].images), "samples": kinds[kind].samples(),
                       "written": kinds[kind].written()}
                for kind in names.ordered_kinds(kinds)
            }

        structure = index.structure or {}
        layers, seen = [], set()
        for entry in documents.structure_layers(structure):
            layers.append({**entry, "kinds": kinds_of(entry["name"])})
            seen.add(entry["name"])
        # Layers with data that the structure does not list (no structure
        # written, or logged by name only) follow, never dropped.
        extra = sorted(
            (s.record_tag, layer) for (layer, _), s in index.series.items()
            if layer not in seen and not names.is_reserved_layer(layer)
        )
        for _, layer in extra:
            if layer in seen:
                continue
            seen.add(layer)
            classes = [s.latest[1] for s in by_layer[layer].values() if s.latest is not None and s.latest[1]]
            layers.append({
                "index": None, "name": layer, "class": classes[0] if classes else None, "path": [],
                "output_shape": None, "kernel_shapes": {}, "spatial": None, "trainable": None,
                "has_weights": None, "is_model": False, "kinds": kinds_of(layer),
            })

        probe = index.series.get((names.PROBE_LAYER, names.PROBE_KIND))
        all_steps, dropped = set(), False
        for s in index.series.values():
            all_steps.update(s.images)
            dropped = dropped or len(s.images) < s.written()
        pictures = index.series.get((names.DATA_LAYER, names.PICTURES_KIND))
        return {
            "run": run,
            "model": documents.structure_model(structure),
            "layers": layers,
            "probe": _pseudo_layer(probe, names.PROBE_LAYER, names.PROBE_KIND),
            # The pictures behind a data-set pass's examples, null where none
            # were logged, so the panel asks for them only at steps that have them.
            "pictures": _pseudo_layer(pictures, names.DATA_LAYER, names.PICTURES_KIND),
            "steps": sorted(all_steps),
            "events": index.events,
            "sampling": {**self.sample_limits, "dropped": dropped},
            # The panel keeps no kind names of its own: it shows these.
            "kind_labels": dict(names.KIND_LABELS),
            "tile_labels": dict(names.TILE_LABELS),
        }


def _pseudo_layer(series, layer, kind):
    """How the ``layers`` reply names a pseudo layer's grids (the probe, the data pictures), or None."""
    if series is None:
        return None
    return {"layer": layer, "kind": kind, "steps": sorted(series.images), "samples": series.samples()}
