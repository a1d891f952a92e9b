"""The paper's stand-alone COCO training (appendix E.3): 50K steps x 32 images per device, SSDLite.

    jaxnas-train detection --config train_detection_coco --space mobilenet_v3_like --arch A \\
        --workdir W --config.data.data_dir=DIR

SGD momentum 0.9, learning rate 0 -> 4 (at a global batch of 1024, scaled linearly) over 5K steps
then cosine; evaluated with pycocotools on val2017. For a test-dev style run use
``--config.steps=100000`` and train on train2017+val2017 (not wired as a flag yet). Not run here.
"""

from jaxnas.apps.detection import DetectionTrainConfig


def get_config():
    return DetectionTrainConfig()
