"""Scores a synthetic detector with the stand-alone detection evaluation; prints the metrics.

    python detection_eval_script.py

Multi-process: set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID. Prints
``METRICS {...}`` (what ``coco_metrics`` reports on this process) and ``EXPECTED {...}`` (the
whole split scored in one place, without the mesh).

The detector reads each image's ground truth from its pixels and finds every box on the images
of the first half of each global batch (process 0's rows with two processes), none elsewhere, so
a score of one process's share differs from the whole split's.
"""

import json
import sys

R, G, N, M = 16, 4, 10, 3  # image side, global batch, images (the last batch is padded), boxes per image


def _split():
    """Global batches of the synthetic split: ``image`` encodes the boxes, ``hit`` and a mask."""
    import numpy as np
    rng = np.random.default_rng(0)
    batches = []
    for k in range(-(-N // G)):
        rows = np.arange(k * G, (k + 1) * G)
        real = rows < N
        lo = rng.uniform(0.0, 0.3, (G, M, 2))
        boxes = np.concatenate([lo, lo + rng.uniform(0.1, 0.2, (G, M, 2))], -1).astype(np.float32)
        labels = rng.integers(0, 3, (G, M)).astype(np.int32)
        valid = (np.arange(M)[None] < rng.integers(1, M + 1, (G, 1))) & real[:, None]
        image = np.zeros((G, R, R, 3), np.float32)
        image[:, :M, 0:4, 0] = boxes
        image[:, :M, 4, 0] = labels
        image[:, :M, 5, 0] = valid
        image[:, 0, 6, 0] = np.arange(G) < G // 2  # found on the first half of the batch
        batches.append({"image": image * real[:, None, None, None], "boxes": boxes * valid[..., None],
                        "labels": labels * valid, "valid": valid, "crowd": np.zeros((G, M), bool),
                        "mask": real.astype(np.float32)})
    return batches


def detect(images):
    import jax.numpy as jnp
    from jaxnas.detection import Detections
    valid = images[:, :M, 5, 0] > 0
    hit = images[:, 0, 6, 0][:, None, None] > 0
    boxes = jnp.where(hit, images[:, :M, 0:4, 0], jnp.array([0.8, 0.8, 0.9, 0.9]))  # misses: far from every box
    return Detections(boxes, jnp.where(valid, 0.9, 0.0), images[:, :M, 4, 0].astype(jnp.int32), valid)


def main():
    from jaxnas.apps._distributed import initialize_distributed
    initialize_distributed()
    import jax
    import numpy as np
    from jaxnas.apps import _distributed as dist
    from jaxnas.apps.detection._evaluate import METRICS, coco_metrics
    from jaxnas.detection import CocoEvaluator

    pi, pc = jax.process_index(), jax.process_count()
    local = G // pc
    batches = _split()
    mine = [{k: v[pi * local:(pi + 1) * local] for k, v in b.items()} for b in batches]
    metrics = coco_metrics(jax.jit(detect), mine, dist.make_mesh(), 3, R)
    evaluator = CocoEvaluator(3)
    for b in batches:
        keep = b["mask"] > 0
        d = [np.asarray(x)[keep] for x in detect(b["image"])]
        evaluator.add(*d, b["boxes"][keep], b["labels"][keep], b["valid"][keep], gt_crowd=b["crowd"][keep],
                      image_sizes=np.full((int(keep.sum()), 2), R))
    stats = evaluator.evaluate()
    print("METRICS " + json.dumps(metrics))
    print("EXPECTED " + json.dumps({name: float(stats[key]) for key, name in METRICS.items()}))
    print(f"PROCESSES {pc}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
