"""Event-file write throughput: our writer, TensorFlow's and TensorBoard's pure-Python one.

Issue 10's target: :class:`tb_featureviz.writing.eventfile.EventFileWriter` writes at
least 300 MB/s. Each round writes ``--mb`` MB of random 1 MiB records into a
fresh file in a temporary directory, flushes and closes it (closing is part of
the cost), then deletes it; every figure is the median of ``--rounds`` rounds.
In the same run the same records go through ``tf.io.TFRecordWriter`` (the
writer this project used before; skipped where TensorFlow is missing) and,
on ``--slow-mb`` MB only, through TensorBoard's pure-Python
``RecordWriter``. A second table does the same with 1 KiB records, the size
of a step's small summaries, where per-record overhead dominates.

    python benchmarks/bench_writer.py                 # 200 MB x 5 rounds
    python benchmarks/bench_writer.py --mb 500 --rounds 7 --json out.json
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

TARGET_MB_S = 300.0
MB = 1e6


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _ours(directory):
    from tb_featureviz.writing.eventfile import EventFileWriter

    writer = EventFileWriter(directory)
    return writer.write, writer.close, lambda: writer.path


def _tensorflow(directory):
    import tensorflow as tf

    path = os.path.join(directory, "tf.tfrecord")
    writer = tf.io.TFRecordWriter(path)
    return writer.write, writer.close, lambda: path


def _tensorboard_python(directory):
    from tensorboard.summary.writer.record_writer import RecordWriter

    path = os.path.join(directory, "tb.tfrecord")
    writer = RecordWriter(open(path, "wb"))
    return writer.write, writer.close, lambda: path


def _round(make_writer, records, count):
    """Seconds to write ``count`` records (cycling ``records``), flush and close."""
    with tempfile.TemporaryDirectory() as directory:
        write, close, path = make_writer(directory)
        start = time.perf_counter()
        for i in range(count):
            write(records[i % len(records)])
        close()
        elapsed = time.perf_counter() - start
        size = os.path.getsize(path())
    return elapsed, size


def _measure(make_writer, records, total_bytes, rounds):
    count = max(1, round(total_bytes / len(records[0])))
    _round(make_writer, records, min(count, len(records)))  # warm-up: imports, first file
    times = []
    for _ in range(rounds):
        elapsed, size = _round(make_writer, records, count)
        times.append(elapsed)
    payload = count * len(records[0])
    median = statistics.median(times)
    return {
        "records": count,
        "record_bytes": len(records[0]),
        "payload_mb": round(payload / MB, 1),
        "file_bytes": size,
        "median_s": round(median, 4),
        "mb_per_s": round(payload / MB / median, 1),
        "us_per_record": round(median / count * 1e6, 2),
        "rounds_mb_per_s": [round(payload / MB / t, 1) for t in times],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="MB written per round (fast writers)")
    parser.add_argument("--slow-mb", type=float, default=4.0, help="MB per round for the pure-Python writer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from tb_featureviz.writing import eventfile

    try:
        import tensorflow  # noqa: F401

        have_tf = True
    except ImportError:
        have_tf = False

    # 32 distinct records, so the CRC does not run on one cache-resident buffer.
    big = [os.urandom(1 << 20) for _ in range(32)]
    small = [os.urandom(1 << 10) for _ in range(1024)]
    writers = [("EventFileWriter (tb_featureviz)", _ours, 1.0)]
    if have_tf:
        writers.append(("tf.io.TFRecordWriter", _tensorflow, 1.0))
    writers.append(("TensorBoard RecordWriter (pure Python)", _tensorboard_python, args.slow_mb / args.mb))

    machine = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "google-crc32c": f"{_version('google-crc32c')} ({eventfile.CRC32C_IMPLEMENTATION} implementation)",
        "tensorflow": _version("tensorflow"),
        "tensorboard": _version("tensorboard"),
        "temp dir": tempfile.gettempdir(),
    }
    for key, value in machine.items():
        print(f"{key:>14}: {value}")

    figures = {"machine": machine, "target_mb_per_s": TARGET_MB_S, "large": {}, "small": {}}
    for table, records, total in (("large", big, args.mb * MB), ("small", small, args.mb * MB / 10)):
        size = "1 MiB" if table == "large" else "1 KiB"
        print(f"\n{size} records, median of {args.rounds} rounds")
        print(f"{'writer':<40} {'MB/round':>9} {'MB/s':>9} {'us/record':>10}")
        for name, make_writer, share in writers:
            result = _measure(make_writer, records, total * share, args.rounds)
            figures[table][name] = result
            print(f"{name:<40} {result['payload_mb']:>9} {result['mb_per_s']:>9} {result['us_per_record']:>10}")

    ours = figures["large"]["EventFileWriter (tb_featureviz)"]["mb_per_s"]
    verdict = "PASS" if ours >= TARGET_MB_S else "FAIL"
    figures["verdict"] = verdict
    print(f"\nverdict: {verdict} (EventFileWriter {ours} MB/s >= {TARGET_MB_S:g} MB/s on 1 MiB records)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
