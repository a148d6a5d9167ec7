"""No unit test asserts an absolute wall-clock duration: performance is measured in bench/.

Tests wait with generous limits that only catch a hang (``deadline``, ``timeout`` variables) and
assert order and state. This check fails on an ``assert`` that compares a clock reading, or a
duration variable (``took``, ``elapsed``), with a number.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CLOCKS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns"}
DURATIONS = {"took", "elapsed", "duration", "seconds_taken", "waited"}


def _reads_clock(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr in CLOCKS:
            return True
        if isinstance(inner, ast.Name) and inner.id in DURATIONS:
            return True
    return False


def _is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def wall_clock_asserts(source: str, filename: str = "<test>") -> list[int]:
    """Lines of ``assert`` statements that bound a measured duration by a number."""
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Assert):
            continue
        for compare in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            operands = [compare.left, *compare.comparators]
            if any(_reads_clock(o) for o in operands) and any(_is_number(o) for o in operands):
                lines.append(node.lineno)
                break
    return lines


def test_no_wall_clock_asserts_in_tests() -> None:
    found = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if (lines := wall_clock_asserts(path.read_text(), str(path)))
    }
    assert found == {}


def test_no_wall_clock_asserts_check_sees_them() -> None:
    source = (
        "import time\n"
        "def f(timeout):\n"
        "    start = time.monotonic()\n"
        "    assert time.monotonic() - start < timeout\n"  # a hang guard: fine
        "    assert time.monotonic() - start < 1.0\n"
        "    took = 3\n"
        "    assert status == 'ok' and took <= 0.5\n"
        "    assert 0.09 <= time.perf_counter() - start\n"
    )
    assert wall_clock_asserts(source) == [5, 7, 8]
