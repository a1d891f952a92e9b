"""The main job: a short search on the built-in dataset on a CPU, a few minutes.

    jaxnas-search classification --config search_shapes --workdir /tmp/jaxnas_search

Cost = MACs (millions) unless ``--config.latency_table`` is given; the target is
the midpoint of the space's MAC range at this resolution.
"""


from jaxnas.apps.classification import DataConfig, OptimConfig, SearchConfig


def get_config():
    return SearchConfig(
        data=DataConfig(dataset="jaxnas_shapes", cache=True, resolution=48, min_crop_area=0.35),
        optim=OptimConfig(lr_per_256=0.165 * 4, warmup_fraction=0.05),
        space="proxylessnas_micro", steps=300, per_device_batch=32, archs_per_step=2,
        controller_lr_per_256=3e-4 * 40,     # short search: the controller must move within 300 steps
        target=4.0, log_every=20, checkpoint_every=100, eval_batches=8)
