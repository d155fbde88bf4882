"""Read back what the logger wrote, through TensorBoard's own event loader."""

import glob
import os

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.util import tensor_util


def read_events(run_dir):
    """Every summary value in ``run_dir``: list of (step, tag, plugin_name, value proto)."""
    found = []
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        for event in event_file_loader.EventFileLoader(path).Load():
            for value in event.summary.value:
                found.append((event.step, value.tag, value.metadata.plugin_data.plugin_name, value))
    return found


def tensors_by_tag(run_dir):
    """{tag: [(step, numpy value), ...]} for every summary in ``run_dir``."""
    out = {}
    for step, tag, _plugin, value in read_events(run_dir):
        out.setdefault(tag, []).append((step, tensor_util.make_ndarray(value.tensor)))
    return out


def metadata_by_tag(run_dir):
    """{tag: SummaryMetadata of the tag's first event}."""
    out = {}
    for _step, tag, _plugin, value in read_events(run_dir):
        out.setdefault(tag, value.metadata)
    return out
