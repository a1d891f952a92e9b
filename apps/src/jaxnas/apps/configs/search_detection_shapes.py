"""A short detection search on the built-in shapes detection dataset on a CPU.

    jaxnas-search detection --config search_detection_shapes --workdir /tmp/jaxnas_det_search

``detection_micro`` (searched kernels, expansions, skips and widths, C4 and C5 included) + SSDLite
at 128 px on ``jaxnas_shapes_detection`` (prepared on first use, no download): 200 steps of
2 architectures x 16 images, reward = mAP of a 16-image validation batch, cost = MACs of backbone
+ head (millions; the space spans about 12-46 M at 128 px) unless ``--config.latency_table`` is given. The rate of the weights is the
paper's 4 per 1024 images with a gradient-norm clip of 10; from scratch, SSDLite needs a few
thousand steps on this dataset before its mAP is far from 0 (benchmarks/detection_small.py), so
this run shows the machinery, not a converged search.

Remat is off here: at 128 px x 16 images the activations are small, and the rematerialising
backward makes the backbone gradient ~9x larger in HLO (173k vs 18k lines). Measured (2026-11-28,
the shared 2-core CPU, load 1.7-2.7) with ``JAX_LOG_COMPILES=1 jaxnas-search detection --config
search_detection_shapes --config.steps=1 --config.eval_batches=1 --config.plots=False``:
remat off: trace 12.4 s + compile 53.1 s, the 1-step run 77 s; remat on: 78.8 s + 143.1 s, 244 s.
The 200 steps themselves were not run here.
"""

from jaxnas.apps.detection import DetectionDataConfig, DetectionSearchConfig, SGDConfig


def get_config():
    return DetectionSearchConfig(
        data=DetectionDataConfig(dataset="jaxnas_shapes_detection", cache=True, resolution=128, max_boxes=20,
                                 crop_probability=0.0),
        optim=SGDConfig(warmup_fraction=0.05, clip_norm=10.0),
        space="detection_micro", steps=200, per_device_batch=16, archs_per_step=2,
        target=25.0, log_every=10, checkpoint_every=50, eval_batches=4, remat=False)
