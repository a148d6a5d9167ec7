"""The ``Pass`` type shared by every optimize pass."""

from __future__ import annotations

from collections.abc import Callable

from ..model.ir import SceneIR

__all__ = ["Pass"]

#: A scene-level transform: rewrites the cells of a :class:`SceneIR` in place and returns it,
#: so passes chain as ``reorder()(weld()(merge()(ir)))``.
Pass = Callable[[SceneIR], SceneIR]
