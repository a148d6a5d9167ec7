"""The scene description: the JSON wire format of docs/scene-format.md, as pydantic models.

Field names are camelCase on the wire and snake_case in Python. Structure, types and finiteness
are checked here: every number that becomes geometry is a finite float32 (|x| ≤ :data:`FLOAT32_MAX`,
as the GLB stores it), and a coordinate (room bounds, floor points, y, door offsets, portal quads)
lies within ±:data:`MAX_COORDINATE` m. Cross-references and geometry (unknown ids, non-planar
quads, overlapping portals) are checked by :mod:`sceneforge.validate`, which reports with the
same JSON-pointer paths.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from ..scene_ids import SCENE_ID_PATTERN

__all__ = [
    "AUTO_MESH",
    "FLOAT32_MAX",
    "MAX_COORDINATE",
    "MAX_ID_CHARS",
    "MAX_PROP_NAME",
    "MAX_PROP_VALUE",
    "NAME_PATTERNS",
    "UNPRINTABLE",
    "CellSpec",
    "DoorSpec",
    "InstanceSpec",
    "MaterialSpec",
    "MeshSpec",
    "PortalSpec",
    "RoomSpec",
    "SceneDescription",
    "printable",
    "unprintable",
]

AUTO_MESH = "auto"
ASSET_PREFIX = "asset:"
# Cell and material ids go into node names and JSON only: any printable text, bounded.
MAX_ID_CHARS = 128

# What no name of a description holds (cell and material ids, the cells a portal or an instance names, asset names,
# prop names): a name is shown in messages, logs, node names, file names and headers, where these characters make it
# read as other text than it is (Trojan Source, CVE-2021-42574) or end a line. Control characters (Unicode Cc: C0,
# DEL, C1), line and paragraph separators (Zl, Zp) and format characters (Cf: the bidi embeddings, overrides,
# isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C; zero-width space, word joiner, soft
# hyphen, BOM, tag characters …) — all but U+200C and U+200D (zero-width non-joiner and joiner), which spell words of
# Persian and the Indic scripts and emoji sequences. Letters, marks, symbols and spaces of every script are names'
# own ("Küche", "厨房"). Spelled out (Unicode 14's Cc, Cf, Zl and Zp, which a test pins to the running Python's),
# not looked up per name: the class is the schema's pattern, matched in pydantic's Rust regex with no Python call
# per name (office-1000 holds 5,000 names: a validator each had cost ~1.5 ms of its parse).
_UNPRINTABLE_CLASS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: A character no name holds, lone surrogates (Cs: no UTF-8 holds one) among them. The schema refuses a lone surrogate
#: in any string itself (``string_unicode``), so the patterns leave them out (a Rust string cannot hold one).
UNPRINTABLE = re.compile(f"[{_UNPRINTABLE_CLASS}\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` as a message echoes it: its :data:`UNPRINTABLE` characters as JSON escapes (``\\u202e``; past the BMP
    a surrogate pair, as JSON writes it), letters of every script as they are. Echoed raw, a bidirectional override
    or an invisible character makes the message read as other text than the client sent (Trojan Source)."""
    return UNPRINTABLE.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    return json.dumps(found.group())[1:-1]


#: A name: no :data:`UNPRINTABLE` character (its length bounded apart, as ``string_too_long``).
NAME_PATTERN = f"^[^{_UNPRINTABLE_CLASS}]*$"
#: ``asset:<name>``: a file next to a description (the CLI) or an uploaded asset's id (the service).
ASSET_PATTERN = f"^asset:[^{_UNPRINTABLE_CLASS}]+$"
#: The patterns whose mismatch :mod:`sceneforge.ingest.description` says as :func:`unprintable` does
#: (``unprintable_character``) when the text holds such a character.
NAME_PATTERNS = frozenset({NAME_PATTERN, ASSET_PATTERN})


def unprintable(text: str) -> str | None:
    """Why ``text`` is no name: its first :data:`UNPRINTABLE` character, as U+ and its code in hex (U+202E) with its
    Unicode name, and where it is (counted from 1); None when it holds none."""
    found = UNPRINTABLE.search(text)
    if found is None:
        return None
    import unicodedata  # only to word a refusal

    char = found.group()
    point = ord(char)
    kind = "a lone surrogate" if 0xD800 <= point <= 0xDFFF else unicodedata.name(char, "a control character")
    return (
        f"U+{point:04X} ({kind}) at character {found.start() + 1} is not printable: names hold no control"
        " characters, line breaks, bidirectional controls or other invisible format characters"
    )


#: Characters of a prop's name and of its value (a description's, and a tagged GLB's scene props).
MAX_PROP_NAME, MAX_PROP_VALUE = 256, 65536

#: The largest finite float32: geometry is stored as float32, so a coordinate beyond it cannot be built.
FLOAT32_MAX = 3.4028234663852886e38


def _float32(value: float) -> float:
    if abs(value) > FLOAT32_MAX:
        raise ValueError(f"{value:g} is beyond the float32 range (±{FLOAT32_MAX:.7g}) that geometry is stored in")
    return value


#: Coordinates farther than this (metres) from the origin are refused: float32 keeps only ~6 cm of a
#: position there (half a wall's thickness), and the polygon clipper that cuts doors into walls works on
#: 64-bit integers that overflow past ~1e10. An indoor scene spans well under a kilometre.
MAX_COORDINATE = 1e6


def past_extent(value: float) -> str:
    """``value`` (m, past ±:data:`MAX_COORDINATE`) in three significant digits, or as many more as show it
    past the bound: 1000000.001 in three (or :g's six) is 1e+06, which reads as within it."""
    for digits in range(3, 18):
        text = f"{value:.{digits}g}"
        if abs(float(text)) > MAX_COORDINATE:
            return text
    return repr(value)


def coordinate_message(value: float) -> str:
    """What is said of a coordinate past ±:data:`MAX_COORDINATE` (past float32 too: that first)."""
    try:
        _float32(value)
    except ValueError as past:
        return str(past)
    return f"coordinate {past_extent(value)} is beyond ±{MAX_COORDINATE:g} m, the extent scenes may span"


#: A JSON number, finite: strict, as JSON's true and "2.2" are no numbers (lax mode read them as 1.0 and 2.2); an
#: integer is one. Each number of the model is one, with its own bounds.
Number = Annotated[float, Field(allow_inf_nan=False, strict=True)]
Finite = Annotated[Number, AfterValidator(_float32)]
#: Checked by the schema's own bounds, with no Python call per number (office-1000 holds 24,000: ~4 ms of
#: its parse); where errors become issues, one at these bounds is said as :func:`coordinate_message` says.
Coordinate = Annotated[Number, Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)]
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=NAME_PATTERN)]
AssetRef = Annotated[str, Field(pattern=ASSET_PATTERN)]
Vec2 = tuple[Coordinate, Coordinate]
Vec3 = tuple[Coordinate, Coordinate, Coordinate]
Matrix4 = Annotated[list[Finite], Field(min_length=16, max_length=16)]
HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, allow_inf_nan=False
    )


class RoomSpec(_Wire):
    """A room's outer shape: a box (``min``/``max``) or an extruded simple ``floor`` polygon.

    Walls, floor and ceiling are ``wall_thickness`` thick and grow *inwards* from this
    outer shape, so two rooms whose shapes touch share a wall of twice that thickness
    without overlapping.
    """

    min: Vec3 | None = None
    max: Vec3 | None = None
    #: ``fail_fast`` (here and on every long list of numbers): the first bad item is reported, not each of
    #: 100,000 (pydantic keeps ~1 kB per error: a body of wrong items had cost gigabytes to refuse).
    floor: Annotated[list[Vec2], Field(min_length=3, max_length=4096, fail_fast=True)] | None = None
    y: Coordinate = 0.0
    height: Annotated[Number, Field(gt=0, le=1000)] = 3.0
    wall_thickness: Annotated[Number, Field(gt=0, le=10)] = 0.1
    material: Id | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> RoomSpec:
        box = self.min is not None or self.max is not None
        if box and self.floor is not None:
            raise ValueError("give either min/max or floor, not both")
        if not box and self.floor is None:
            raise ValueError("give min/max (a box) or floor (a polygon)")
        if box and (self.min is None or self.max is None):
            raise ValueError("a box room needs both min and max")
        return self


class MeshSpec(_Wire):
    """``auto`` (a room of its own when the cell gives none) or ``asset:<id>`` placed by ``transform``."""

    mesh_id: Annotated[str, Field(min_length=1, max_length=512)]
    transform: Matrix4 | None = None
    material_id: Id | None = None

    @field_validator("mesh_id")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value != AUTO_MESH and not (value.startswith(ASSET_PREFIX) and len(value) > len(ASSET_PREFIX)):
            raise ValueError(f"meshId must be 'auto' or 'asset:<id>', got {value!r}")
        if (why := unprintable(value)) is not None:
            raise PydanticCustomError("unprintable_character", why)
        return value


class CellSpec(_Wire):
    cell_id: Id
    # A lambda, not ``list``: pydantic reads the factory's signature, and a builtin's is parsed from text by the
    # tokenizer, whose patterns compiling cost every process that builds a model ~8 ms of its start-up.
    meshes: Annotated[list[MeshSpec], Field(default_factory=lambda: [], max_length=100_000)]
    room: RoomSpec | None = None


class DoorSpec(_Wire):
    """A doorway placed on the wall two rooms share, centred on the shared stretch of wall."""

    #: At least 1 cm each way: a smaller opening is a degenerate portal (no direction to see through).
    width: Annotated[Number, Field(ge=0.01, le=100)] = 1.0
    height: Annotated[Number, Field(ge=0.01, le=100)] = 2.1
    #: Distance (m) of the doorway's centre from the middle of the shared wall, along the wall.
    offset: Coordinate = 0.0


class PortalSpec(_Wire):
    """A doorway between two cells: an explicit ``quad`` or ``between`` + ``door``.

    The quad's normal (right-hand rule over its vertex order) points into ``to``.
    """

    from_: Id | None = Field(default=None, alias="from")
    to: Id | None = None
    quad: Annotated[list[Coordinate], Field(min_length=12, max_length=12)] | None = None
    between: Annotated[list[Id], Field(min_length=2, max_length=2)] | None = None
    door: DoorSpec | None = None
    one_way: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> PortalSpec:
        if self.between is not None:
            if self.quad is not None or self.from_ is not None or self.to is not None:
                raise ValueError("a portal gives either between (+door) or from/to/quad, not both")
        else:
            if self.door is not None:
                raise ValueError("door needs between")
            missing = [k for k, v in (("from", self.from_), ("to", self.to), ("quad", self.quad)) if v is None]
            if missing:
                raise ValueError(f"a portal needs from, to and quad (missing: {', '.join(missing)}), or between")
        return self

    @property
    def source(self) -> str:
        return self.between[0] if self.between else self.from_  # type: ignore[return-value]

    @property
    def target(self) -> str:
        return self.between[1] if self.between else self.to  # type: ignore[return-value]


class MaterialSpec(_Wire):
    base_color: Annotated[list[Annotated[Number, Field(ge=0, le=1)]], Field(min_length=3, max_length=4)] = [
        0.8,
        0.8,
        0.8,
        1.0,
    ]
    metallic: Annotated[Number, Field(ge=0, le=1)] = 0.0
    roughness: Annotated[Number, Field(ge=0, le=1)] = 0.9
    base_color_texture: AssetRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _hex(cls, value: object) -> object:
        if isinstance(value, str):
            m = HEX_COLOR.fullmatch(value)
            if not m:
                raise ValueError(f"a material colour string must be #rrggbb or #rrggbbaa, got {value!r}")
            digits = m.group(1)
            rgba = [int(digits[i : i + 2], 16) / 255 for i in range(0, len(digits), 2)]
            return {"baseColor": rgba}
        return value

    def rgba(self) -> tuple[float, float, float, float]:
        c = list(self.base_color) + [1.0] * (4 - len(self.base_color))
        return (c[0], c[1], c[2], c[3])


class InstanceSpec(_Wire):
    """One asset repeated in a cell: emitted once with EXT_mesh_gpu_instancing."""

    mesh_id: Annotated[AssetRef, Field(max_length=512)]
    cell_id: Id
    transforms: Annotated[list[Matrix4], Field(min_length=1, max_length=1_000_000, fail_fast=True)]
    material_id: Id | None = None


class SceneDescription(_Wire):
    scene_id: Annotated[str, Field(pattern=SCENE_ID_PATTERN)]
    cells: Annotated[list[CellSpec], Field(min_length=1)]
    portals: list[PortalSpec] = []
    materials: dict[Id, MaterialSpec] = {}
    instances: list[InstanceSpec] = []
    #: A prop's name is a name (no :data:`UNPRINTABLE` character); its value is free text, line breaks and all.
    props: dict[
        Annotated[str, Field(max_length=MAX_PROP_NAME, pattern=NAME_PATTERN)],
        Annotated[str, Field(max_length=MAX_PROP_VALUE)],
    ] = {}
