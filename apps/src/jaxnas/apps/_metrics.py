"""Metrics: JSON lines, TensorBoard event files, and the search plots.

Only process 0 writes. ``metrics.jsonl`` has one JSON object per logged step; on
resume it is cut back to the checkpoint's step first, so a resumed run ends with
the same file as an uninterrupted one. TensorBoard files are written with
tensorboardX: it writes event files without initialising TensorFlow's runtime
in the training loop (tf.summary would), and it is what a PyTorch user already
has installed.
"""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np


class MetricWriter:
    """Writes scalar metrics of a run to ``workdir/metrics.jsonl`` and ``workdir/tensorboard``.

    Args:
      workdir: run folder.
      enabled: False on processes other than 0.
      resume_step: drop lines with ``step > resume_step`` (resuming); None starts a fresh file.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> w = MetricWriter(d, tensorboard=False)
    >>> w.write(1, {"loss": 0.5}); w.close()
    >>> read_metrics(d)
    [{'step': 1, 'loss': 0.5}]
    """

    def __init__(self, workdir: str, enabled: bool = True, resume_step: int | None = None,
                 tensorboard: bool = True):
        self.enabled = enabled
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = None
        if not enabled:
            return
        os.makedirs(workdir, exist_ok=True)
        if resume_step is None:
            open(self.path, "w").close()
        else:
            kept = [r for r in read_metrics(workdir) if r["step"] <= resume_step]
            with open(self.path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)
        if tensorboard:
            from tensorboardX import SummaryWriter
            self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=resume_step)

    def write(self, step: int, scalars: dict, extra: dict | None = None) -> None:
        """Appends ``scalars`` (numbers) and ``extra`` (any JSON, e.g. probabilities) at ``step``."""
        if not self.enabled:
            return
        row = {"step": int(step)}
        row.update({k: _number(v) for k, v in scalars.items()})
        row.update(extra or {})
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, _number(v), int(step))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _number(v):
    v = float(np.asarray(v))
    return v if math.isfinite(v) else str(v)


def read_metrics(workdir: str) -> list[dict]:
    """The rows of ``workdir/metrics.jsonl``, every readable one.

    A line that is not a JSON object with a ``step`` (a disk error, a hand
    edit) is skipped with a ``RuntimeWarning`` naming the file and the line
    numbers; the rows after it are kept. A last line without its newline is a
    row torn by a kill mid-write: it is dropped without a warning.
    """
    path = os.path.join(workdir, "metrics.jsonl")
    rows, bad = [], []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        lines = f.readlines()
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append(row)
        elif number < len(lines) or line.endswith("\n"):  # not the torn tail of a killed write
            bad.append(number)
    if bad:
        shown = ", ".join(map(str, bad[:20])) + (f" and {len(bad) - 20} more" if len(bad) > 20 else "")
        warnings.warn(f"{path}: skipped {len(bad)} unreadable line(s) (line {shown}); "
                      f"kept the other {len(rows)} rows", RuntimeWarning, stacklevel=2)
    return rows


# The line plots of a search: file -> the metrics.jsonl keys drawn in it. The
# search writes every one of them at every logged step (a test checks).
SEARCH_LINE_PLOTS = {
    "reward.png": ("reward", "baseline"),
    "quality.png": ("quality",),
    "cost.png": ("cost_sampled", "cost_argmax"),
}


def plot_search(workdir: str, decision_names: list[str], target: float, unit: str,
                quality_label: str = "validation accuracy (shared weights)") -> list[str]:
    """Draws the search plots from ``metrics.jsonl``; returns the PNG paths.

    ``probabilities.png``: every decision's choice probabilities over time;
    ``reward.png``, ``quality.png``; ``cost.png``: sampled (mean), argmax and target.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(workdir)
    if not rows:
        return []
    steps = np.array([r["step"] for r in rows])
    out = []

    def line_plot(name, keys, ylabel, hline=None):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for key in keys:
            ax.plot(steps, [float(r.get(key, np.nan)) for r in rows], label=key)
        if hline is not None:
            ax.axhline(hline, color="k", ls="--", lw=1, label="target")
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(workdir, name)
        fig.savefig(path, dpi=90)
        plt.close(fig)
        out.append(path)

    line_plot("reward.png", SEARCH_LINE_PLOTS["reward.png"], "reward")
    line_plot("quality.png", SEARCH_LINE_PLOTS["quality.png"], quality_label)
    line_plot("cost.png", SEARCH_LINE_PLOTS["cost.png"], unit, hline=target)
    probs = [r["probabilities"] for r in rows if "probabilities" in r]
    if probs:
        p = np.array(probs)  # [T, D, C]
        pstep = np.array([r["step"] for r in rows if "probabilities" in r])
        shown = [d for d in range(p.shape[1]) if np.count_nonzero(p[0, d] > 0) > 1]
        cols = max(1, math.ceil(math.sqrt(len(shown))))
        rws = max(1, math.ceil(len(shown) / cols))
        fig, axes = plt.subplots(rws, cols, figsize=(2.2 * cols, 1.6 * rws), squeeze=False, sharex=True)
        for ax in axes.flat:
            ax.set_visible(False)
        for ax, d in zip(axes.flat, shown):
            ax.set_visible(True)
            for c in range(p.shape[2]):
                if p[0, d, c] > 0:
                    ax.plot(pstep, p[:, d, c], lw=1)
            ax.set_ylim(0, 1)
            ax.set_title(decision_names[d], fontsize=6)
            ax.tick_params(labelsize=5)
        fig.suptitle("choice probabilities per decision", fontsize=9)
        fig.subplots_adjust(hspace=0.6, wspace=0.3)  # tight_layout takes seconds on a big grid
        path = os.path.join(workdir, "probabilities.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        out.append(path)
    return out
