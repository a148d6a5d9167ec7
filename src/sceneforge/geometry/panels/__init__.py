"""Rooms with vertical walls built from flat panels: the geometry stage's general fast path.

A room is its outline P (x, z) extruded from ``y0`` to ``y1``, hollowed by the cavity P′ (P offset
inwards by ``t``, mitred corners; a short edge whose inner edge would fold back (at a convex corner)
drops out of P′, its live neighbours' inner edges meeting at one apex, round after round:
:func:`~.walls._collapse`) between ``y0 + t`` and ``y1 - t`` (:mod:`sceneforge.geometry.rooms`).
With no boolean, its shell is a set of planar faces written down directly:

* per outline edge, the outer wall face (the edge × [y0, y1]) and the inner one (the inner edge ×
  [y0 + t, y1 - t]), each minus its openings: the rectangles where portal quads project onto the
  wall, clipped to the face (an opening from the slab's underside or its top face, or reaching the
  ceiling, is a notch in the face's border; a window a hole inside it): :mod:`.wall_faces`;
* per opening, its tunnel through the wall: two jambs, a lintel and a sill where the opening stops
  inside the wall's height, and where it passes below the floor's top (or above the ceiling's
  underside) the floor (ceiling) slab's face in the inner wall plane: :mod:`.tunnels`;
* per window of another shape (a portal quad whose projection on the wall is a trapezoid, a diamond,
  any convex quad, wholly inside the wall's faces), a hole of that shape in both faces and a tunnel of
  one quad per side;
* per notch (such a quad that reaches or crosses a border of the wall's faces), the quad clipped to
  the room as the boolean path's cutter is: in each face, that shape clipped to the face, a notch in
  its ring or a hole; a tunnel of one quad per side, and the slab faces' vertices where it meets their
  levels (:mod:`.notches`);
* the floor's underside and the ceiling's top (P, notched where openings reach y0 or y1), the
  floor's top and the ceiling's underside (P′, with a vertex wherever an opening's side meets it),
  each minus the hatches through that slab (horizontal portal quads, :mod:`.hatches`), and each
  hatch's tunnel: :mod:`.slabs`.

Every edge of every face ends on vertices of the faces beside it (no T-junction): a border near an
opening's corner or a hatch gets a vertex where the corner projects onto it, and the face across that
border the same vertex (:mod:`.near`, :mod:`.hatches`). So the shell is closed, and faces are wound
from their known normals. It is the solid the boolean path (:mod:`sceneforge.geometry.rooms`) cuts,
without its cutting margins: faces meet exactly. Faces are built as 2D triangles in per-face frames
and lifted to 3D in one pass (:mod:`.faces`): rectangles and convex polygons as fans, a face with one
opening as a "picture frame" of four trapezoids, the rest by earcut, every face of every room in one
batch, with no T-junction and no triangle under 0.5 mm high (:mod:`.triangulate`, :mod:`.mend`); one
hash weld makes flat-shaded indexed meshes (:mod:`.weld`). Rooms with windows, notches or collapsed
walls have their shells checked once built (closed and 2-manifold); one that fails goes to the boolean
path (:mod:`.shell`).

A room takes this path when its outline's inner offset keeps every edge (length and direction) and
does not cross itself (a concave outline's slot narrower than two walls would) or loses edges as
:func:`~.walls._collapse` drops them (a run turning both ways, a niche narrower than two walls filled
in, only where the cavity is the mitred offset's and the run's footprint simple: :func:`~.walls.walls`),
every opening is a rectangle in its wall's (along, up) axes (up to float32 rounding of its corners), a
window (any convex quad ``GAP`` inside the wall's faces: the cavity's corners, the outline's ends, the
floor's top and the ceiling's underside; its box ``GAP`` clear of the boxes of the wall's other
openings) or a notch (any convex quad reaching those borders, :func:`~.notches.notch`: every corner of
its pieces on each border line or ``GAP`` from it, every stretch of a border it crosses ``GAP`` or
longer, at a wall's end only at the cavity's corner, with no other opening flush with that corner but
one rectangle of the wall across (a pillar: that rectangle's jamb gets the side's ends, the end of the notch's
face beside it and the side's inner edge the rectangle's heights, :func:`~.openings._notch_pillar_ok`) or one
notch of it (each side the other's ends, :func:`~.openings._notch_pair_ok`), and
no vertex needed on it (:func:`~.shell._notch_clashes`), in each face one notch or hole that does not
run from border to opposite border or a cut from its bottom border to its top one (the face in columns beside
it, :func:`~.notches._cut_paths`), its span along the wall ``GAP`` clear of the other openings', beside
hatches flush with the walls (on its wall, one meeting it, in a slab it reaches) where the shell built is
closed, :func:`~.shell._notch_clashes`), rectangles clear of other
openings on the same wall (one inside another is left out: the larger cuts; two that overlap or touch and
together make a rectangle are cut as that rectangle; any others that meet are one notch, the outline of their
union, :mod:`.joined`, which may run across a face from end to end, its pieces then faces of their own, or
end at the outline's reflex corner, its side there and the jambs across each with the others' heights on the
outer edge, :func:`~.tunnels._notch_pillar_sides`),
flush with the cavity's corner beside any openings of the other wall flush with it there (a pillar: each jamb
gets the heights of those across, unless one falls where another passes through a slab), or with the outline's
(reflex) corner beside any there of the other wall (their jambs meet along its line: each gets the heights of
those across on its outer edge, :func:`~.tunnels._reflex_heights`), every
hatch lies inside the cavity (convex or not) clear of its walls, or flush with them in a box room (or one
whose walls all run along the axes, the hatch clipped to a rectangle: :func:`~.hatches._flush_in_polygon`; or any
other floor polygon, the hatch clipped to a quad each side of which is in the open or on walls' lines:
:func:`~.hatches._flush_in_any_polygon`) whose hatches are all rectangles along the axes (but there) (no
doorway passing into that slab beside it but one through its whole thickness, within the hatch's side or past its ends,
or one from the slab's middle inside the side; one standing on the slab's face over one of its ends gets a vertex there
on its sill or lintel, a joined opening's union too), and
clear of the other hatches of its slab (those that touch or overlap are first one hatch, the outline of
their union, where that is one simple polygon of rectangles: :func:`~.hatches._joined`), and every
border an opening comes near it either touches (within ``WELD_EPS``, snapped; along a wall off the axes
of a plan written to millimetres, within 2 mm of the wall's end or the cavity's corner:
:func:`~sceneforge.geometry.doors.export_noise`) or keeps ``GAP`` from (:data:`~.walls.GAP`). Anything
else goes to the boolean path.

The modules, each importing only those above it:

* :mod:`.mend`: T-junction mending of earcut's triangles;
* :mod:`.triangulate`: earcut over many faces, Delaunay flips, points added to faces left with slivers;
* :mod:`.faces`: the face collector (2D triangles in face frames, earcut faces queued and triangulated
  together);
* :mod:`.walls`: the walls per outline edge and the cavity (the offset check, short edges collapsed,
  runs turning both ways);
* :mod:`.notches`: shaped openings reaching a border, clipped; convex-polygon helpers;
* :mod:`.joined`: rectangles of one wall that meet, as the outline of their union (a notch);
* :mod:`.openings`: portal quads on walls sorted into rectangles, windows and notches;
* :mod:`.near`: the vertices borders need beside openings' corners; the openings each slab face gets;
* :mod:`.hatches`: hatches, their places beside walls, flush hatches;
* :mod:`.border_strips`: openings' strips to a face's borders as quads of their own;
* :mod:`.wall_faces`, :mod:`.tunnels`, :mod:`.slabs`: the faces;
* :mod:`.weld`: the weld into meshes;
* :mod:`.shell`: :func:`panel_shells`, the entry, and the check of the shells built.

Cost: O(faces + openings) numpy work plus one earcut call (~10–30 µs) per face earcut triangulates (see
:mod:`sceneforge.geometry.rooms` for figures; :mod:`.mend` for the T-junction pass's).
"""

from .shell import panel_shells

__all__ = ["panel_shells"]
