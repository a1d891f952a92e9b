"""The paper's COCO detection search (appendix E.3): ``mobilenet_v3_like`` + SSDLite at 320 px.

    jaxnas-search detection --config search_detection_coco --workdir W \\
        --config.data.data_dir=DIR --config.latency_table=det_320.json

50K steps of 32 images per device, reward = mAP@[.5:.95] on a batch of the 10% of train2017 held
out, controller Adam base rate 5e-3, target = MobileNetV3-Large + SSDLite on the same table (the
paper: 106 ms on a Pixel 1). Build the table once with
``jaxnas.apps.detection.build_detection_table("mobilenet_v3_like", "litert", 320, 80, out="det_320.json")``
and the same call with ``"mobilenet_v3_large"`` (it extends the file). Without a table the cost
is MACs of backbone + head. Not run here (needs COCO and accelerators).
"""

from jaxnas.apps.detection import DetectionSearchConfig


def get_config():
    return DetectionSearchConfig()
