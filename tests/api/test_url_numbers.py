"""Integers in a URL are read one way (docs/api.md, "Conventions"): a query parameter as decimal ASCII digits (``-``
first where a negative value means something), a path's number as digits without a leading zero. ``int()`` also
reads ``1_0``, ``+1``, `` 1``, ``1 `` and full-width digits, so one request had many spellings (``?take=1_0`` took
10). Every integer parameter the schema lists is asked, so a route added with a bare ``int`` fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, start_api

#: What ``int()`` reads as a number and the URL does not.
NOT_DIGITS = ["1_0", "+1", " 1", "1 ", "1.0", "0x1", "\uff11", "1e1", ""]


@pytest.fixture(scope="module")
def app_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(Path(tmp_path_factory.mktemp("numbers")))


def _integer_parameters(api: Api, where: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path template, name, schema) of every integer parameter ``in`` ``where`` the schema lists."""
    found = []
    for path, operations in api.app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if parameter["in"] == where and "integer" in types:
                    found.append((method.upper(), path, parameter["name"], schema))
    return found


def _url(path: str, **values: str) -> str:
    """``path`` with ``values`` in their parameters and ``x`` in the others."""
    return re.sub(r"\{([^}:]*)(?::[^}]*)?\}", lambda m: values.get(m[1], "x"), path)


def _refused_at(api: Api, method: str, url: str, pointer: str, **params: str) -> None:
    reply = api.request(method, url, params=params, headers=api.auth("admin"))
    assert reply.status_code == 422, (method, url, params, reply.status_code, reply.text[:300])
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert pointer in [e["path"] for e in reply.json()["errors"]], (method, url, params, reply.json())


def test_every_integer_query_parameter_is_digits_only(app_api: Api) -> None:
    parameters = _integer_parameters(app_api, "query")
    names = {name for _, _, name, _ in parameters}
    assert {"take", "ttl", "cells", "seed", "priority", "since"} <= names, names
    for method, path, name, _ in parameters:
        for value in NOT_DIGITS:
            _refused_at(app_api, method, _url(path), f"/query/{name}", **{name: value})


def test_a_minus_only_where_negative_values_mean_something(app_api: Api) -> None:
    """``priority`` takes ``-5`` (lower runs later); a parameter whose minimum is 0 or more refuses ``-1`` as not
    written in digits — never as a number below its minimum read from another spelling (``-0``)."""
    for method, path, name, schema in _integer_parameters(app_api, "query"):
        negative = schema.get("minimum", 0) < 0
        for value in ["--1", "- 1", "-+1", "-1_0"] + ([] if negative else ["-1", "-0"]):
            _refused_at(app_api, method, _url(path), f"/query/{name}", **{name: value})
        reply = app_api.request(method, _url(path), params={name: "-5"}, headers=app_api.auth("admin"))
        pointers = [e["path"] for e in reply.json().get("errors", [])] if reply.status_code == 422 else []
        assert (f"/query/{name}" in pointers) != negative, (method, path, name, reply.text[:300])


def test_query_digits_are_read(app_api: Api) -> None:
    jobs = app_api.get("/jobs", params={"take": "007"}, headers=app_api.auth("admin"))
    assert jobs.status_code == 200, jobs.text
    made = app_api.get("/generate/maze", params={"cells": "3", "seed": "0"}, headers=app_api.auth("admin"))
    assert made.status_code == 200, made.text


def test_every_integer_path_parameter_is_digits_without_a_leading_zero(app_api: Api) -> None:
    """``/scenes/{id}/revisions/01`` had been rev 1 while ``/scenes/{id}@v01`` names no version: a number in a path
    is written one way, so one resource has one URL (``/keys/01/revoke`` had revoked key 1)."""
    parameters = _integer_parameters(app_api, "path")
    assert {"rev", "key_id"} <= {name for _, _, name, _ in parameters}, parameters
    for method, path, name, _ in parameters:
        for value in ["01", "001", "00", "0_1", "+1", "1.0", "%201", "\uff11"]:
            _refused_at(app_api, method, _url(path, **{name: value}), f"/path/{name}")
