"""Numeric arrays as text rows: one ``%`` formatting call per array (no Python loop per row).

Used where sceneforge writes text formats of geometry (OBJ exports, SVG floor plans).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["format_rows"]


def format_rows(template: str, values: npt.NDArray[np.generic]) -> str:
    """``template`` (holding k ``%`` fields) repeated for every k values of ``values``, in order."""
    flat = values.ravel().tolist()
    return (template * (len(flat) // template.count("%"))) % tuple(flat) if flat else ""
