"""Figures for ``stbridge bench --plot``: matplotlib, an optional extra (``stbridge[plot]``).

Only imported when a figure is asked for; without matplotlib the option is refused with
a message saying how to install it, before anything is measured.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from bridge.errors import InvalidInput

__all__ = ["pyplot", "require_plot_target"]


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
