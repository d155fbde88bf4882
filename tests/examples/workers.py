"""Worker processes of the distributed data-set pass (``python -m tests.examples.workers MODE INDEX PORT LOGDIR``).

Each worker joins a two-process JAX run or a two-rank torch group, scans
the same data (every process takes every other batch; the results are
merged) and logs it; it prints one JSON line: what its pass kept and how
many records it wrote (only the chief writes).
"""

import json
import sys


def summary(result):
    """What a pass kept, comparable across processes: top-k indices and positions, counts, sums."""
    import numpy as np

    return {name: {"indices": layer.top.indices.tolist(), "positions": layer.top.positions.tolist(),
                   "counts": layer.counts.tolist(), "sums": np.round(layer.stats.sums, 3).tolist(),
                   "crops": int(layer.crops.astype(np.int64).sum()), "pictures": result.pictures}
            for name, layer in result.layers.items()}


def scan(logdir):
    from tb_featureviz import FeatureVizLogger
    from tb_featureviz.examples.scan import ExampleScan
    from tb_featureviz.model.layers import select_layers
    from tests.examples.test_scan import pictures_16, small_cnn

    model = small_cnn()  # seeded: the same weights in every process
    data = pictures_16(60)
    result = ExampleScan(model, select_layers(model, ["c1", "c2"]).layers, k=4, max_channels=2).run(data, batch_size=8)
    with FeatureVizLogger(logdir, max_channels=2) as logger:
        records = logger.log_examples(model, data, 0, layers=["c1", "c2"], k=4)
    return {"summary": summary(result), "records": len(records)}


def jax_worker(index, port, logdir):
    import jax

    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=int(index))
    try:
        return {**scan(logdir), "rank": jax.process_index()}
    finally:
        jax.distributed.shutdown()


def torch_worker(rank, port, logdir):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=int(rank), world_size=2)
    try:
        result = {**scan(logdir), "rank": dist.get_rank()}
        dist.barrier()
        return result
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    mode, *arguments = sys.argv[1:]
    worker = {"jax": jax_worker, "torch": torch_worker}[mode]
    print(json.dumps(worker(*arguments)), flush=True)
