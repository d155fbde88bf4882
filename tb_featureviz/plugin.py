"""The featureviz TensorBoard plugin: JSON routes over the grids a run logged.

TensorBoard creates the plugin through ``plugin_loader.FeatureVizLoader``.
Everything is read through ``context.data_provider`` (never the
multiplexer, never a file path), so the plugin works with both loaders
(``--load_fast=true`` and ``false``). Nothing here imports TensorFlow: the
plugin serves from a TensorBoard installed without it.

Routes, all under ``/data/plugin/featureviz/`` (contract and example JSON in
``docs/http_api.md``):

* ``runs``: runs holding featureviz data, and the active sample limits;
* ``layers?run=R``: layers in model order, with the kinds and steps logged;
* ``grid?run=R&layer=L&kind=K[&step=S][&sample=N]``: one grid's record;
* ``image?run=R&layer=L&kind=K&step=S&sample=N``: its PNG, byte-identical;
* ``scalars?run=R``: the drift and channel-health series per layer;
* ``/index.js`` and the panel's other static files, from a whitelist.

Reading a run's index costs one ``list_*`` call per plugin; the records and
blob sequences behind it are read again only for tags whose newest step or
wall time changed, so repeated ``layers`` calls stay cheap while a long run
is being logged.

Example:
    >>> from werkzeug import test, wrappers                       # doctest: +SKIP
    >>> client = test.Client(tensorboard_wsgi_app, wrappers.Response)  # doctest: +SKIP
    >>> client.get("/data/plugin/featureviz/runs").json            # doctest: +SKIP
    {'runs': ['featureviz'], 'sampling': {'images': 10, 'featureviz': 10}}
"""

import collections
import dataclasses
import json
import math
import re
import threading
import typing
import urllib.parse
from importlib import resources

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from tb_featureviz import metadata

#: Tab title in TensorBoard's plugin bar.
TAB_NAME = "Feature maps"

#: TensorBoard's own sample limits when ``--samples_per_plugin`` names no
#: value: 10 for ``images``, 10 for any third-party plugin's tensors (so
#: for ``featureviz``), 1000 for ``scalars``.
DEFAULT_SAMPLES = {metadata.IMAGES_PLUGIN_NAME: 10, metadata.PLUGIN_NAME: 10, "scalars": 1000}

#: Plugin name of standard scalar summaries (drift, channel health).
SCALARS_PLUGIN_NAME = "scalars"

#: Pseudo layer and kind of the probe images (docs/format.md).
PROBE_LAYER = "_probe"
PROBE_KIND = "probe"

#: Order of the kinds in ``layers``; kinds not listed follow, sorted.
KIND_ORDER = ("activations", "filters", "filters_mosaic", "pointwise", "filter_change")

#: Groups of the per-layer scalar series: tag ``featureviz/<layer>/<group>/<name>``.
SCALAR_GROUPS = ("drift", "health")

#: Static file types the panel may ship, and the type each is served with.
STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}

# A data provider returns no points for ``downsample=0``; "keep all" (a
# sample limit of 0) must ask for more points than any tag can hold.
_READ_ALL = 2**31 - 1

_INT = re.compile(r"-?[0-9]{1,18}\Z")
_STATIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_GRID_LRU_SIZE = 256


class _HttpError(Exception):
    """An error reply: ``code`` and the message sent as ``{"error": ...}``."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _bad_request(message):
    return _HttpError(400, message)


def _not_found(message):
    return _HttpError(404, message)


# --------------------------------------------------------------------------
# Static files


def load_static_files(root=None):
    """Read the panel's static files once: the whitelist of what may be served.

    Only plain files directly in ``root`` whose suffix is in
    :data:`STATIC_TYPES` and whose name is simple (letters, digits, ``_``,
    ``.``, ``-``) are taken; each is served at ``/<name>``. No request
    parameter ever reaches a file path: a request either names a key of
    this dict or gets a 404.

    Args:
        root: a directory (``pathlib.Path`` or ``importlib.resources``
            Traversable); by default the package ``tb_featureviz.frontend``
            (setup.py maps it to ``frontend/``).

    Returns:
        Dict ``{"/index.js": (bytes, "text/javascript"), ...}``; empty when
        the package is not installed.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "index.js").write_text("export function render() {}")
        >>> _ = (d / "notes.txt").write_text("not served")
        >>> sorted(load_static_files(d))
        ['/index.js']
    """
    if root is None:
        try:
            root = resources.files("tb_featureviz.frontend")
        except ModuleNotFoundError:
            return {}
    files = {}
    for entry in root.iterdir():
        name = entry.name
        suffix = name[name.rfind(".") :] if "." in name else ""
        if suffix in STATIC_TYPES and _STATIC_NAME.match(name) and entry.is_file():
            files["/" + name] = (entry.read_bytes(), STATIC_TYPES[suffix])
    return files


# --------------------------------------------------------------------------
# Request parameters


def _param(request, route, name, required=True):
    """The single non-empty value of query parameter ``name``, or None."""
    values = request.args.getlist(name)
    if not values:
        if required:
            raise _bad_request(f"{route} expects parameter '{name}'. Received: no '{name}'")
        return None
    if len(values) > 1:
        raise _bad_request(
            f"{route} expects one value of '{name}'. Received: {len(values)} values"
        )
    if not values[0]:
        raise _bad_request(f"{route} expects a non-empty '{name}'. Received: {name}=")
    return values[0]


def _int_param(request, route, name, required=True, minimum=None):
    """Query parameter ``name`` as an int (plain decimal digits), or None."""
    text = _param(request, route, name, required)
    if text is None:
        return None
    if not _INT.match(text) or (minimum is not None and int(text) < minimum):
        what = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise _bad_request(f"{route} expects '{name}' to be {what}. Received: {name}={text!r}")
    return int(text)


# --------------------------------------------------------------------------
# JSON


def _finite(value):
    """``value`` with non-finite floats replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _json_text(document):
    """Compact JSON text; NaN/Infinity (which ``JSON.parse`` rejects) become null."""
    try:
        return json.dumps(document, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # Only a hand-made log has NaN in a record (the writer emits null);
        # cleaning is done on this rare path only, to keep the usual one fast.
        return json.dumps(_finite(document), separators=(",", ":"), allow_nan=False)


def _parse_document(value):
    """The JSON document in a featureviz string tensor, or None if unreadable."""
    try:
        document = metadata.parse_json_tensor(value)
    except (ValueError, TypeError):
        return None
    return document


def _steps_text(steps):
    if len(steps) <= 20:
        return f"kept steps: {list(steps)}"
    return f"{len(steps)} kept steps from {steps[0]} to {steps[-1]}"


# --------------------------------------------------------------------------
# The run index: what each tag holds, cached per tag


class _RecordInfo(typing.NamedTuple):
    """What ``layers`` needs from one record, read once per record."""

    wall_time: float
    sequence: object  # int, or None when the record has none
    samples: int
    cls: object


@dataclasses.dataclass
class _Series:
    """One (layer, kind): its record tag and image tag, by step."""

    layer: str
    kind: str
    record_tag: str
    image_tag: str
    records: dict = dataclasses.field(default_factory=dict)  # step -> _RecordInfo
    images: dict = dataclasses.field(default_factory=dict)  # step -> (wall_time, blob keys)

    @property
    def steps(self):
        """Steps that have both a record and an image (what ``grid`` serves)."""
        return sorted(self.records.keys() & self.images.keys())

    def num_samples(self, step):
        """Samples at ``step``: the fewer of the record's and the image's."""
        return min(self.records[step].samples, len(self.images[step][1]) - 2)

    def written(self):
        """How many records the logger wrote: ``max(sequence) + 1``."""
        sequences = [r.sequence for r in self.records.values() if r.sequence is not None]
        return max(sequences) + 1 if sequences else len(self.records)


@dataclasses.dataclass
class _RunIndex:
    """Everything ``layers`` says about one run, plus the series by name."""

    series: dict  # (layer, kind) -> _Series
    structure: object  # the structure document (dict) or None
    events: list
    layers_text: str = ""


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
            default :func:`load_static_files` of the installed package.
    """

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context, static_files=None):
        self._data_provider = context.data_provider
        hints = context.sampling_hints or {}
        #: Effective sample limit per plugin name; 0 means "all kept".
        self.sample_limits = {
            name: default if hints.get(name) is None else int(hints[name])
            for name, default in DEFAULT_SAMPLES.items()
        }
        self._static = load_static_files() if static_files is None else dict(static_files)
        self._lock = threading.Lock()
        self._tag_cache = {}  # (eid, run, plugin, tag) -> (fingerprint, {step: info})
        self._index_cache = {}  # (eid, run) -> (fingerprint, _RunIndex)
        self._grid_lru = collections.OrderedDict()  # (eid, run, tag, step, wall) -> record

    # -- TBPlugin ----------------------------------------------------------

    def get_plugin_apps(self):
        apps = {
            "/runs": self._app("runs", self._runs),
            "/layers": self._app("layers", self._layers),
            "/grid": self._app("grid", self._grid),
            "/image": self._app("image", self._image),
            "/scalars": self._app("scalars", self._scalars),
        }
        for path, (content, content_type) in self._static.items():
            apps[path] = self._static_app(content, content_type)
        return apps

    def is_active(self):
        # TensorBoard activates the tab when `data_plugin_names` has data.
        return False

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name=TAB_NAME)

    # -- plumbing ----------------------------------------------------------

    def _limit(self, plugin_name):
        limit = self.sample_limits[plugin_name]
        return limit if limit > 0 else _READ_ALL

    def _sampling(self):
        return {
            metadata.IMAGES_PLUGIN_NAME: self.sample_limits[metadata.IMAGES_PLUGIN_NAME],
            metadata.PLUGIN_NAME: self.sample_limits[metadata.PLUGIN_NAME],
        }

    def _app(self, route, handler):
        """WSGI app of a route; errors become ``{"error": ...}`` JSON replies.

        ``handler(request, route, ctx, eid)`` returns a JSON document (dict,
        or its text) or ``(bytes, content_type)``.
        """

        @wrappers.Request.application
        def app(request):
            ctx = plugin_util.context(request.environ)
            eid = plugin_util.experiment_id(request.environ)
            try:
                body = handler(request, route, ctx, eid)
            except _HttpError as e:
                code, message = e.code, str(e)
            except errors.PublicError as e:
                # The data provider's own 4xx (e.g. data dropped between two
                # calls): keep its code, still answer JSON.
                code, message = e.http_code, str(e)
            else:
                if isinstance(body, tuple):
                    return http_util.Respond(request, body[0], body[1])
                text = body if isinstance(body, str) else _json_text(body)
                return http_util.Respond(request, text, "application/json")
            return http_util.Respond(
                request, _json_text({"error": message}), "application/json", code=code
            )

        return app

    @staticmethod
    def _static_app(content, content_type):
        """WSGI app serving one whitelisted file, read at load time."""

        @wrappers.Request.application
        def app(request):
            return http_util.Respond(request, content, content_type)

        return app

    # -- reading -----------------------------------------------------------

    def _cached_tags(self, eid, run, plugin_name, listing, read, summarize):
        """Per-tag summaries of ``listing``, re-reading only tags that changed.

        Args:
            listing: ``{tag: time series}`` from a ``list_*`` call.
            read: ``read(tags) -> {tag: [datum, ...]}``.
            summarize: ``summarize(tag, datum, previous_info_or_None) -> info``
                (a tuple whose first item is the wall time), or None to skip.

        Returns:
            ``{tag: {step: info}}`` for every tag of ``listing``.
        """
        result, stale = {}, []
        with self._lock:
            for tag, series in listing.items():
                fingerprint = (series.max_step, series.max_wall_time, getattr(series, "max_length", None))
                cached = self._tag_cache.get((eid, run, plugin_name, tag))
                if cached is not None and cached[0] == fingerprint:
                    result[tag] = cached[1]
                else:
                    stale.append((tag, fingerprint, cached[1] if cached else {}))
        if not stale:
            return result
        data = read([tag for tag, _, _ in stale])
        fresh = {}
        for tag, fingerprint, previous in stale:
            by_step = {}
            for datum in data.get(tag, ()):
                old = previous.get(datum.step)
                info = summarize(tag, datum, old)
                if info is None:
                    continue
                kept = by_step.get(datum.step)
                # Two events at one step (a restarted job): the newer wins.
                if kept is None or info[0] >= kept[0]:
                    by_step[datum.step] = info
            fresh[tag] = (fingerprint, by_step)
            result[tag] = by_step
        with self._lock:
            for tag, entry in fresh.items():
                self._tag_cache[(eid, run, plugin_name, tag)] = entry
        return result

    def _read_tensors(self, ctx, eid, run, tags):
        return self._data_provider.read_tensors(
            ctx,
            experiment_id=eid,
            plugin_name=metadata.PLUGIN_NAME,
            downsample=self._limit(metadata.PLUGIN_NAME),
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=tags),
        ).get(run, {})

    def _read_blob_sequences(self, ctx, eid, run, tags):
        return self._data_provider.read_blob_sequences(
            ctx,
            experiment_id=eid,
            plugin_name=metadata.IMAGES_PLUGIN_NAME,
            downsample=self._limit(metadata.IMAGES_PLUGIN_NAME),
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=tags),
        ).get(run, {})

    def _run_index(self, ctx, eid, run):
        """The run's :class:`_RunIndex`; 404 when the run has no featureviz data."""
        tensors = self._data_provider.list_tensors(
            ctx,
            experiment_id=eid,
            plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=[run]),
        ).get(run)
        if not tensors:
            raise _not_found(f"Unknown run {run!r}: it holds no featureviz data")
        blobs = self._data_provider.list_blob_sequences(
            ctx,
            experiment_id=eid,
            plugin_name=metadata.IMAGES_PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=[run]),
        ).get(run, {})

        # Which featureviz tag is what: the metadata says (its first event's).
        record_tags, document_tags = {}, {}
        for tag, series in tensors.items():
            content = metadata.parse_plugin_content(series.plugin_content)
            what = content.get("content")
            if what == metadata.CONTENT_RECORD:
                layer, kind = content.get("layer"), content.get("kind")
                if not isinstance(layer, str) or not isinstance(kind, str):
                    continue
                image_tag = content.get("image_tag")
                if not isinstance(image_tag, str):
                    image_tag = metadata.image_tag(layer, kind)
                record_tags[tag] = (layer, kind, image_tag)
            elif what in (metadata.CONTENT_STRUCTURE, metadata.CONTENT_EVENTS):
                document_tags[tag] = what
        image_listing = {
            image_tag: blobs[image_tag]
            for (_, _, image_tag) in record_tags.values()
            if image_tag in blobs
        }
        fingerprint = (
            tuple(sorted((t, s.max_step, s.max_wall_time) for t, s in tensors.items())),
            tuple(sorted((t, s.max_step, s.max_wall_time, s.max_length) for t, s in image_listing.items())),
        )
        with self._lock:
            cached = self._index_cache.get((eid, run))
        if cached is not None and cached[0] == fingerprint:
            return cached[1]

        def summarize_tensor(tag, datum, old):
            if old is not None and old[0] == datum.wall_time:
                return old  # already read: records never change in place
            document = _parse_document(datum.numpy)
            if not isinstance(document, dict):
                return None  # unreadable: treated as not logged
            if tag in document_tags:
                return (datum.wall_time, document)
            sequence = document.get("sequence")
            samples = document.get("samples")
            return _RecordInfo(
                wall_time=datum.wall_time,
                sequence=sequence if isinstance(sequence, int) else None,
                samples=len(samples) if isinstance(samples, list) else 0,
                cls=document.get("class"),
            )

        def summarize_images(tag, datum, old):
            return (datum.wall_time, tuple(ref.blob_key for ref in datum.values))

        tensor_data = self._cached_tags(
            eid, run, metadata.PLUGIN_NAME,
            {t: tensors[t] for t in (*record_tags, *document_tags)},
            lambda tags: self._read_tensors(ctx, eid, run, tags),
            summarize_tensor,
        )
        images = self._cached_tags(
            eid, run, metadata.IMAGES_PLUGIN_NAME,
            image_listing,
            lambda tags: self._read_blob_sequences(ctx, eid, run, tags),
            summarize_images,
        )

        series = {}
        for tag in sorted(record_tags):
            layer, kind, image_tag = record_tags[tag]
            series[(layer, kind)] = _Series(
                layer, kind, tag, image_tag, tensor_data[tag], images.get(image_tag, {})
            )
        structure, events = None, []
        for tag in sorted(document_tags):
            docs = tensor_data[tag]
            if document_tags[tag] == metadata.CONTENT_STRUCTURE:
                if docs:
                    # Written once per run; after a restart the newest one wins.
                    structure = docs[max(docs, key=lambda s: (docs[s][0], s))][1]
            else:
                for step in sorted(docs):
                    for event in docs[step][1].get("events") or ():
                        if isinstance(event, dict):
                            events.append({"step": step, **event})
        index = _RunIndex(series=series, structure=structure, events=events)
        index.layers_text = _json_text(self._layers_document(run, index))
        with self._lock:
            self._index_cache[(eid, run)] = (fingerprint, index)
        return index

    def _layers_document(self, run, index):
        """The ``layers`` reply for a run (see docs/http_api.md)."""
        by_layer = collections.defaultdict(dict)
        for (layer, kind), series in index.series.items():
            by_layer[layer][kind] = series

        def kinds_of(layer):
            kinds = by_layer.get(layer, {})
            order = [k for k in KIND_ORDER if k in kinds] + sorted(set(kinds) - set(KIND_ORDER))
            out = {}
            for kind in order:
                s = kinds[kind]
                steps = s.steps
                out[kind] = {
                    "steps": steps,
                    "samples": s.num_samples(steps[-1]) if steps else 0,
                    "written": s.written(),
                }
            return out

        structure = index.structure or {}
        layers, seen = [], set()
        for entry in structure.get("layers") or ():
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            layers.append({**entry, "kinds": kinds_of(entry["name"])})
            seen.add(entry["name"])
        # Data of layers the structure does not list (no structure written,
        # or a layer logged by name only) is shown after, never dropped.
        extra = sorted(
            (s.record_tag, layer)
            for (layer, _), s in index.series.items()
            if layer not in seen and not layer.startswith("_")
        )
        for _, layer in extra:
            if layer in seen:
                continue
            seen.add(layer)
            latest = [
                s.records[max(s.records)].cls for s in by_layer[layer].values() if s.records
            ]
            layers.append(
                {
                    "index": None,
                    "name": layer,
                    "class": latest[0] if latest else None,
                    "path": [],
                    "output_shape": None,
                    "kernel_shapes": {},
                    "spatial": None,
                    "trainable": None,
                    "is_model": False,
                    "kinds": kinds_of(layer),
                }
            )

        probe = index.series.get((PROBE_LAYER, PROBE_KIND))
        probe_doc = None
        if probe is not None:
            steps = probe.steps
            probe_doc = {"steps": steps, "samples": probe.num_samples(steps[-1]) if steps else 0}
        all_steps = set()
        dropped = False
        for s in index.series.values():
            steps = s.steps
            all_steps.update(steps)
            dropped = dropped or len(steps) < s.written()
        return {
            "run": run,
            "model": structure.get("model"),
            "layers": layers,
            "probe": probe_doc,
            "steps": sorted(all_steps),
            "events": index.events,
            "sampling": {**self._sampling(), "dropped": dropped},
        }

    def _series(self, request, route, ctx, eid):
        """The run index and the series named by ``run``, ``layer``, ``kind``."""
        run = _param(request, route, "run")
        layer = _param(request, route, "layer")
        kind = _param(request, route, "kind")
        index = self._run_index(ctx, eid, run)
        series = index.series.get((layer, kind))
        if series is None:
            kinds = sorted(k for (l, k) in index.series if l == layer)
            known = any(
                isinstance(e, dict) and e.get("name") == layer
                for e in (index.structure or {}).get("layers") or ()
            )
            if not kinds and not known:
                raise _not_found(f"Unknown layer {layer!r} in run {run!r}")
            raise _not_found(
                f"Unknown kind {kind!r} for layer {layer!r} in run {run!r}. Logged kinds: {kinds}"
            )
        return run, series

    # -- routes ------------------------------------------------------------

    def _runs(self, request, route, ctx, eid):
        runs = self._data_provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME
        )
        return {"runs": sorted(run for run, tags in runs.items() if tags), "sampling": self._sampling()}

    def _layers(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        return self._run_index(ctx, eid, run).layers_text

    def _grid(self, request, route, ctx, eid):
        step = _int_param(request, route, "step", required=False)
        sample = _int_param(request, route, "sample", required=False, minimum=0)
        run, series = self._series(request, route, ctx, eid)
        steps = series.steps
        if not steps:
            raise _not_found(
                f"No step of layer {series.layer!r} kind {series.kind!r} in run {run!r} "
                "has both its record and its image"
            )
        if step is None:
            step = steps[-1]
        elif step not in series.records or step not in series.images:
            raise _not_found(
                f"No step {step} for layer {series.layer!r} kind {series.kind!r} "
                f"in run {run!r}; {_steps_text(steps)}"
            )
        sample = 0 if sample is None else sample
        num_samples = series.num_samples(step)
        if sample >= num_samples:
            raise _not_found(
                f"No sample {sample} for layer {series.layer!r} kind {series.kind!r} at step "
                f"{step}: it has {num_samples} sample(s)"
            )
        record = self._record(ctx, eid, run, series, step)
        entry = record["samples"][sample]
        entry = entry if isinstance(entry, dict) else {}
        document = {k: v for k, v in record.items() if k != "samples"}
        document.update(
            step=step,
            lo=entry.get("lo"),
            hi=entry.get("hi"),
            nonfinite=entry.get("nonfinite"),
            stats=entry.get("stats"),
            sample=sample,
            num_samples=num_samples,
            steps=steps,
            image_url="image?"
            + urllib.parse.urlencode(
                [("run", run), ("layer", series.layer), ("kind", series.kind),
                 ("step", step), ("sample", sample)],
                quote_via=urllib.parse.quote,
            ),
        )
        return document

    def _record(self, ctx, eid, run, series, step):
        """The parsed record of ``series`` at ``step`` (an LRU keeps recent ones)."""
        wall_time = series.records[step].wall_time
        key = (eid, run, series.record_tag, step, wall_time)
        with self._lock:
            record = self._grid_lru.get(key)
            if record is not None:
                self._grid_lru.move_to_end(key)
                return record
        data = self._read_tensors(ctx, eid, run, [series.record_tag]).get(series.record_tag, ())
        matches = [d for d in data if d.step == step and d.wall_time == wall_time]
        record = _parse_document(matches[0].numpy) if matches else None
        if not isinstance(record, dict) or not isinstance(record.get("samples"), list):
            # TensorBoard dropped or replaced it since the index was read.
            raise _not_found(
                f"The record of layer {series.layer!r} kind {series.kind!r} at step {step} "
                f"in run {run!r} is no longer available; reload the layer list"
            )
        with self._lock:
            self._grid_lru[key] = record
            while len(self._grid_lru) > _GRID_LRU_SIZE:
                self._grid_lru.popitem(last=False)
        return record

    def _image(self, request, route, ctx, eid):
        step = _int_param(request, route, "step")
        sample = _int_param(request, route, "sample", minimum=0)
        run, series = self._series(request, route, ctx, eid)
        if step not in series.images:
            raise _not_found(
                f"No image of layer {series.layer!r} kind {series.kind!r} at step {step} "
                f"in run {run!r}; {_steps_text(sorted(series.images))}"
            )
        keys = series.images[step][1]
        if sample >= len(keys) - 2:
            raise _not_found(
                f"No sample {sample} for layer {series.layer!r} kind {series.kind!r} at step "
                f"{step}: it has {len(keys) - 2} sample(s)"
            )
        try:
            # Blobs 0 and 1 of an image summary are its width and height.
            png = self._data_provider.read_blob(ctx, blob_key=keys[2 + sample])
        except (errors.NotFoundError, KeyError, IndexError):
            raise _not_found(
                f"The image of layer {series.layer!r} kind {series.kind!r} at step {step} "
                f"in run {run!r} is no longer available; reload the layer list"
            ) from None
        return png, "image/png"

    def _scalars(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        self._run_index(ctx, eid, run)  # 404 for a run without featureviz data
        listing = self._data_provider.list_scalars(
            ctx,
            experiment_id=eid,
            plugin_name=SCALARS_PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=[run]),
        ).get(run, {})
        wanted = {}
        prefix = metadata.TAG_PREFIX + "/"
        for tag in listing:
            parts = tag.split("/")
            # featureviz/<layer, may hold "/">/<group>/<name>
            if len(parts) < 4 or not tag.startswith(prefix) or parts[-2] not in SCALAR_GROUPS:
                continue
            layer = "/".join(parts[1:-2])
            if layer.startswith("_"):
                continue
            wanted[tag] = (layer, parts[-2] + "/" + parts[-1])
        layers = {}
        if wanted:
            data = self._data_provider.read_scalars(
                ctx,
                experiment_id=eid,
                plugin_name=SCALARS_PLUGIN_NAME,
                downsample=self._limit(SCALARS_PLUGIN_NAME),
                run_tag_filter=provider.RunTagFilter(runs=[run], tags=list(wanted)),
            ).get(run, {})
            for tag in sorted(wanted):
                layer, name = wanted[tag]
                layers.setdefault(layer, {})[name] = [
                    [d.step, d.value if math.isfinite(d.value) else None] for d in data.get(tag, ())
                ]
        return {"run": run, "layers": layers}
