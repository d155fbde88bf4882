"""One streaming pass over a data set: per channel the pictures that drive it most, and the layers' statistics.

:class:`ExampleScan` runs the model once per batch, compiled
(:func:`tb_featureviz.model.compiled.compile_inference`), keeping of every
chosen layer only small reductions (:mod:`tb_featureviz.examples.reductions`):
each channel's top k pictures by their spatial maximum
(:class:`tb_featureviz.examples.topk.TopK`), per-channel statistics and a
histogram. Memory is ``O(layers x channels x k)`` whatever the data set's
size. For the channels drawn (the first ``max_channels``) the crops of the
kept units' receptive fields are cut from their pictures while those are
still in memory (the last few batches), so the data is read once.

Under distributed training every process scans its share of the batches
and the results are merged (:func:`tb_featureviz.model.distribution.gather`):
the same result as one process.

Example:
    >>> scan = ExampleScan(model, select_layers(model, "block*_conv1").layers, k=9)  # doctest: +SKIP
    >>> result = scan.run(pictures)  # doctest: +SKIP
    >>> result.layers["xception/block1_conv1"].top.entries(0)[:1]  # doctest: +SKIP
    [(417, 11234, 3.27)]
"""

import collections
import dataclasses

import numpy as np

from tb_featureviz import arguments
from tb_featureviz.examples import data as data_lib
from tb_featureviz.examples import reductions
from tb_featureviz.examples.receptive import receptive_fields
from tb_featureviz.examples.topk import TopK
from tb_featureviz.model import activations, distribution, probes
from tb_featureviz.model.compiled import compile_inference

#: Side of a crop as drawn (pixels).
CROP_SIZE = 48

#: Pictures of the first batch that set each layer's histogram range.
RANGE_PICTURES = 4

#: Batches whose pictures are kept for crops still to cut (see :class:`_LateCrops`).
CROP_WINDOW = 4

#: Longest side of the kept copies of the pictures behind the drawn examples.
THUMBNAIL_SIZE = 128


@dataclasses.dataclass
class LayerScan:
    """What the pass kept of one layer (see :class:`ExampleScan`).

    Attributes:
        info: the layer's :class:`tb_featureviz.model.layers.LayerInfo`.
        top: :class:`tb_featureviz.examples.topk.TopK` of every channel.
        stats: :class:`tb_featureviz.examples.reductions.LayerStats`.
        counts, lo, hi: the histogram's bucket counts and inner range.
        field: the layer's :class:`tb_featureviz.examples.receptive.Field`.
        crops: uint8 ``[k, drawn channels, CROP_SIZE, CROP_SIZE, 3]``: the kept units' crops.
        picture_size: ``(height, width)`` of the pictures the boxes are in.
    """

    info: object
    top: TopK
    stats: object
    counts: np.ndarray
    lo: float
    hi: float
    field: object
    crops: np.ndarray
    picture_size: tuple = (0, 0)

    def boxes(self, channel):
        """``[{"index", "box", "value"}]`` of ``channel``, strongest first (box: top, left, bottom, right)."""
        return [{"index": index, "box": self.field.box(position, *self.picture_size), "value": value}
                for index, position, value in self.top.entries(channel)]


@dataclasses.dataclass
class ScanResult:
    """The pass's outcome.

    Attributes:
        layers: :class:`LayerScan` by qualified layer name.
        pictures: pictures scanned; picture_size: their ``(height, width)``.
        thumbnails: ``{index: uint8 [h, w, 3]}`` of every picture behind a
            drawn example (at most :data:`THUMBNAIL_SIZE` pixels a side).
    """

    layers: dict
    pictures: int
    picture_size: tuple
    thumbnails: dict = dataclasses.field(default_factory=dict)


def thumbnail(picture, size=THUMBNAIL_SIZE):
    """``picture`` scaled so its longest side is at most ``size`` (uint8 RGB)."""
    from PIL import Image

    height, width = picture.shape[:2]
    scale = min(1.0, size / max(height, width))
    if scale == 1.0:
        return np.array(picture[..., :3])  # a copy: a view would keep the whole batch alive
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(picture[..., :3])).resize(shape, Image.BILINEAR))


def crop(picture, box, size=CROP_SIZE):
    """The box of ``picture`` (uint8 ``[H, W, 3]``) scaled into a ``size`` square, centred on grey.

    The aspect ratio is kept (a box clipped at a border is narrower); small
    boxes are enlarged without smoothing, so pixels stay pixels.

    Example:
        >>> crop(np.full((8, 8, 3), 200, np.uint8), [0, 0, 2, 4], size=8)[:, :, 0].tolist()[1:3]
        [[128, 128, 128, 128, 128, 128, 128, 128], [200, 200, 200, 200, 200, 200, 200, 200]]
    """
    from PIL import Image

    top, left, bottom, right = box
    part = picture[top:bottom, left:right]
    out = np.full((size, size, 3), 128, np.uint8)
    height, width = part.shape[:2]
    if height == 0 or width == 0:
        return out
    scale = size / max(height, width)
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    resample = Image.NEAREST if scale >= 2 else Image.BILINEAR
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(part[..., :3])).resize((new_width, new_height), resample))
    top_pad, left_pad = (size - new_height) // 2, (size - new_width) // 2
    out[top_pad:top_pad + new_height, left_pad:left_pad + new_width] = resized
    return out


class ExampleScan:
    """A data-set pass over some layers of one model; reusable (the compiled pass is kept).

    Args:
        model: a functional or Sequential model with one image input.
        layer_infos: :class:`tb_featureviz.model.layers.LayerInfo` of layers with a spatial output.
        k: examples kept per channel.
        preprocess: applied to each float32 batch of pictures before the model.
        max_channels: channels per layer whose crops are kept and drawn (the first ones; None: all).
        owner: who asks, for error texts.
    """

    def __init__(self, model, layer_infos, *, k=9, preprocess=None, max_channels=None, owner="log_examples"):
        self.owner = owner
        self.k = arguments.check_count(owner, "k", k)
        self.max_channels = arguments.check_count(owner, "max_channels", max_channels, allow_none=True)
        self.model = model
        self.infos = tuple(layer_infos)
        self.preprocess = preprocess
        self._format = activations.model_data_format(model, self.infos)
        extractor = activations.ActivationExtractor(model, self.infos).keras_model
        first = [activations.layer_data_format(info.layer, self._format) == "channels_first" for info in self.infos]

        def reducing(reduce):
            def reduce_all(m, x, los, his):
                outputs = m(x, training=False)
                outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
                return [part for i, out in enumerate(outputs) for part in reduce(out, los[i], his[i], first[i])]
            return reduce_all

        # The pass for finite activations (fast), and the one for any values, compiled when first needed.
        self._pass = compile_inference(extractor, reducing(reductions.reduce_finite_layer))
        self._general = None
        self._extractor, self._reducing = extractor, reducing(reductions.reduce_layer)
        self._fields = {}

    def _load(self, pictures):
        return probes.load_probe(pictures, tuple(self.model.inputs[0].shape), preprocess=self.preprocess,
                                 data_format=self._format)

    def _fields_for(self, height, width):
        key = (height, width)
        if key not in self._fields:
            self._fields[key] = receptive_fields(self.model, height, width)
        return self._fields[key]

    def _reduce(self, batch, los, his):
        los, his = np.asarray(los, np.float32), np.asarray(his, np.float32)
        layers = _per_layer(self._pass(batch, los, his))
        if not all(np.isfinite(layer.sums).all() for layer in layers):
            # A non-finite value (or sums past float32) somewhere: the pass that masks them, on this batch.
            if self._general is None:
                self._general = compile_inference(self._extractor, self._reducing)
            layers = _per_layer(self._general(batch, los, his))
        return layers

    def run(self, data, *, max_pictures=None, progress=None, batch_size=data_lib.BATCH_SIZE):
        """Scan ``data`` (see :mod:`tb_featureviz.examples.data`); returns a :class:`ScanResult`.

        Args:
            max_pictures: stop after this many pictures.
            progress: optional ``progress(pictures done, total or None)`` after each batch.

        Raises:
            ValueError, TypeError: data of the wrong kind, pictures that don't fit the model.
        """
        max_pictures = arguments.check_count(self.owner, "max_pictures", max_pictures, allow_none=True)
        rank, world = distribution.process_shard()
        total = data_lib.length(data, max_pictures)
        stream = data_lib.batches(data, batch_size, max_pictures)  # read once: a generator works too
        layers, size, los, his = None, None, None, None
        thumbnails = {}
        crops = _LateCrops()
        done = 0
        for number, (start, pictures) in enumerate(stream):
            if los is None:
                # Every process takes the histogram ranges from the same first pictures, so counts add up.
                sample = self._load(pictures[:RANGE_PICTURES])
                ranges = [reductions.bucket_range(parts.lows, parts.highs) for parts in self._reduce(
                    sample.batch, np.zeros(len(self.infos)), np.ones(len(self.infos)))]
                los, his = [r[0] for r in ranges], [r[1] for r in ranges]
            if number % world != rank:
                continue  # another process's batch
            probe = self._load(pictures)
            if size is None:
                size = probe.display.shape[1:3]
                fields = self._fields_for(*size)
                layers = self._start(fields, los, his, size)
            elif probe.display.shape[1:3] != size:
                raise ValueError(f"{self.owner} expects pictures of one size. Received: {size} and then "
                                 f"{tuple(probe.display.shape[1:3])} (batch from picture {start})")
            indices = np.arange(start, start + len(pictures))
            for scan, parts in zip(layers.values(), self._reduce(probe.batch, los, his)):
                self._add(scan, parts, indices, crops)
            crops.keep(layers.values(), start, probe.display)
            _keep_thumbnails(thumbnails, layers.values(), indices, probe.display)
            done += len(pictures)
            if progress is not None:
                progress(done, total)
        if los is None:
            raise ValueError(f"{self.owner} expects at least one picture. Received: an empty data set")
        crops.finish(layers.values() if layers else ())
        result = ScanResult(layers or {}, done, tuple(size) if size is not None else (0, 0), thumbnails)
        return self._merged(result, world)

    def _start(self, fields, los, his, picture_size):
        layers = {}
        for info, lo, hi in zip(self.infos, los, his):
            shape = info.layer.output.shape
            channels = int(shape[1] if activations.layer_data_format(info.layer, self._format) == "channels_first"
                           else shape[-1])
            drawn = channels if self.max_channels is None else min(channels, self.max_channels)
            layers[info.name] = LayerScan(info, TopK(channels, self.k), reductions.LayerStats(channels),
                                          np.zeros(reductions.BUCKETS + 2), lo, hi, fields[info.name],
                                          np.full((self.k, drawn, CROP_SIZE, CROP_SIZE, 3), 128, np.uint8),
                                          tuple(picture_size))
        return layers

    def _add(self, scan, parts, indices, crops):
        scan.stats.add(parts.sums, parts.zeros, parts.nonfinite, parts.lows, parts.highs,
                       values=len(indices) * scan.field.height * scan.field.width)
        scan.counts += parts.counts
        order = scan.top.update(parts.maxima, parts.positions, indices)
        crops.reorder(scan, order)

    def _merged(self, result, world):
        if world == 1:
            return result
        everyone = [r for r in distribution.gather(result) if r.layers]  # a process may have had no batch
        if not everyone:
            return result
        merged = everyone[0]
        for other in everyone[1:]:
            merged.pictures += other.pictures
            merged.thumbnails.update(other.thumbnails)
            for name, scan in merged.layers.items():
                theirs = other.layers[name]
                scan.stats.merge(theirs.stats)
                scan.counts += theirs.counts
                order = scan.top.merge(theirs.top)
                scan.crops = np.take_along_axis(np.concatenate([scan.crops, theirs.crops]),
                                                order[:, :scan.crops.shape[1], None, None, None], 0)
        referenced = _referenced(merged.layers.values())
        merged.thumbnails = {index: picture for index, picture in merged.thumbnails.items() if index in referenced}
        return merged


class _LateCrops:
    """The crops of the drawn examples, cut when their picture leaves a window of the last batches.

    A picture enters a channel's top k, and most leave it again within a
    few batches; cutting each crop as its picture enters would cut them all.
    This keeps the last :data:`CROP_WINDOW` batches' pictures (a bounded
    amount, whatever the data set's size) and marks the slots that wait for
    a crop; when a batch leaves the window, the crops of the slots that
    still hold one of its pictures are cut, each (picture, box) once. The
    crops are those :func:`crop` cuts as the picture enters: the same
    pixels, fewer cuts.
    """

    def __init__(self):
        self.batches = collections.deque()  # (first index, display) of the batches in the window
        self.waiting = {}  # id(LayerScan) -> bool [k, drawn]: slots whose crop is not cut yet

    def reorder(self, scan, order):
        """Move ``scan``'s crops to the top k's new ``order`` (as :meth:`TopK.update` returns it)."""
        k, drawn = scan.top.k, scan.crops.shape[1]
        waiting = self.waiting.setdefault(id(scan), np.zeros((k, drawn), bool))
        order = order[:, :drawn]
        moved = np.flatnonzero((order != np.arange(k)[:, None]).any(axis=0))  # most columns keep their slots
        if moved.size:
            rows = order[:, moved]
            source = (np.minimum(rows, k - 1), moved[None, :])
            scan.crops[:, moved] = scan.crops[source]
            waiting[:, moved] = (rows >= k) | waiting[source]  # a picture of this batch: to be cut

    def keep(self, layers, start, display):
        """Add the batch that starts at picture ``start``; cut the crops of the batch that leaves the window."""
        self.batches.append((start, display))
        if len(self.batches) > CROP_WINDOW:
            self._cut(layers, *self.batches.popleft())

    def finish(self, layers):
        """Cut every crop still waiting."""
        while self.batches:
            self._cut(layers, *self.batches.popleft())

    def _cut(self, layers, start, display):
        stop = start + len(display)
        cut = {}  # (picture index, box) -> crop: deep layers' fields cover the whole picture in many channels
        for scan in layers:
            waiting = self.waiting.get(id(scan))
            if waiting is None or not waiting.any():
                continue
            indices = scan.top.indices[:, :waiting.shape[1]]
            slots, channels = np.nonzero(waiting & (indices >= start) & (indices < stop))
            for slot, channel in zip(slots, channels):
                index = int(indices[slot, channel])
                box = scan.field.box(scan.top.positions[slot, channel], *display.shape[1:3])
                key = (index, tuple(box))
                if key not in cut:
                    cut[key] = crop(display[index - start], box)
                scan.crops[slot, channel] = cut[key]
            waiting[slots, channels] = False


def _per_layer(parts):
    """The compiled pass's flat list of outputs as one :data:`reductions.Reductions` per layer."""
    size = len(reductions.Reductions._fields)
    return [reductions.Reductions(*parts[start:start + size]) for start in range(0, len(parts), size)]


def _referenced(layers):
    """Picture indices behind the drawn examples of ``layers``."""
    referenced = set()
    for scan in layers:
        referenced.update(int(i) for i in np.unique(scan.top.indices[:, :scan.crops.shape[1]]))
    referenced.discard(-1)
    return referenced


def _keep_thumbnails(thumbnails, layers, indices, display):
    """Add this batch's pictures that drawn examples now point to; forget those no longer pointed to."""
    referenced = _referenced(layers)
    for row, index in enumerate(indices):
        if int(index) in referenced:
            thumbnails[int(index)] = thumbnail(display[row])
    for index in [i for i in thumbnails if i not in referenced]:
        del thumbnails[index]


class ScanCache:
    """Scans by (model, layers, k, preprocessing, channel cap): the compiled pass is kept between passes."""

    def __init__(self):
        self._scans = {}

    def get(self, model, layer_infos, *, k, preprocess, max_channels, owner):
        """The :class:`ExampleScan` of these settings (made on first use)."""
        key = (id(model), tuple(info.name for info in layer_infos), k, id(preprocess), max_channels)
        scan = self._scans.get(key)
        if scan is None or scan.model is not model:
            scan = self._scans[key] = ExampleScan(model, layer_infos, k=k, preprocess=preprocess,
                                                  max_channels=max_channels, owner=owner)
        return scan
