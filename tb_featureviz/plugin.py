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

How it reads (why it is fast enough for a 134-layer run at 50 steps):

* ``layers`` lists the run's featureviz tensors once; per tag, what was
  read before is kept until the tag's newest step or wall time changes.
  Of each grid it reads only the newest record (for ``written``) and the
  image blob references (steps, sample counts), never every record.
* ``grid`` makes a one-tag listing to check that its record tag has not
  changed, then uses the cached records and blob keys; ``image`` reuses
  the blob keys known for that step and reads the PNG (one call each).
* Reads ask for every point TensorBoard kept (``--samples_per_plugin`` is
  the limit), because a data provider's own downsampling picks points at
  random per tag, which would pair images and records of different steps.

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
import os
import re
import threading
import time
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

#: Samples per tag that TensorBoard keeps when ``--samples_per_plugin``
#: names no value for a plugin: the Python loader (``--load_fast=false``)
#: keeps 10 images and 10 tensors of a third-party plugin such as
#: ``featureviz``; the Rust data server (``--load_fast=true``) keeps 10 blob
#: sequences (images) but 100 tensors.
PYTHON_LOADER_SAMPLES = {metadata.IMAGES_PLUGIN_NAME: 10, metadata.PLUGIN_NAME: 10}
DATA_SERVER_SAMPLES = {metadata.IMAGES_PLUGIN_NAME: 10, metadata.PLUGIN_NAME: 100}

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

# Asks a data provider for every point it kept: its own downsampling is a
# random pick per tag (and 0 would mean none at all).
_READ_ALL = 2**31 - 1

#: Bytes of raw records kept in memory for ``grid`` (most recently used tags).
RECORD_CACHE_BYTES = 64 * 2**20

#: Seconds a grid's located tags and fingerprint are trusted without asking
#: the data provider again. The channel view fetches a dozen steps of one
#: grid at once, and each listing costs ~45 ms with ``--load_fast=true``
#: (the data server's replies wait on Nagle's algorithm); TensorBoard itself
#: reloads data every few seconds, so a reply lags the newest step by at
#: most this much more, and a ``layers`` call that sees the run changed
#: forgets them at once.
LOCATE_FRESH_SECONDS = 2.0

_INT = re.compile(r"-?[0-9]{1,18}\Z")
_STATIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


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
        suffix = os.path.splitext(name)[1]
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
        return metadata.parse_json_tensor(value)
    except (ValueError, TypeError, RecursionError):  # a hand-made or truncated log
        return None


def _steps_text(steps):
    if len(steps) <= 20:
        return f"kept steps: {list(steps)}"
    return f"{len(steps)} kept steps from {steps[0]} to {steps[-1]}"


# --------------------------------------------------------------------------
# What the plugin knows about a run


def _fingerprint(time_series):
    """Changes whenever TensorBoard keeps new data for a tag."""
    return (time_series.max_step, time_series.max_wall_time)


class _Latest(typing.NamedTuple):
    """The newest record of a grid: what ``layers`` needs from records."""

    sequence: object  # int, or None when the record has none
    cls: object


@dataclasses.dataclass
class _Series:
    """One (layer, kind): its two tags and what the index read of them."""

    layer: str
    kind: str
    record_tag: str
    image_tag: str
    fingerprint: tuple  # of the record tag
    latest: object = None  # _Latest, or None when unreadable
    images: dict = dataclasses.field(default_factory=dict)  # step -> blob keys

    def written(self):
        """How many grids the logger wrote: ``max(sequence) + 1``.

        The newest record holds the largest ``sequence``; both loaders
        always keep a tag's newest point.
        """
        if self.latest is not None and isinstance(self.latest.sequence, int):
            return self.latest.sequence + 1
        return len(self.images)


@dataclasses.dataclass
class _RunIndex:
    """What ``layers`` says about a run, kept until one of its tags changes."""

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
        defaults = DATA_SERVER_SAMPLES if _is_data_server(self._data_provider) else PYTHON_LOADER_SAMPLES
        #: Samples per tag TensorBoard keeps, per plugin name; 0 means all.
        self.sample_limits = {
            name: default if hints.get(name) is None else int(hints[name])
            for name, default in defaults.items()
        }
        self._static = load_static_files() if static_files is None else dict(static_files)
        self._lock = threading.Lock()
        self._tag_cache = {}  # (eid, run, what, tag) -> (fingerprint, value)
        self._index_cache = {}  # (eid, run) -> (fingerprint, _RunIndex)
        self._records = collections.OrderedDict()  # (eid, run, tag) -> (fingerprint, {step: bytes}, size)
        self._located = {}  # (eid, run, layer, kind) -> image tag
        self._recently_located = {}  # (eid, run, layer, kind) -> (monotonic time, _locate result)
        self._records_bytes = 0

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

    def _sampling(self):
        return dict(self.sample_limits)

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

    def _cached(self, eid, run, what, fingerprints, read, build):
        """``{tag: build(tag, data)}``, reading only tags whose fingerprint changed.

        Args:
            what: cache namespace (the same tag can be cached twice).
            fingerprints: ``{tag: fingerprint}`` as listed now.
            read: ``read(tags) -> {tag: [datum, ...]}``, one provider call.
            build: ``build(tag, data) -> value`` kept for the tag.
        """
        result, stale = {}, []
        with self._lock:
            for tag, fingerprint in fingerprints.items():
                cached = self._tag_cache.get((eid, run, what, tag))
                if cached is not None and cached[0] == fingerprint:
                    result[tag] = cached[1]
                else:
                    stale.append(tag)
        if stale:
            data = read(stale)
            fresh = {tag: build(tag, data.get(tag, ())) for tag in stale}
            with self._lock:
                for tag, value in fresh.items():
                    self._tag_cache[(eid, run, what, tag)] = (fingerprints[tag], value)
            result.update(fresh)
        return result

    def _read_images(self, ctx, eid, run, tags):
        """``{tag: [BlobSequenceDatum, ...]}``: blob references only, no PNG bytes."""
        return self._data_provider.read_blob_sequences(
            ctx,
            experiment_id=eid,
            plugin_name=metadata.IMAGES_PLUGIN_NAME,
            downsample=_READ_ALL,
            run_tag_filter=_run_filter(run, tags),
        ).get(run, {})

    def _run_index(self, ctx, eid, run):
        """The run's :class:`_RunIndex`; 404 when the run has no featureviz data."""
        tensors = self._data_provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, run_tag_filter=_run_filter(run)
        ).get(run)
        if not tensors:
            raise _not_found(f"Unknown run {run!r}: it holds no featureviz data")
        fingerprint = tuple(sorted((tag, _fingerprint(ts)) for tag, ts in tensors.items()))
        with self._lock:
            cached = self._index_cache.get((eid, run))
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        # The run changed: grids located before must be looked up afresh.
        with self._lock:
            for key in [k for k in self._recently_located if k[:2] == (eid, run)]:
                del self._recently_located[key]

        # What each tag is: its metadata says (that of its first event).
        records, documents = {}, {}
        for tag, ts in tensors.items():
            content = metadata.parse_plugin_content(ts.plugin_content)
            what = content.get("content")
            if what == metadata.CONTENT_RECORD:
                layer, kind = content.get("layer"), content.get("kind")
                if not (isinstance(layer, str) and isinstance(kind, str)):
                    layer, kind = _layer_and_kind(tag)
                if layer is not None:
                    image_tag = content.get("image_tag")
                    if not isinstance(image_tag, str):
                        image_tag = metadata.image_tag(layer, kind)
                    records[tag] = _Series(layer, kind, tag, image_tag, _fingerprint(ts))
            elif what in (metadata.CONTENT_STRUCTURE, metadata.CONTENT_EVENTS):
                documents[tag] = what

        def read_tensors(downsample):
            return lambda tags: self._data_provider.read_tensors(
                ctx,
                experiment_id=eid,
                plugin_name=metadata.PLUGIN_NAME,
                downsample=downsample,
                run_tag_filter=_run_filter(run, tags),
            ).get(run, {})

        def newest(tag, data):
            if not data:
                return None
            datum = data[-1]
            record = _parse_document(datum.numpy)
            if not isinstance(record, dict):
                return None
            sequence = record.get("sequence")
            return _Latest(sequence if isinstance(sequence, int) else None, record.get("class"))

        def parsed(tag, data):
            docs = ((d.step, d.wall_time, _parse_document(d.numpy)) for d in data)
            return [(step, wall, doc) for step, wall, doc in docs if isinstance(doc, dict)]

        # downsample=1: the newest record only (both loaders always keep it).
        latest = self._cached(
            eid, run, "latest", {t: s.fingerprint for t, s in records.items()}, read_tensors(1), newest
        )
        docs = self._cached(
            eid, run, "documents", {t: _fingerprint(tensors[t]) for t in documents},
            read_tensors(_READ_ALL), parsed,
        )
        # An image tag gets new data exactly when its record tag does (the
        # writer writes both at each step), so the record's fingerprint
        # stands for both and the image tags need no listing of their own.
        images = self._cached(
            eid, run, "images", {s.image_tag: s.fingerprint for s in records.values()},
            lambda tags: self._read_images(ctx, eid, run, tags), _blob_keys_by_step,
        )
        with self._lock:
            for s in records.values():
                self._located[(eid, run, s.layer, s.kind)] = s.image_tag

        series = {}
        for tag in sorted(records):
            s = records[tag]
            s.latest, s.images = latest[tag], images[s.image_tag]
            series[(s.layer, s.kind)] = s
        structure, events = None, []
        for tag in sorted(documents):
            if documents[tag] == metadata.CONTENT_STRUCTURE:
                if docs[tag]:
                    # Written once per run; after a restart the newest wins.
                    structure = max(docs[tag], key=lambda d: (d[1], d[0]))[2]
            else:
                for step, _, doc in sorted(docs[tag], key=lambda d: d[0]):
                    for event in doc.get("events") or ():
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
        for (layer, kind), s in index.series.items():
            by_layer[layer][kind] = s

        def samples(s):
            return len(s.images[max(s.images)]) - 2 if s.images else 0

        def kinds_of(layer):
            kinds = by_layer.get(layer, {})
            order = [k for k in KIND_ORDER if k in kinds] + sorted(set(kinds) - set(KIND_ORDER))
            return {
                kind: {"steps": sorted(kinds[kind].images), "samples": samples(kinds[kind]),
                       "written": kinds[kind].written()}
                for kind in order
            }

        structure = index.structure or {}
        layers, seen = [], set()
        for entry in structure.get("layers") or ():
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                layers.append({**entry, "kinds": kinds_of(entry["name"])})
                seen.add(entry["name"])
        # Layers with data that the structure does not list (no structure
        # written, or logged by name only) follow, never dropped.
        extra = sorted(
            (s.record_tag, layer) for (layer, _), s in index.series.items()
            if layer not in seen and not layer.startswith("_")
        )
        for _, layer in extra:
            if layer in seen:
                continue
            seen.add(layer)
            classes = [s.latest.cls for s in by_layer[layer].values() if s.latest is not None]
            layers.append({
                "index": None, "name": layer, "class": classes[0] if classes else None, "path": [],
                "output_shape": None, "kernel_shapes": {}, "spatial": None, "trainable": None,
                "is_model": False, "kinds": kinds_of(layer),
            })

        probe = index.series.get((PROBE_LAYER, PROBE_KIND))
        all_steps, dropped = set(), False
        for s in index.series.values():
            all_steps.update(s.images)
            dropped = dropped or len(s.images) < s.written()
        return {
            "run": run,
            "model": structure.get("model"),
            "layers": layers,
            "probe": None if probe is None else {"steps": sorted(probe.images), "samples": samples(probe)},
            "steps": sorted(all_steps),
            "events": index.events,
            "sampling": {**self._sampling(), "dropped": dropped},
        }

    def _locate(self, ctx, eid, run, layer, kind):
        """``(record_tag, image_tag, fingerprint)`` of a grid, or a 404.

        The usual case costs a one-tag listing, whose fingerprint also says
        whether cached records and blob keys are current (the writer writes
        a grid's record after its image). The run index is read only to
        tell an unknown run, layer or kind apart, or to find tags written
        under other names through their metadata.
        """
        key = (eid, run, layer, kind)
        with self._lock:
            recent = self._recently_located.get(key)
        if recent is not None and time.monotonic() - recent[0] < LOCATE_FRESH_SECONDS:
            return recent[1]
        tag = metadata.record_tag(layer, kind)
        ts = self._data_provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=_run_filter(run, [tag]),
        ).get(run, {}).get(tag)
        found = None
        if ts is not None:
            content = metadata.parse_plugin_content(ts.plugin_content)
            if (content.get("content"), content.get("layer"), content.get("kind")) == (
                metadata.CONTENT_RECORD, layer, kind
            ):
                image_tag = content.get("image_tag")
                if not isinstance(image_tag, str):
                    image_tag = metadata.image_tag(layer, kind)
                found = (tag, image_tag, _fingerprint(ts))
        if found is None:
            index = self._run_index(ctx, eid, run)
            s = index.series.get((layer, kind))
            if s is None:
                kinds = sorted(k for (name, k) in index.series if name == layer)
                in_structure = any(
                    isinstance(e, dict) and e.get("name") == layer
                    for e in (index.structure or {}).get("layers") or ()
                )
                if not kinds and not in_structure:
                    raise _not_found(f"Unknown layer {layer!r} in run {run!r}")
                raise _not_found(
                    f"Unknown kind {kind!r} for layer {layer!r} in run {run!r}. Logged kinds: {kinds}"
                )
            found = (s.record_tag, s.image_tag, s.fingerprint)
        with self._lock:
            self._located[key] = found[1]
            self._recently_located[key] = (time.monotonic(), found)
        return found

    def _images(self, ctx, eid, run, image_tag, fingerprint):
        """``{step: blob keys}`` of an image tag, current as of ``fingerprint``."""
        return self._cached(
            eid, run, "images", {image_tag: fingerprint},
            lambda tags: self._read_images(ctx, eid, run, tags), _blob_keys_by_step,
        )[image_tag]

    def _record_texts(self, ctx, eid, run, tag, fingerprint):
        """``{step: record bytes}`` of one record tag, cached up to RECORD_CACHE_BYTES."""
        key = (eid, run, tag)
        with self._lock:
            cached = self._records.get(key)
            if cached is not None and cached[0] == fingerprint:
                self._records.move_to_end(key)
                return cached[1]
        data = self._data_provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, downsample=_READ_ALL,
            run_tag_filter=_run_filter(run, [tag]),
        ).get(run, {}).get(tag, ())
        texts = {}
        for datum in data:  # in step order: of two events at one step, the later wins
            value = datum.numpy.item() if hasattr(datum.numpy, "item") else datum.numpy
            texts[datum.step] = value
        size = sum(len(v) for v in texts.values() if isinstance(v, (bytes, str)))
        with self._lock:
            old = self._records.pop(key, None)
            if old is not None:
                self._records_bytes -= old[2]
            self._records[key] = (fingerprint, texts, size)
            self._records_bytes += size
            while self._records_bytes > RECORD_CACHE_BYTES and len(self._records) > 1:
                _, (_, _, dropped) = self._records.popitem(last=False)
                self._records_bytes -= dropped
        return texts

    # -- routes ------------------------------------------------------------

    def _runs(self, request, route, ctx, eid):
        runs = self._data_provider.list_tensors(ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME)
        return {"runs": sorted(run for run, tags in runs.items() if tags), "sampling": self._sampling()}

    def _layers(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        return self._run_index(ctx, eid, run).layers_text

    def _grid(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        layer = _param(request, route, "layer")
        kind = _param(request, route, "kind")
        step = _int_param(request, route, "step", required=False)
        sample = _int_param(request, route, "sample", required=False, minimum=0)
        record_tag, image_tag, fingerprint = self._locate(ctx, eid, run, layer, kind)
        texts = self._record_texts(ctx, eid, run, record_tag, fingerprint)
        images = self._images(ctx, eid, run, image_tag, fingerprint)
        # Only steps whose record and image TensorBoard both kept are served.
        steps = sorted(texts.keys() & images.keys())
        what = f"layer {layer!r} kind {kind!r} in run {run!r}"
        if not steps:
            raise _not_found(f"No step of {what} has both its record and its image")
        if step is None:
            step = steps[-1]
        elif step not in texts or step not in images:
            raise _not_found(f"No step {step} for {what}; {_steps_text(steps)}")
        record = _parse_document(texts[step])
        entries = record.get("samples") if isinstance(record, dict) else None
        if not isinstance(entries, list):
            raise _not_found(f"The record of {what} at step {step} is not a readable record")
        num_samples = min(len(entries), len(images[step]) - 2)
        sample = 0 if sample is None else sample
        if sample >= num_samples:
            raise _not_found(f"No sample {sample} for {what} at step {step}: it has {num_samples} sample(s)")
        entry = entries[sample] if isinstance(entries[sample], dict) else {}
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
            image_url="image?" + urllib.parse.urlencode(
                [("run", run), ("layer", layer), ("kind", kind), ("step", step), ("sample", sample)],
                quote_via=urllib.parse.quote,
            ),
        )
        return document

    def _image(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        layer = _param(request, route, "layer")
        kind = _param(request, route, "kind")
        step = _int_param(request, route, "step")
        sample = _int_param(request, route, "sample", minimum=0)
        # Blob keys name (run, tag, step, index), so keys read earlier stay
        # right; only a step or sample not known yet needs a fresh look. If
        # the step was dropped since, `read_blob` says so (404 below).
        with self._lock:
            image_tag = self._located.get((eid, run, layer, kind))
            cached = self._tag_cache.get((eid, run, "images", image_tag))
        keys = cached[1].get(step) if cached is not None else None
        what = f"layer {layer!r} kind {kind!r} in run {run!r}"
        if keys is None or sample >= len(keys) - 2:
            _, image_tag, fingerprint = self._locate(ctx, eid, run, layer, kind)
            images = self._images(ctx, eid, run, image_tag, fingerprint)
            if step not in images:
                raise _not_found(f"No image of {what} at step {step}; {_steps_text(sorted(images))}")
            keys = images[step]
            if sample >= len(keys) - 2:
                raise _not_found(
                    f"No sample {sample} for {what} at step {step}: it has {len(keys) - 2} sample(s)"
                )
        try:
            # Blobs 0 and 1 of an image summary are its width and height.
            png = self._data_provider.read_blob(ctx, blob_key=keys[2 + sample])
        except (errors.NotFoundError, KeyError, IndexError):
            raise _not_found(f"The image of {what} at step {step} is no longer kept by TensorBoard") from None
        except errors.InvalidArgumentError:
            # The key came from the provider itself. The Rust data server
            # (0.7) cannot parse its own keys of names holding '"' or '\'.
            raise _not_found(
                f"TensorBoard's data server cannot read the image of {what} at step {step}: it fails "
                "on names holding '\"' or '\\'; start TensorBoard with --load_fast=false to see it"
            ) from None
        return png, "image/png"

    def _scalars(self, request, route, ctx, eid):
        run = _param(request, route, "run")
        listing = self._data_provider.list_scalars(
            ctx, experiment_id=eid, plugin_name=SCALARS_PLUGIN_NAME, run_tag_filter=_run_filter(run)
        ).get(run, {})
        wanted = {}
        prefix = metadata.TAG_PREFIX + "/"
        for tag in listing:
            parts = tag.split("/")
            # featureviz/<layer, which may hold "/">/<group>/<name>
            if len(parts) < 4 or not tag.startswith(prefix) or parts[-2] not in SCALAR_GROUPS:
                continue
            layer = "/".join(parts[1:-2])
            if not layer.startswith("_"):
                wanted[tag] = (layer, parts[-2] + "/" + parts[-1])
        if not wanted:
            self._run_index(ctx, eid, run)  # 404 for a run without featureviz data
            return {"run": run, "layers": {}}
        data = self._data_provider.read_scalars(
            ctx, experiment_id=eid, plugin_name=SCALARS_PLUGIN_NAME, downsample=_READ_ALL,
            run_tag_filter=_run_filter(run, list(wanted)),
        ).get(run, {})
        layers = {}
        for tag in sorted(wanted):
            layer, name = wanted[tag]
            layers.setdefault(layer, {})[name] = [
                [d.step, d.value if math.isfinite(d.value) else None] for d in data.get(tag, ())
            ]
        return {"run": run, "layers": layers}


def _layer_and_kind(record_tag):
    """``(layer, kind)`` from a tag ``featureviz/<layer>/<kind>/record``, else ``(None, None)``.

    Example:
        >>> _layer_and_kind("featureviz/xception/block1_conv1/filters/record")
        ('xception/block1_conv1', 'filters')
    """
    prefix, suffix = metadata.TAG_PREFIX + "/", "/record"
    middle = record_tag[len(prefix) : -len(suffix)]
    if not (record_tag.startswith(prefix) and record_tag.endswith(suffix)) or "/" not in middle:
        return None, None
    layer, kind = middle.rsplit("/", 1)
    return (layer, kind) if layer and kind else (None, None)


def _run_filter(run, tags=None):
    return provider.RunTagFilter(runs=[run], tags=tags)


def _blob_keys_by_step(tag, data):
    """``{step: (blob key, ...)}`` of an image tag's kept data."""
    return {datum.step: tuple(ref.blob_key for ref in datum.values) for datum in data}


def _is_data_server(data_provider):
    """Whether ``data_provider`` is the Rust data server (``--load_fast=true``)."""
    try:
        from tensorboard.data import grpc_provider
    except ImportError:  # grpc missing: then it cannot be the data server
        return False
    return isinstance(data_provider, grpc_provider.GrpcDataProvider)
