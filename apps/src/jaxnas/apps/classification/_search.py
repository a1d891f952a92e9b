"""``search(config, workdir)``: one TuNAS search for an image classifier.

Builds the classification parts (supernet + cross-entropy, accuracy reward, RMSProp,
ImageNet-style streams) and runs them with the shared driver
(``jaxnas.apps._search_driver.run_search``), which writes into ``workdir``:
``config.json``; ``checkpoints/`` (orbax, resumable); ``metrics.jsonl`` and
``tensorboard/``; ``probabilities.png``, ``reward.png``, ``quality.png``,
``cost.png``; and the result: ``arch.txt`` (index string), ``arch_blocks.txt``
(block string), ``arch.json`` and ``result.json`` (cost vs target, params, MACs,
one-shot accuracy of the argmax with the shared weights, time and images/s).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from jaxnas.apps._cost import search_cost
from jaxnas.apps._search_driver import (
    RESUME_MUTABLE,
    SearchSetup,
    make_controller,
    run_search,
    search_layout,
    search_streams,
)
from jaxnas.apps._search_loop import steps_for_epochs, weight_optimizer
from jaxnas.apps._spaces import register_app_spaces
from jaxnas.apps.classification._configs import SearchConfig
from jaxnas.apps.classification._model import (
    SupernetFns,
    classification_task,
    supernet_fns,
)
from jaxnas.apps.data import ClassificationData, Preprocess

__all__ = ["RESUME_MUTABLE", "classification_setup", "preprocess_of", "search", "search_setup"]


def preprocess_of(data_config) -> Preprocess:
    """The :class:`Preprocess` of a ``DataConfig``."""
    return Preprocess(resolution=data_config.resolution, min_area=data_config.min_crop_area,
                      crop_fraction=data_config.crop_fraction, mean=tuple(data_config.mean),
                      std=tuple(data_config.std))


def search_setup(config: SearchConfig, model: SupernetFns | None = None):
    """The parts of a search: ``(config, setup, layout, data)``, as :func:`search` runs them.

    Also what reads a finished search back (``benchmarks/ranking_correlation.py`` restores the
    shared weights of its checkpoint into ``setup``'s state structure and scores architectures
    with ``setup.task.quality``).

    Returns:
      ``config`` with ``steps`` resolved from ``epochs`` where it was 0, the
      :class:`SearchSetup`, the :class:`SearchLayout` and the :class:`ClassificationData`.

    Raises:
      ValueError: bad config, dataset, latency table or target.
    """
    config.validate()
    layout = search_layout(config)
    data = ClassificationData(config.data.dataset, config.data.data_dir, config.data.holdout_fraction,
                              config.data.cache)
    if not config.steps:  # the search length in epochs of the search split (the reference's floor)
        config = dataclasses.replace(config, steps=steps_for_epochs(config.epochs, data.sizes["train"],
                                                                    layout.archs * config.per_device_batch))
    streams = search_streams(config, layout, data, preprocess_of(config.data))
    return config, classification_setup(config, layout, data.num_classes, streams, model), layout, data


def classification_setup(config: SearchConfig, layout, num_classes: int, streams: dict,
                         model: SupernetFns | None = None) -> SearchSetup:
    """The :class:`SearchSetup` of a classification search fed by ``streams``; opens no dataset.

    What :func:`search_setup` builds around its dataset's streams, and what
    ``benchmarks/search_step_throughput.py`` builds around synthetic ones.

    Args:
      config: a validated :class:`SearchConfig` whose ``steps`` is resolved (> 0).
      layout: the :class:`SearchLayout` (``search_layout(config)``).
      num_classes: classifier outputs.
      streams: the ``SearchSetup`` data fields: ``train_stream``, ``valid_stream``,
        ``eval_stream`` and ``init_batch`` (see ``search_streams``).
      model: replaces the jaxnas-supernet network (tests, custom networks).

    Raises:
      ValueError: ``config.steps`` not resolved, a bad latency table or target.
    """
    if config.steps <= 0:
        raise ValueError(f"classification_setup: config.steps={config.steps}; resolve the search length first "
                         f"(search_setup does: steps_for_epochs(epochs, train images, global batch))")
    register_app_spaces()
    from jaxnas.controller import scaled_learning_rate
    from jaxnas.searchspace import count_macs, count_params, get_space
    space = get_space(config.space)
    A, b, r = layout.archs, config.per_device_batch, config.data.resolution
    cost = search_cost(space, config.latency_table, config.target, r, num_classes)
    model = model or supernet_fns(space, num_classes, config.remat, config.compute_dtype)
    task = classification_task(model, num_classes, config.optim.weight_decay, config.label_smoothing)
    o = config.optim
    optimizer, schedule = weight_optimizer(o.lr_per_256 * A * b / 256, config.steps, o.warmup_fraction,
                                           o.rmsprop_decay, o.rmsprop_momentum, o.rmsprop_eps,
                                           o.rmsprop_initial_scale)

    def describe(arch):
        return {"params": int(count_params(space, arch, num_classes)),
                "macs": int(count_macs(space, arch, r, num_classes)), "resolution": r}

    return SearchSetup(
        space=space, task=task, cost=cost,
        controller=make_controller(space, config, scaled_learning_rate(A * b, config.controller_lr_per_256)),
        optimizer=optimizer, schedule=schedule, **streams, quality_name="accuracy", describe=describe)


def search(config: SearchConfig, workdir: str, *, resume: bool = False, progress: bool = True,
           model: SupernetFns | None = None, on_step: Callable[[int], None] | None = None) -> dict:
    """Runs (or resumes) a search; returns the result dict also written to ``result.json``.

    Args:
      config: a :class:`SearchConfig`.
      workdir: output folder.
      resume: continue from the last checkpoint in ``workdir`` (same config and seed
        give the same result as an uninterrupted run).
      progress: show a progress bar.
      model: replaces the jaxnas-supernet network (tests, custom networks).
      on_step: called with the step number after every step (tests, monitoring).

    Raises:
      ValueError: bad config, dataset, latency table, target, or a work dir that
        already has a checkpoint while ``resume`` is False.
    """
    config, setup, layout, _ = search_setup(config, model)
    return run_search(config, workdir, setup, layout, resume=resume, progress=progress, on_step=on_step)
