"""The paper's ImageNet search in ``proxylessnas`` at 84 ms (TuNAS, 90 epochs of search).

    jaxnas-search classification --config search_imagenet --workdir W \
        --config.latency_table=proxylessnas_224.json --config.data.data_dir=DIR

Every default is the TuNAS reference code's (docs/fidelity.md): 90 epochs of the search split
(27,050 steps at 32 devices x 128 images), target 84 ms from the latency table (the space's
default; with MACs as the cost give ``--config.target``), per-architecture Adam, TF1 RMSProp,
label smoothing 0.1, L2 gradient 4e-5 * w.
"""

from jaxnas.apps.classification import SearchConfig


def get_config():
    return SearchConfig()
