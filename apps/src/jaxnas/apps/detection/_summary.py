"""What the detection command lines print, and their default configs."""

from __future__ import annotations

from jaxnas.apps.classification._summary import search_lines

DEFAULT_CONFIGS = {"search": "search_detection_shapes", "train": "train_detection_shapes"}


def summarize_result(command: str, result: dict) -> str:
    """A few human-readable lines about a finished detection search or training."""
    if command == "search":
        return "\n".join(search_lines(result, (
            f"  mAP:      {result['one_shot_map']:.4f} (COCO AP@[.5:.95] of the argmax with the shared weights, "
            f"{result['one_shot_eval_images']} validation images; cost = backbone to C5 + SSDLite head)")))
    return "\n".join([
        f"trained {result['space']} {result['arch'] or '(fixed)'} + SSDLite",
        (f"  {result['eval_split']} mAP: {result['map']:.4f}  AP50: {result['map50']:.4f}  "
         f"AP75: {result['map75']:.4f} (untrained: {result['initial_map']:.4f}) after {result['steps']} steps"),
        f"  params:   {result['params']:,}  MACs: {result['macs'] / 1e6:.2f} M at {result['resolution']} px",
        f"  exported: {', '.join(result['exports'])}",
    ])
