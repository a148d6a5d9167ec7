"""Every route of the app is in the docs, with its method: a route added without its row fails here."""

from __future__ import annotations

import re
from pathlib import Path

from sceneforge.api import create_app
from sceneforge.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
#: Routes the docs name by example rather than by template, and those FastAPI adds for its schema viewer.
BY_EXAMPLE = {
    "/scenes/{}/preview/{}": "/scenes/{}/preview/floorplan.svg",
    "/scenes/{}/exports/{}": "/scenes/{}/exports/usdz",
}
FRAMEWORK = {"/docs/oauth2-redirect", "/redoc"}
PARAMETER = re.compile(r"\{[^}]*\}")


def _docs() -> str:
    text = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    return PARAMETER.sub("{}", text.replace("\\|", "|"))


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(storage={"data_dir": tmp_path / "data"}))
    docs = _docs()
    missing = []
    for path, operations in app.openapi()["paths"].items():
        shape = PARAMETER.sub("{}", path)
        if shape in FRAMEWORK:
            continue
        shape = BY_EXAMPLE.get(shape, shape)
        for method in operations:
            if method.upper() == "HEAD":
                continue  # answered wherever GET is (docs/api.md, "Conventions")
            # on one line: the method and the path, or its last two segments after a sibling's
            # whole path (`POST /scenes/{id}/draft/undo`, `/draft/redo`)
            tail = "`/" + "/".join(shape.split("/")[-2:]) + "`"
            named = re.compile(rf"(?m)^.*\b{method.upper()}\b.*({re.escape(shape)}(?![\w/.{{])|{re.escape(tail)})")
            if not named.search(docs):
                missing.append(f"{method.upper()} {path}")
    assert len(app.openapi()["paths"]) > 30  # the app's routes are all there
    assert missing == []


def test_the_schema_lists_the_storage_faults_every_route_may_answer(tmp_path: Path) -> None:
    """A store that fails under any request is a 503 or 507 problem with a ``code`` (docs/limits.md): the schema
    says so, as it says 401 or 429."""
    schema = create_app(Settings(storage={"data_dir": tmp_path / "data"})).openapi()
    for path, method in [("/scenes/build", "post"), ("/scenes/{scene_id}/draft", "patch"), ("/jobs/{job_id}", "get")]:
        responses = schema["paths"][path][method]["responses"]
        assert {"503", "507"} <= responses.keys(), (path, sorted(responses))
        problem = responses["507"]["content"]["application/problem+json"]["schema"]
        assert {"code", "limit"} <= problem["properties"].keys()
