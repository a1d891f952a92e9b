"""What the classification command lines print, and their default configs."""

from __future__ import annotations

DEFAULT_CONFIGS = {"search": "search_shapes", "train": "train_shapes", "random": "random_shapes"}


def search_lines(result: dict, quality: str) -> list[str]:
    """The lines of a finished search (any task); ``quality`` describes the one-shot quality."""
    rel = 100.0 * (result["cost"] / result["target"] - 1.0)
    return [
        f"found architecture ({result['space']}): {result['arch']}",
        f"  blocks:   {result['block_string']}",
        (f"  cost:     {result['cost']:.4g} {result['unit']} vs target {result['target']:.4g} {result['unit']} "
         f"({rel:+.1f}%, {result['cost_source']})"),
        quality,
        f"  params:   {result['params']:,}  MACs: {result['macs'] / 1e6:.2f} M at {result['resolution']} px",
        (f"  search:   {result['steps']} steps in {result['search_seconds']:.0f} s, "
         f"{result['train_img_per_s']:.0f} train img/s on {result['devices']} device(s)"),
    ]


def summarize_result(command: str, result: dict) -> str:
    """A few human-readable lines about a finished search, training or random search."""
    if command == "search":
        return "\n".join(search_lines(result, (
            f"  accuracy: {100 * result['one_shot_accuracy']:.2f}% (argmax with the shared weights, "
            f"{result['one_shot_eval_images']} validation images)")))
    if command == "train":
        return "\n".join([
            f"trained {result['space']} {result['arch'] or '(fixed)'}",
            (f"  {result['eval_split']} accuracy: {100 * result['accuracy']:.2f}% "
             f"(untrained: {100 * result['initial_accuracy']:.2f}%) after {result['steps']} steps"),
            f"  exported: {', '.join(result['exports'])}",
        ])
    lines = [(f"random search: {len(result['archs'])} archs with cost within {result['window']} of "
              f"{result['target']:.4g} {result['unit']}")]
    for r in result["archs"]:
        lines.append(f"  {100 * r['accuracy']:6.2f}%  {r['cost']:.4g} {result['unit']}  {r['arch']}")
    return "\n".join(lines)
