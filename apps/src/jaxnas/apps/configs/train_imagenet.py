"""The paper's stand-alone ImageNet training (360 epochs, batch 4096 = 32 x 128).

    jaxnas-train classification --config train_imagenet --space proxylessnas --arch A --workdir W
"""

from jaxnas.apps.classification import TrainConfig


def get_config():
    return TrainConfig()
