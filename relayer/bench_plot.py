"""Figures for ``stbridge bench --plot``: matplotlib, an optional extra (``stbridge[plot]``).

Only imported when a figure is asked for; without matplotlib the option is refused with
a message saying how to install it, before anything is measured.

:func:`relayer_figure` says what the relayer figure shows (pure data: its title with the
conditions, the throughput points, the mean time per stage of each run);
:func:`plot_relayer` draws it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import InvalidInput

__all__ = ["RelayerFigure", "plot_relayer", "pyplot", "relayer_figure", "require_plot_target"]


def require_plot_target(path: Path) -> Path:
    """``path`` if a PNG can be written there and matplotlib is installed, else
    ``InvalidInput`` naming ``--plot`` and the rule."""
    if path.suffix.lower() != ".png":
        raise InvalidInput("--plot", "must name a .png file", value=str(path))
    if not path.parent.exists():
        raise InvalidInput("--plot", "its folder must exist", value=str(path))
    if importlib.util.find_spec("matplotlib") is None:
        raise InvalidInput(
            "--plot",
            "needs matplotlib, an optional extra: pip install 'stbridge[plot]'",
            value=str(path),
        )
    return path


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass(frozen=True)
class RelayerFigure:
    """What ``stbridge bench relayer --plot`` draws.

    ``title``: the conditions (backend, block time, confirmations, concurrency, cores,
    store); ``x_label``: swaps in flight, or relayer replicas; ``throughput``: (x, swaps per
    minute) per run; ``stages``: per run's label, the mean seconds a swap spent per stage.
    """

    title: str
    x_label: str
    throughput: tuple[tuple[int, float], ...]
    stages: Mapping[str, Mapping[str, float]]


def relayer_figure(document: Mapping[str, Any]) -> RelayerFigure:
    """The figure of a ``bench relayer`` JSON document: one run, ``{"runs": [...]}`` of
    waves, or the replicas document (``runs`` with a ``replicas`` count each)."""
    runs: Sequence[Mapping[str, Any]] = document.get("runs", [document])
    by_replicas = "replicas" in runs[0]
    if by_replicas:
        detail = dict(document["conditions"])
        detail["concurrency"] = f"{document['swaps']} swaps in flight"
        detail["replicas"] = ",".join(str(r["replicas"]) for r in runs)
        x_label = f"relayer replicas on one store ({document['swaps']} swaps in flight)"
    else:
        detail = dict(runs[0]["conditions_detail"])
        detail["concurrency"] = ",".join(str(r["swaps"]) for r in runs) + " swaps in flight"
        x_label = "swaps in flight (concurrency)"
    detail.pop("load_average", None)
    names = ("backend", "block_time", "confirmations", "concurrency", "cores", "store")
    title = "; ".join(f"{k.replace('_', ' ')}: {detail[k]}" for k in names)
    if by_replicas:
        title += f"; replicas: {detail['replicas']}"
    key = "replicas" if by_replicas else "swaps"
    return RelayerFigure(
        title=title,
        x_label=x_label,
        throughput=tuple((int(r[key]), float(r["swaps_per_minute"])) for r in runs),
        stages={
            _run_label(r, by_replicas): {
                stage: float(row["mean_s"]) for stage, row in r["stages"].items()
            }
            for r in runs
        },
    )


def _run_label(run: Mapping[str, Any], by_replicas: bool) -> str:
    count = int(run["replicas"] if by_replicas else run["swaps"])
    unit = ("replica" if by_replicas else "swap") + ("" if count == 1 else "s")
    return f"{count} {unit}"


def plot_relayer(document: Mapping[str, Any], path: str) -> RelayerFigure:
    """Draw :func:`relayer_figure` into ``path`` (PNG): throughput against concurrency (or
    replicas) on the left, mean seconds per stage for each run on the right."""
    figure = relayer_figure(document)
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    xs = [x for x, _ in figure.throughput]
    left.plot(xs, [y for _, y in figure.throughput], marker="o")
    if len(xs) > 1 and max(xs) / min(xs) >= 10:
        left.set_xscale("log")
    left.set_xticks(xs, [str(x) for x in xs])
    left.set_xlabel(figure.x_label)
    left.set_ylabel("swaps completed per minute")
    left.set_ylim(bottom=0)
    left.set_title("throughput")
    stages = [s for s in _STAGE_ORDER if any(s in row for row in figure.stages.values())]
    width = 0.8 / max(1, len(figure.stages))
    for n, (label, row) in enumerate(figure.stages.items()):
        right.bar(
            [i + n * width for i in range(len(stages))],
            [row.get(s, 0.0) for s in stages],
            width,
            label=label,
        )
    right.set_xticks(
        [i + width * (len(figure.stages) - 1) / 2 for i in range(len(stages))],
        [s.replace("_", " ") for s in stages],
        rotation=20,
    )
    right.set_ylabel("mean seconds per swap in the stage (wall clock)")
    right.set_title("latency per stage")
    right.legend()
    fig.suptitle(_wrap(figure.title), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return figure


_STAGE_ORDER = (
    "compliance",
    "initiator_lock",
    "participant_lock",
    "recheck",
    "reveal",
    "settle",
    "refund",
)
"""The stages drawn, in protocol order (as :data:`relayer.metrics.STAGES`, without the
terminal ``done``; not imported so that drawing needs no relayer imports)."""


def _wrap(text: str, width: int = 150) -> str:
    """``text`` broken at "; " into lines of at most about ``width`` characters."""
    lines: list[str] = []
    for part in text.split("; "):
        if lines and len(lines[-1]) + len(part) + 2 <= width:
            lines[-1] += "; " + part
        else:
            lines.append(part)
    return "\n".join(lines)
