"""Every geometric tolerance in one place, each with the reason for its value.

Scenes are authored in metres; rooms are 1–100 m across and walls about 0.1 m thick, so
absolute tolerances in metres are meaningful and simpler to reason about than relative ones.
"""

from __future__ import annotations

__all__ = [
    "AREA_EPS",
    "CONTACT_EPS",
    "CONVEX_EPS",
    "EXPORT_NOISE",
    "EXPORT_STEPS",
    "ON_WALL_EPS",
    "PLANARITY_EPS",
    "PVS_EPS",
    "WELD_EPS",
]

#: A quad vertex may sit this far (m) off the plane of the others and still count as planar.
#: Blender exports float32 world matrices: 1e-3 m absorbs their rounding on 100 m scenes.
PLANARITY_EPS = 1e-3

#: A polygon or quad whose area (m²) is below this is degenerate: a 1 mm × 1 mm sliver.
AREA_EPS = 1e-6

#: Cross products of consecutive edges (m²) within this of zero count as collinear when testing
#: convexity, so a rectangle with a float-rounded corner is not rejected as non-convex.
CONVEX_EPS = 1e-7

#: A portal overlaps a wall's length or height when it reaches more than this (m) into it (how far off a
#: wall's faces, or a cell's box, it may lie is ``ON_WALL_EPS``); two rooms overlap when one reaches more
#: than this into the other. Larger than float32 rounding, far smaller than any wall (≥ 1 cm).
CONTACT_EPS = 1e-3

#: A portal quad lies "on" a wall (or in a floor or ceiling slab), and gets an opening cut there, when
#: every corner is within this distance (m) outside the slab's faces. An export written to millimetres
#: rounds each coordinate by up to 0.5 mm, so a point of a plan turned off the axes moves up to
#: √2/2 ≈ 0.71 mm; a doorway drawn in a wall then lands up to 0.71 mm off, and the wall's line through two
#: rounded outline corners moves up to 0.71 mm too anywhere between them: √2 ≈ 1.41 mm apart, plus
#: 0.5 mm where a rounded ``wallThickness`` puts the inner face (a slab's face: its ``y`` and thickness
#: rounded, ≤ 1 mm, plus the quad's 0.5 mm). 2 mm covers them all; the thinnest wall (1 cm) is five times
#: that, so a quad farther off was drawn somewhere else, not rounded there: it opens nothing and the build
#: warns ``portal_not_on_wall``. Two rooms' edges within this of each other at both ends of their overlap
#: share a wall (a ``between`` door's); a portal "touches" a cell within this of the cell's box, so a quad
#: cut into a wall is never reported apart from its room (``portal_not_touching``).
ON_WALL_EPS = 2e-3

#: Vertices closer than this (m) are merged by the weld pass; float32 holds ~1e-6 m at 100 m.
WELD_EPS = 1e-5

#: Slack (m) granted when clipping portals against separating planes in the PVS, so rounding
#: never turns a grazing line of sight into a miss: the PVS must stay conservative.
PVS_EPS = 1e-4

#: The grids (m) an export may have written a plan to, coarsest first: millimetres (a CAD export, a
#: script rounding to 3 decimals) and tenths of one. A room whose outline and a portal's quad are all
#: whole numbers of a step (to 1e-6 of it) was rounded to it: its corners off the axes, written to
#: the grid, moved up to half a step in x and in z each (0.71 of a step). Features off the axes
#: finer than that cannot be drawn there; what looks like one is that rounding.
EXPORT_STEPS = (1e-3, 1e-4)

#: On a wall off the axes, an opening's side within this many grid steps (:data:`EXPORT_STEPS`) of
#: the wall's end or the cavity's corner was drawn to it: its corner is up to 0.71 of a step off,
#: the cavity's corner (found from the rounded walls) as far again at a square corner, farther where
#: the walls meet at another angle (0.8 mm seen on a house turned and written to millimetres).
EXPORT_NOISE = 2.0
