"""Input limits of the compiler: a plain value, passed explicitly (the compiler reads no environment).

:class:`Limits` is also the ``limits`` section of :class:`sceneforge.settings.Settings`, which
fills it from ``SCENEFORGE_MAX_*``; the service, its workers and the CLI hand that one value to
every build. docs/configuration.md lists each limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Input limits; passing one is a ``LimitExceeded`` naming the setting."""

    #: ``SCENEFORGE_MAX_BODY_BYTES``: JSON request bodies and description files.
    max_body_bytes: Annotated[int, Field(ge=0)] = 32 * 1024 * 1024
    #: ``SCENEFORGE_MAX_EXPORT_BODY_BYTES``: the body of an export request (``{"format", "version"}``).
    max_export_body_bytes: Annotated[int, Field(ge=0)] = 64 * 1024
    #: ``SCENEFORGE_MAX_UPLOAD_BYTES``: assets (GLB, OBJ, PNG) and tagged GLB inputs.
    max_upload_bytes: Annotated[int, Field(ge=0)] = 256 * 1024 * 1024
    #: ``SCENEFORGE_MAX_CELLS``: cells in one scene.
    max_cells: Annotated[int, Field(ge=0)] = 20_000
    #: ``SCENEFORGE_MAX_TRIANGLES``: triangles in the built scene (generated walls included).
    max_triangles: Annotated[int, Field(ge=0)] = 20_000_000
    #: ``SCENEFORGE_MAX_PORTALS``: portals in one scene, counted before any is read (a tagged GLB's
    #: portal nodes cost ~20–55 µs each, read together). Three per cell at ``max_cells``: a level's cells and portals
    #: form a nearly planar graph, which has fewer than three edges per node.
    max_portals: Annotated[int, Field(ge=0)] = 60_000
    #: ``SCENEFORGE_MAX_FLOOR_POINTS``: points of all floor polygons of one scene together, counted before
    #: any is read. Checking and building a floor costs ~40 µs of Python per point whatever its shape (a
    #: star of long edges is the worst), so 32 MiB of short numbers (3.8 million points) took minutes.
    max_floor_points: Annotated[int, Field(ge=0)] = 100_000
    #: ``SCENEFORGE_MAX_INSTANCE_GROUPS``: entries of a description's ``instances`` (an asset in a cell, each
    #: a node and mesh of the GLB, ~0.25 ms apiece), counted before any is read: 32 MiB held 377,000. In a
    #: tagged GLB, the nodes below a cell drawn with EXT_mesh_gpu_instancing.
    max_instance_groups: Annotated[int, Field(ge=0)] = 20_000
    #: ``SCENEFORGE_MAX_CELL_PORTALS``: portals of one cell (either side), counted before geometry. The
    #: openings of one wall are triangulated together, in time growing with their square: 60,000 doorways
    #: in one wall took over 5 minutes; 1,000 take 0.25 s.
    max_cell_portals: Annotated[int, Field(ge=0)] = 1_000
    #: ``SCENEFORGE_MAX_MATERIALS``: entries of a description's (or a tagged GLB's) ``materials``, counted
    #: before any is read (~6 µs apiece to read and lower: 32 MiB held 1.5 million, 12 s of a build).
    max_materials: Annotated[int, Field(ge=0)] = 20_000
    #: ``SCENEFORGE_MAX_MESHES``: entries of all a description's ``cells[].meshes`` together, counted before any is
    #: read (~5 µs apiece to read, and each is copied by every patch of a draft: 32 MiB held 1.6 million
    #: ``{"meshId": "auto"}``, 9 s to read and 4 s of every patch). Five per cell at ``max_cells``.
    max_meshes: Annotated[int, Field(ge=0)] = 100_000
    #: ``SCENEFORGE_MAX_INSTANCE_TRANSFORMS``: copies all a description's ``instances`` place together (the entries
    #: of every ``transforms``), counted before any is read (16 numbers apiece, ~5 µs to read and ~7 µs of every
    #: patch of a draft: 32 MiB held 900,000, 7 s of each patch). Ten per cell at ``max_cells``.
    max_instance_transforms: Annotated[int, Field(ge=0)] = 200_000
    #: ``SCENEFORGE_MAX_PROPS``: entries of a description's ``props`` (or a tagged GLB's scene extras' props),
    #: counted before any is read. Each is copied by every patch of a draft: 32 MiB held 2.4 million short ones,
    #: 7 s to read and 4 s of every patch, during which the JSON work (which holds the GIL) stalled the server.
    max_props: Annotated[int, Field(ge=0)] = 10_000
    #: ``SCENEFORGE_MAX_PVS_ENTRIES``: the cells all cells' PVS list together (the meta and the GLB name each),
    #: counted once the sets are known, before any is written. Cells that all see (or, without the PVS,
    #: reach) each other list n² names: a 20,000-cell chain, 400 million, ran out of memory.
    max_pvs_entries: Annotated[int, Field(ge=0)] = 4_000_000
    #: ``SCENEFORGE_MAX_GLB_NODES``: nodes of a tagged GLB input, counted before any is walked. Each costs
    #: ~5 µs to walk and ~0.1 ms to read when it draws a mesh: 2 million fit a 32 MiB JSON chunk (~200 s).
    max_glb_nodes: Annotated[int, Field(ge=0)] = 200_000
