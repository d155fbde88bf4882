"""RunReader: everything the plugin reads from TensorBoard's data provider, and every cache.

Everything is read through ``context.data_provider`` (never the
multiplexer, never a file path), so the plugin works with both loaders
(``--load_fast=true`` and ``false``). How it reads, and why it is fast
enough for a 134-layer run at 50 steps:

* The run index (what ``layers`` answers) lists the run's featureviz
  tensors once; per tag, what was read before is kept until the tag's
  newest step or wall time (its *fingerprint*) changes. Of each grid it
  reads only the newest record (for ``written``) and the image blob
  references (steps, sample counts), never every record.
* A grid is *located* by a one-tag listing that also says whether cached
  records and blob keys are current; a located grid is trusted for
  :data:`LOCATE_FRESH_SECONDS`, and forgotten at once when the index sees
  the run change.
* Record texts are kept up to :data:`RECORD_CACHE_BYTES` (most recently
  used tags).
* Reads ask for every point TensorBoard kept (``--samples_per_plugin`` is
  the limit), because a data provider's own downsampling picks points at
  random per tag, which would pair images and records of different steps.

Cache invalidation has one rule: a cached value is keyed by the
fingerprint it was read at.
"""

import collections
import dataclasses
import threading
import time

from tensorboard.data import provider

from tb_featureviz import metadata, names
from tb_featureviz.plugin import documents
from tb_featureviz.plugin.http import not_found

# Asks a data provider for every point it kept: its own downsampling is a
# random pick per tag (and 0 would mean none at all).
READ_ALL = 2**31 - 1

#: Bytes of raw records kept in memory for ``grid`` (most recently used tags).
RECORD_CACHE_BYTES = 64 * 2**20

#: Seconds a grid's located tags and fingerprint are trusted without asking
#: the data provider again. The channel view fetches a dozen steps of one
#: grid at once, and each listing costs ~45 ms with ``--load_fast=true``
#: (the data server's replies wait on Nagle's algorithm); TensorBoard itself
#: reloads data every few seconds, so a reply lags the newest step by at
#: most this much more, and a run index that sees the run changed forgets
#: them at once.
LOCATE_FRESH_SECONDS = 2.0


def fingerprint(time_series):
    """Changes whenever TensorBoard keeps new data for a tag."""
    return (time_series.max_step, time_series.max_wall_time)


@dataclasses.dataclass
class Series:
    """One (layer, kind) of a run: its two tags and what the index read of them.

    Attributes:
        latest: ``(sequence, class)`` of the newest record (see
            :func:`documents.record_latest`), or None when it is unreadable.
        images: ``{step: blob keys}`` of the image tag.
    """

    layer: str
    kind: str
    record_tag: str
    image_tag: str
    fingerprint: tuple  # of the record tag
    latest: object = None
    images: dict = dataclasses.field(default_factory=dict)

    def written(self):
        """How many grids the logger wrote: ``max(sequence) + 1``.

        The newest record holds the largest ``sequence``; both loaders
        always keep a tag's newest point.
        """
        if self.latest is not None and self.latest[0] is not None:
            return self.latest[0] + 1
        return len(self.images)

    def samples(self):
        """PNGs per step at the newest step (:func:`metadata.image_blob_pngs` of its blobs)."""
        return len(metadata.image_blob_pngs(self.images[max(self.images)])) if self.images else 0


@dataclasses.dataclass
class RunIndex:
    """What a run holds, kept until one of its tags changes.

    Attributes:
        series: ``{(layer, kind): Series}``.
        structure: the newest structure document (a dict) or None.
        events: event dicts with their ``step``, in step order.
        reply: the ``layers`` reply text, made once per index by the plugin.
    """

    series: dict
    structure: object
    events: list
    reply: str = None


class Located:
    """Where a grid's data is: ``record_tag``, ``image_tag`` and the record tag's fingerprint."""

    __slots__ = ("record_tag", "image_tag", "fingerprint")

    def __init__(self, record_tag, image_tag, fingerprint_):
        self.record_tag, self.image_tag, self.fingerprint = record_tag, image_tag, fingerprint_


def _run_filter(run, tags=None):
    return provider.RunTagFilter(runs=[run], tags=tags)


def _blob_keys_by_step(tag, data):
    """``{step: (blob key, ...)}`` of an image tag's kept data."""
    return {datum.step: tuple(ref.blob_key for ref in datum.values) for datum in data}


def _value_size(value):
    item = value.item() if getattr(value, "shape", None) == () else value
    return len(item) if isinstance(item, (bytes, str)) else getattr(value, "nbytes", 0)


def _image_tag_of(content, layer, kind):
    image_tag = content.get("image_tag")
    return image_tag if isinstance(image_tag, str) else names.image_tag(layer, kind)


class RunReader:
    """Reads runs through a data provider and owns every cache of the plugin.

    Thread-safe: TensorBoard serves requests from several threads.

    Args:
        data_provider: TensorBoard's ``context.data_provider``.
    """

    def __init__(self, data_provider):
        self._provider = data_provider
        self._lock = threading.Lock()
        self._tag_cache = {}  # (eid, run, namespace, tag) -> (fingerprint, value)
        self._indexes = {}  # (eid, run) -> (fingerprint, RunIndex)
        self._records = collections.OrderedDict()  # (eid, run, tag) -> (fingerprint, {step: value}, size)
        self._records_bytes = 0
        self._located = {}  # (eid, run, layer, kind) -> (monotonic time, Located)

    # -- listings ----------------------------------------------------------

    def runs(self, ctx, eid):
        """Names of the runs holding featureviz data, sorted."""
        runs = self._provider.list_tensors(ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME)
        return sorted(run for run, tags in runs.items() if tags)

    def run_index(self, ctx, eid, run):
        """The run's :class:`RunIndex`; 404 when the run has no featureviz data."""
        tensors = self._provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, run_tag_filter=_run_filter(run)
        ).get(run)
        if not tensors:
            raise not_found(f"Unknown run {run!r}: it holds no featureviz data")
        run_fingerprint = tuple(sorted((tag, fingerprint(ts)) for tag, ts in tensors.items()))
        with self._lock:
            cached = self._indexes.get((eid, run))
            if cached is not None and cached[0] == run_fingerprint:
                return cached[1]
            # The run changed: grids located before must be looked up afresh.
            for key in [k for k in self._located if k[:2] == (eid, run)]:
                del self._located[key]
        index = self._read_index(ctx, eid, run, tensors)
        with self._lock:
            self._indexes[(eid, run)] = (run_fingerprint, index)
        return index

    def _read_index(self, ctx, eid, run, tensors):
        # What each tag is: its metadata says (that of its first event).
        records, documents_by_tag = {}, {}
        for tag, ts in tensors.items():
            content = metadata.parse_plugin_content(ts.plugin_content)
            what = content.get("content")
            if what == metadata.CONTENT_RECORD:
                layer, kind = content.get("layer"), content.get("kind")
                if not (isinstance(layer, str) and isinstance(kind, str)):
                    layer, kind = names.parse_record_tag(tag) or (None, None)
                if layer is not None:
                    records[tag] = Series(layer, kind, tag, _image_tag_of(content, layer, kind), fingerprint(ts))
            elif what in (metadata.CONTENT_STRUCTURE, metadata.CONTENT_EVENTS):
                documents_by_tag[tag] = what

        def newest(tag, data):
            record = documents.parse_document(data[-1].numpy) if data else None
            return None if record is None else documents.record_latest(record)

        def parsed(tag, data):
            docs = ((d.step, d.wall_time, documents.parse_document(d.numpy)) for d in data)
            return [(step, wall, doc) for step, wall, doc in docs if doc is not None]

        # downsample=1: the newest record only (both loaders always keep it).
        latest = self._cached(eid, run, "latest", {t: s.fingerprint for t, s in records.items()},
                              self._tensor_reader(ctx, eid, run, 1), newest)
        docs = self._cached(eid, run, "documents", {t: fingerprint(tensors[t]) for t in documents_by_tag},
                            self._tensor_reader(ctx, eid, run, READ_ALL), parsed)
        # An image tag gets new data exactly when its record tag does (the
        # writer writes both at each step), so the record's fingerprint
        # stands for both and the image tags need no listing of their own.
        images = self._cached(eid, run, "images", {s.image_tag: s.fingerprint for s in records.values()},
                              lambda tags: self._read_images(ctx, eid, run, tags), _blob_keys_by_step)
        series = {}
        for tag in sorted(records):
            s = records[tag]
            s.latest, s.images = latest[tag], images[s.image_tag]
            series[(s.layer, s.kind)] = s
        structure, events = None, []
        for tag in sorted(documents_by_tag):
            if documents_by_tag[tag] == metadata.CONTENT_STRUCTURE:
                if docs[tag]:
                    # Written once per run; after a restart the newest wins.
                    structure = max(docs[tag], key=lambda d: (d[1], d[0]))[2]
            else:
                for step, _, doc in sorted(docs[tag], key=lambda d: d[0]):
                    events.extend({"step": step, **event} for event in documents.events_of(doc))
        return RunIndex(series=series, structure=structure, events=events)

    # -- one grid ----------------------------------------------------------

    def locate(self, ctx, eid, run, layer, kind):
        """The :class:`Located` tags of a grid, or a 404.

        The usual case costs a one-tag listing, whose fingerprint also says
        whether cached records and blob keys are current (the writer writes
        a grid's record after its image). The run index is read only to
        tell an unknown run, layer or kind apart, or to find tags written
        under other names through their metadata.
        """
        key = (eid, run, layer, kind)
        with self._lock:
            recent = self._located.get(key)
        if recent is not None and time.monotonic() - recent[0] < LOCATE_FRESH_SECONDS:
            return recent[1]
        tag = names.record_tag(layer, kind)
        ts = self._provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, run_tag_filter=_run_filter(run, [tag]),
        ).get(run, {}).get(tag)
        found = None
        if ts is not None:
            content = metadata.parse_plugin_content(ts.plugin_content)
            if (content.get("content"), content.get("layer"), content.get("kind")) == (
                metadata.CONTENT_RECORD, layer, kind
            ):
                found = Located(tag, _image_tag_of(content, layer, kind), fingerprint(ts))
        if found is None:
            index = self.run_index(ctx, eid, run)
            s = index.series.get((layer, kind))
            if s is None:
                kinds = sorted(k for (name, k) in index.series if name == layer)
                in_structure = any(e["name"] == layer for e in documents.structure_layers(index.structure or {}))
                if not kinds and not in_structure:
                    raise not_found(f"Unknown layer {layer!r} in run {run!r}")
                raise not_found(f"Unknown kind {kind!r} for layer {layer!r} in run {run!r}. Logged kinds: {kinds}")
            found = Located(s.record_tag, s.image_tag, s.fingerprint)
        with self._lock:
            self._located[key] = (time.monotonic(), found)
        return found

    def blob_keys(self, ctx, eid, run, located):
        """``{step: blob keys}`` of a located grid's image tag."""
        return self._cached(
            eid, run, "images", {located.image_tag: located.fingerprint},
            lambda tags: self._read_images(ctx, eid, run, tags), _blob_keys_by_step,
        )[located.image_tag]

    def known_blob_keys(self, eid, run, layer, kind, step):
        """Blob keys of a grid's step read earlier, or None: no data provider call.

        Blob keys name (run, tag, step, index), so keys read earlier stay right;
        a step dropped since makes ``read_blob`` fail, which the caller handles.
        """
        with self._lock:
            recent = self._located.get((eid, run, layer, kind))
            if recent is None:
                return None
            cached = self._tag_cache.get((eid, run, "images", recent[1].image_tag))
        return None if cached is None else cached[1].get(step)

    def record_values(self, ctx, eid, run, located):
        """``{step: raw record value}`` of a located grid, cached up to :data:`RECORD_CACHE_BYTES`."""
        key = (eid, run, located.record_tag)
        with self._lock:
            cached = self._records.get(key)
            if cached is not None and cached[0] == located.fingerprint:
                self._records.move_to_end(key)
                return cached[1]
        data = self._tensor_reader(ctx, eid, run, READ_ALL)([located.record_tag]).get(located.record_tag, ())
        # In step order: of two events at one step, the later wins.
        values = {datum.step: datum.numpy for datum in data}
        size = sum(_value_size(v) for v in values.values())
        with self._lock:
            old = self._records.pop(key, None)
            if old is not None:
                self._records_bytes -= old[2]
            self._records[key] = (located.fingerprint, values, size)
            self._records_bytes += size
            while self._records_bytes > RECORD_CACHE_BYTES and len(self._records) > 1:
                _, (_, _, dropped) = self._records.popitem(last=False)
                self._records_bytes -= dropped
        return values

    def read_blob(self, ctx, blob_key):
        """The bytes of one blob (a PNG)."""
        return self._provider.read_blob(ctx, blob_key=blob_key)

    # -- scalars -----------------------------------------------------------

    def layer_scalars(self, ctx, eid, run):
        """``{layer: {"<group>/<metric>": [[step, value or None], ...]}}`` of a run's drift and health."""
        listing = self._provider.list_scalars(
            ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN_NAME, run_tag_filter=_run_filter(run)
        ).get(run, {})
        wanted = {tag: parsed for tag in listing if (parsed := names.parse_scalar_tag(tag)) is not None}
        if not wanted:
            return {}
        data = self._provider.read_scalars(
            ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN_NAME, downsample=READ_ALL,
            run_tag_filter=_run_filter(run, list(wanted)),
        ).get(run, {})
        layers = {}
        for tag in sorted(wanted):
            layer, name = wanted[tag]
            layers.setdefault(layer, {})[name] = [[d.step, d.value] for d in data.get(tag, ())]
        return layers

    # -- plumbing ----------------------------------------------------------

    def _tensor_reader(self, ctx, eid, run, downsample):
        return lambda tags: self._provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, downsample=downsample,
            run_tag_filter=_run_filter(run, tags),
        ).get(run, {})

    def _read_images(self, ctx, eid, run, tags):
        """``{tag: [BlobSequenceDatum, ...]}``: blob references only, no PNG bytes."""
        return self._provider.read_blob_sequences(
            ctx, experiment_id=eid, plugin_name=metadata.IMAGES_PLUGIN_NAME, downsample=READ_ALL,
            run_tag_filter=_run_filter(run, tags),
        ).get(run, {})

    def _cached(self, eid, run, namespace, fingerprints, read, build):
        """``{tag: build(tag, data)}``, reading only tags whose fingerprint changed.

        Args:
            namespace: what is cached (the same tag can be cached twice).
            fingerprints: ``{tag: fingerprint}`` as listed now.
            read: ``read(tags) -> {tag: [datum, ...]}``, one provider call.
            build: ``build(tag, data) -> value`` kept for the tag.
        """
        result, stale = {}, []
        with self._lock:
            for tag, tag_fingerprint in fingerprints.items():
                cached = self._tag_cache.get((eid, run, namespace, tag))
                if cached is not None and cached[0] == tag_fingerprint:
                    result[tag] = cached[1]
                else:
                    stale.append(tag)
        if stale:
            data = read(stale)
            fresh = {tag: build(tag, data.get(tag, ())) for tag in stale}
            with self._lock:
                for tag, value in fresh.items():
                    self._tag_cache[(eid, run, namespace, tag)] = (fingerprints[tag], value)
            result.update(fresh)
        return result
