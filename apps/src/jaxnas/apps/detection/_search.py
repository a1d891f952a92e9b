"""``search(config, workdir)``: one TuNAS search for an SSDLite detector's backbone.

The detection parts (supernet endpoints + SSDLite head with the focal/smooth-L1 loss, reward =
jittable COCO mAP@[.5:.95] of the validation batch, SGD, cost of backbone + head) run on the same
driver as the classification search (``jaxnas.apps._search_driver.run_search``), so the outputs,
checkpoints, resume, metrics, plots and scale-out are the same: ``config.json``,
``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``, the PNG plots, ``arch.txt``,
``arch_blocks.txt``, ``arch.json`` and ``result.json`` (cost of backbone + head vs target,
params, MACs, C4/C5 widths, one-shot mAP of the argmax with the shared weights).
"""

from __future__ import annotations

from collections.abc import Callable

from jaxnas.apps._cost import search_cost
from jaxnas.apps._search_driver import (
    SearchSetup,
    make_controller,
    run_search,
    search_layout,
    search_streams,
)
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.detection._configs import DetectionSearchConfig
from jaxnas.apps.detection._data import DetectionData
from jaxnas.apps.detection._recipe import (
    detection_facts,
    preprocess_of,
    sgd_optimizer,
    ssdlite_head,
)
from jaxnas.apps.detection._task import BackboneFns, detection_task, supernet_backbone


def search(config: DetectionSearchConfig, workdir: str, *, resume: bool = False, progress: bool = True,
           backbone: BackboneFns | None = None, on_step: Callable[[int], None] | None = None) -> dict:
    """Runs (or resumes) a detection search; returns the result dict also written to ``result.json``.

    Args:
      config: a :class:`DetectionSearchConfig`.
      workdir: output folder.
      resume: continue from the last checkpoint in ``workdir`` (bit-exact with an uninterrupted run).
      progress: show a progress bar.
      backbone: replaces the jaxnas-supernet backbone (tests, custom networks).
      on_step: called with the step number after every step (tests, monitoring).

    Raises:
      ValueError: bad config, dataset, space without C4/C5, latency table, target, or a work
        dir that already has a checkpoint while ``resume`` is False.
    """
    config.validate()
    register_app_spaces()
    from jaxnas.searchspace import get_space
    from jaxnas.supernet import depthwise_conv
    space = get_space(config.space)
    layout = search_layout(config)
    A, b, r = layout.archs, config.per_device_batch, config.data.resolution
    data = DetectionData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction, config.data.cache)
    K = data.num_classes
    extra = tuple(config.data.extra_depths)
    cost = search_cost(space, config.latency_table, config.target, r, K, head=ssdlite_head(K, extra))
    pre = preprocess_of(config.data)
    task = detection_task(backbone or supernet_backbone(space, config.remat), K, r, config.optim.weight_decay,
                          depthwise_fn=depthwise_conv, extra_depths=extra)
    optimizer, schedule = sgd_optimizer(config.optim, A * b, config.steps)
    setup = SearchSetup(
        space=space, task=task, cost=cost, controller=make_controller(space, config, config.controller_lr),
        optimizer=optimizer, schedule=schedule,
        **search_streams(config, layout, data, pre), quality_name="map",
        describe=lambda arch: {**detection_facts(space, arch, K, r, extra), "head": "ssdlite"})
    return run_search(config, workdir, setup, layout, resume=resume, progress=progress, on_step=on_step)
