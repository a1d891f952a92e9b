"""Runs a tiny search in a subprocess for the apps tests (kill/resume, devices, processes).

    python search_script.py WORKDIR DATA_DIR [--resume] [--toy] [--sleep S] [--config.KEY=VALUE ...]

Multi-process: set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID.
"""

import json
import os
import sys
import time


def main(argv):
    sys.path.insert(0, os.path.dirname(__file__))
    from jaxnas.supernet import configure_xla
    configure_xla()
    from jaxnas.apps._distributed import initialize_distributed
    initialize_distributed()
    from conftest import toy_model
    from jaxnas.apps._config import apply_overrides, load_config
    from jaxnas.apps.classification import search

    workdir, data_dir = argv[0], argv[1]
    flags = [a for a in argv[2:] if not a.startswith("--config.")]
    overrides = [a for a in argv[2:] if a.startswith("--config.")]
    sleep = float(flags[flags.index("--sleep") + 1]) if "--sleep" in flags else 0.0
    config = apply_overrides(load_config("search_tiny"), [f"data.data_dir={data_dir!r}"] + overrides)
    result = search(config, workdir, resume="--resume" in flags, progress=False,
                    model=toy_model() if "--toy" in flags else None,
                    on_step=(lambda s: time.sleep(sleep)) if sleep else None)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
