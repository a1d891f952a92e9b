"""Scale-out: one data-parallel mesh over all devices of all processes.

The per-device batch is the unit: a step with ``A`` architectures uses ``A``
groups of ``per_device_batch`` images, one group (and one architecture) per
device when ``A`` equals the device count. Several groups per device (``A`` a
multiple of the device count) compute exactly the same function, which is what
makes one device reproduce an 8-device run.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "data"


def initialize_distributed(coordinator: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
    """Starts multi-process jax from flags or ``JAX_COORDINATOR_ADDRESS``/``JAX_NUM_PROCESSES``/``JAX_PROCESS_ID``.

    Does nothing for a single process (no coordinator given anywhere). On CPU the
    processes exchange data through gloo.
    """
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if not coordinator:
        return
    num_processes = num_processes if num_processes is not None else int(os.environ.get("JAX_NUM_PROCESSES", "1"))
    process_id = process_id if process_id is not None else int(os.environ.get("JAX_PROCESS_ID", "0"))
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process id {process_id} must be in [0, {num_processes})")
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):  # option absent on some builds; the default then applies
        pass
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id)


def make_mesh() -> Mesh:
    """A 1-D mesh named ``data`` over every device of every process."""
    return Mesh(np.array(jax.devices()), (AXIS,))


def groups_per_device(archs_per_step: int, mesh: Mesh) -> int:
    """Architectures each device handles per step (``archs_per_step`` 0 = one per device)."""
    n = mesh.size
    a = archs_per_step or n
    if a % n:
        raise ValueError(f"--config.archs_per_step={archs_per_step} must be a multiple of the {n} devices "
                         f"(each device trains whole groups)")
    return a // n


def shard_batch(mesh: Mesh, local: dict) -> dict:
    """This process's numpy rows -> global arrays split over ``data`` (leading axis)."""
    sharding = NamedSharding(mesh, P(AXIS))
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local.items()}


def replicate(mesh: Mesh, tree):
    """Places ``tree`` fully replicated on the mesh."""
    sharding = NamedSharding(mesh, P())
    return jax.tree_util.tree_map(lambda x: jax.device_put(x, sharding), tree)


def to_host(x) -> np.ndarray:
    """A (replicated or sharded) global array as numpy on every process."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
