"""Stand-alone detection training on the built-in shapes detection dataset (CPU).

    jaxnas-train detection --config train_detection_shapes --space detection_micro --arch A --workdir W

SSDLite on the ChildNet of ``(space, arch)`` at 128 px, 2000 steps of 16 images, SGD at the
paper's 4 per 1024 images with a gradient-norm clip of 10, evaluated with pycocotools on the 500
test images.
"""

from jaxnas.apps.detection import DetectionDataConfig, DetectionTrainConfig, SGDConfig


def get_config():
    return DetectionTrainConfig(
        data=DetectionDataConfig(dataset="jaxnas_shapes_detection", cache=True, resolution=128, max_boxes=20,
                                 crop_probability=0.0),
        optim=SGDConfig(warmup_fraction=0.05, clip_norm=10.0),
        space="detection_micro", steps=2000, per_device_batch=16, log_every=50, checkpoint_every=500)
