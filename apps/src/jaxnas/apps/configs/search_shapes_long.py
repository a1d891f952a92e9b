"""The small-scale search setting: TuNAS vs random search on the built-in dataset on a CPU.

    jaxnas-search classification --config search_shapes_long --workdir W \
        [--config.latency_table=T.json --config.target=MS]

2,000 steps of one architecture x 64 images at 32 x 32 px in ``proxylessnas_micro`` (about
12 minutes on one core), reward on 256 validation images. The benchmarks
``small_scale_tunas_vs_random.py`` and ``ranking_correlation.py`` use it; ``search_shapes`` is
the same recipe shortened to a few minutes.

From the paper (docs/fidelity.md): the absolute reward with beta -0.1, the controller's Adam
(beta1 0, beta2 0.999) with its rate at 0 for the first 25% of the steps and then growing
exponentially to 10x, op and filter warmup over the first 25%, RMSProp as the reference code
runs it, cosine decay of the weights' rate, label smoothing 0.1, L2 4e-5.

Scaled, and why (the paper searched 27,050 steps of 4,096 images; this is 2,000 steps of 64):
- one architecture per step, as the paper's one architecture per core, so each sampled
  architecture costs one core's step;
- the weights' rate is 0.66 per 256 images (4x the paper's 0.165): with 1/850 of the paper's
  images the shared weights must learn faster. Measured at 1,000 steps (seed 0, target 1.5 M
  MACs): reward accuracy at the end 20.7% at 0.66 per 256 against 18.5% at 0.165; 1.32 per 256
  was slower in the first 200 steps (10.4% against 13.0%);
- the controller's rate is 0.08 per 256 images (the paper: 3e-4 per 256 at 4,096 images a step,
  for 20,000 controller steps): with 1,500 controller steps it has to move faster, but slowly
  enough that the policy is still broad at the half-way point. At 0.05 per 256 and 1,000 steps
  the entropy fell from 20.3 only to 8.5 (still broad at the end), at 0.4 per 256 and 150 steps
  (``search_shapes`` before) it had collapsed within 100 controller steps.

Measured with it (2026-12-04, 2-core CPU, LiteRT latency target 0.2520 ms, seeds 0-2): the
controller's entropy is 20.3 at step 500, 13.7-14.9 at 1,000, 2.2-4.3 at 1,500 and 0.5-1.0 at
2,000; reward accuracy ends at 55-69%; the found networks lie within 1.8% of the target and train
stand-alone to 59.6%, 73.2% and 60.0% against 53.9% +/- 7.3% for 10 latency-matched random ones
(``benchmarks/small_scale_tunas_vs_random.py``); the seed-0 supernet ranks 20 networks with
Kendall tau 0.56 (``benchmarks/ranking_correlation.py``). Figures: ``apps/README.md``.
"""

from jaxnas.apps.classification import DataConfig, OptimConfig, SearchConfig


def get_config():
    return SearchConfig(
        data=DataConfig(dataset="jaxnas_shapes", cache=True, resolution=32, min_crop_area=0.35),
        optim=OptimConfig(lr_per_256=0.66, warmup_fraction=0.05),
        space="proxylessnas_micro", steps=2000, per_device_batch=64, archs_per_step=1,
        controller_lr_per_256=0.08, target=1.5, log_every=50, checkpoint_every=500, eval_batches=4,
        remat=False)
