"""The paper's ImageNet search in ``proxylessnas`` at 84 ms (TuNAS, 90 epochs of search).

    jaxnas-search classification --config search_imagenet --workdir W \
        --config.latency_table=proxylessnas_224.json --config.data.data_dir=DIR
"""

from jaxnas.apps.classification import SearchConfig


def get_config():
    return SearchConfig()
