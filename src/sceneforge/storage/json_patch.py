"""JSON Patch (RFC 6902) applied to a description, and the ops taking one description to another.

Pure: no I/O, no database. :func:`check_ops` reads a patch as a list of operation objects (at most
:data:`MAX_PATCH_OPS`), :func:`check_storable` refuses what JSON cannot keep (NaN, Infinity, nesting too
deep), :func:`apply_patch` applies it to a copy — an operation that cannot be applied a :class:`PatchOpFailed`
at the failing operation's ``path`` or ``from`` (``/3/path``), a failing ``test`` a :class:`PatchFailed`, ``copy``
operations held to :data:`MAX_PATCH_COPY_BYTES` together, each pointer's syntax and each of its tokens checked before
the library reads it (a member not there, a token that is no index of its array, a string, number, boolean or null
or ``-`` gone through: each refused naming what it meets; a value nested past Python's recursion limit, which moves
make in three short ops a level, ``json_too_deep``: :func:`too_deep`) — and :func:`diff` gives the ops from one
description to another, members in the order of the second (a revision's ops, docs/drafts.md).

Every message of an operation that failed reads ``op <i> (<op>): <path|from> '<pointer>': <why>``, and the error's
own message (an HTTP problem's ``detail``, the assistant's tool result) is ``patch `` and that: the patch failed, not
a scene, so it is never headed ``invalid scene``. Only a result that breaks the scene's rules is an invalid scene.
"""

from __future__ import annotations

import json
import pickle
import re
from typing import Any

from jsonpointer import JsonPointer

from ..errors import MAX_PATH_CHARS, Issue, RequestInvalid, SceneInvalid, listed
from ..wire import a_json_type, json_pointer_within, json_type, shown

__all__ = [
    "MAX_PATCH_COPY_BYTES",
    "MAX_PATCH_OPS",
    "PatchFailed",
    "PatchOpFailed",
    "apply_patch",
    "check_ops",
    "check_storable",
    "diff",
    "too_deep",
]

#: Operations in one patch; more is refused (a patch is a targeted edit, not a replacement).
MAX_PATCH_OPS = 10_000
#: JSON bytes the ``copy`` operations of one patch may add together: each copy can double the
#: document, so 30 copies of a few bytes would otherwise ask for gigabytes (and each copied byte
#: costs a Python deep copy, ~0.3 s per MiB). Enough to duplicate a storey of a large office.
MAX_PATCH_COPY_BYTES = 4 * 1024 * 1024
_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
#: The members each operation defines (RFC 6902 §4.1–4.6), in the order a revision keeps them.
_MEMBERS = {
    "add": ("op", "path", "value"),
    "remove": ("op", "path"),
    "replace": ("op", "path", "value"),
    "move": ("op", "from", "path"),
    "copy": ("op", "from", "path"),
    "test": ("op", "path", "value"),
}


class PatchOpFailed(RequestInvalid):
    """Operation ``index`` of a patch cannot be applied (HTTP 422; ``code`` ``patch_op_failed``, or
    ``patch_too_large``): one issue at ``at`` (``/3/path``, ``/3/from``) whose message is ``op 3 (<op>): <reason>``,
    the reason naming the pointer and what is wrong there. The error's message is ``patch op 3 (<op>): <reason>``:
    the request's patch is at fault, not a scene (never ``invalid scene: …``)."""

    def __init__(self, index: int, op: str, at: str, code: str, reason: str) -> None:
        super().__init__([Issue(at, code, f"op {index} ({op}): {reason}")])

    def __str__(self) -> str:
        return f"patch {self.issues[0].message}"


class PatchFailed(PatchOpFailed):
    """A ``test`` operation of the patch did not hold (HTTP 409, ``patch_test_failed`` at ``/<i>``); nothing was
    changed. Its message is ``patch op <i> (test): …``, as every failed operation's."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(index, "test", f"/{index}", "patch_test_failed", reason)


def check_ops(ops: Any) -> list[dict[str, Any]]:
    """The patch as a list of operation objects; :class:`RequestInvalid` pointing at the bad ops otherwise (the patch
    document is at fault, not a scene: ``invalid request: …``, as a body that is not JSON is), the first
    :data:`~sceneforge.errors.MAX_ISSUES` of them listed, then ``issues_truncated`` counting the others."""
    if not isinstance(ops, list):
        message = f"a JSON Patch is an array of operations (RFC 6902), not {a_json_type(ops)}"
        raise RequestInvalid([Issue("", "patch_not_array", message)])
    if len(ops) > MAX_PATCH_OPS:
        message = f"the patch has {len(ops):,} operations; at most {MAX_PATCH_OPS:,} (MAX_PATCH_OPS) are accepted"
        raise RequestInvalid([Issue("", "patch_too_long", message)])
    issues = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            issues.append(
                Issue(f"/{i}", "patch_op_invalid", f"each operation must be an object, not {a_json_type(op)}")
            )
            continue
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPS:  # a list or object is not hashable: no set lookups
            if isinstance(name, str):
                shown = repr(name) if len(name) <= 32 else f"(a name of {len(name):,} characters)"
            else:  # named as JSON names it, never written out
                shown = "(missing)" if "op" not in op else f"(a JSON {json_type(name)}, not a name)"
            issues.append(Issue(f"/{i}/op", "patch_op_unknown", f"unknown op {shown}: one of {sorted(_OPS)}"))
            name = None
        if not isinstance(op.get("path"), str):
            message = f"path must be a JSON pointer string, {_given(op, 'path')}"
            issues.append(Issue(f"/{i}/path", "patch_path_invalid", message))
        if name in {"move", "copy"} and not isinstance(op.get("from"), str):
            message = f"{name} needs a 'from' JSON pointer string, {_given(op, 'from')}"
            issues.append(Issue(f"/{i}/from", "patch_path_invalid", message))
        if name in {"add", "replace", "test"} and "value" not in op:
            issues.append(Issue(f"/{i}/value", "patch_value_missing", f"{name} needs a 'value'"))
    if issues:  # at most MAX_ISSUES listed: 10,000 empty ops (30 kB) had been answered with 20,000 errors (2.4 MB)
        raise RequestInvalid(listed(issues, len(issues)))
    # Members an operation does not define are ignored (RFC 6902 §4: a 'from' on an add, a 'value' on a remove,
    # any other name) and not kept: a revision records the operations only.
    return [{k: op[k] for k in _MEMBERS[op["op"]]} for op in ops]


def _given(op: dict[str, Any], member: str) -> str:
    """What an op holds in place of a pointer, as JSON names it: ``not a number``, or ``missing``."""
    return f"not {a_json_type(op[member])}" if member in op else "missing"


def check_storable(ops: list[dict[str, Any]]) -> None:
    """The ops are kept with the revision and served as JSON: NaN, Infinity or nesting too deep to write is
    :class:`RequestInvalid` before anything is applied (whatever the caller: HTTP, assistant, MCP)."""
    try:
        json.dumps(ops, allow_nan=False)
    except ValueError:
        message = "operations hold NaN or Infinity, which JSON cannot carry"
        raise RequestInvalid([Issue("", "patch_value_not_finite", message)]) from None
    except RecursionError:
        raise RequestInvalid([Issue("", "patch_too_deep", "operations nest too deeply to be stored")]) from None


def apply_patch(description: dict[str, Any], ops: Any, *, max_copy_bytes: int = MAX_PATCH_COPY_BYTES) -> dict[str, Any]:
    """``description`` with the RFC 6902 ``ops`` applied (a new object; neither input is changed).

    A malformed patch is a :class:`RequestInvalid` (:func:`check_ops`). An operation that cannot be applied — a
    pointer that is not one (``props``, ``/a~2b``), a member not there, a token that is no index of its array (RFC 6901
    §4, whatever its size), a value that holds nothing gone through, a ``move`` into its own value, the whole document
    removed — is a :class:`PatchOpFailed` at its ``path`` or ``from`` (``/3/path``), naming the op, the pointer and
    what is wrong there; a failing ``test`` op is a :class:`PatchFailed`. ``copy`` operations adding more than
    ``max_copy_bytes`` of JSON together are refused at the first one past it (``patch_too_large``).
    """
    import jsonpatch
    import jsonpointer

    checked = check_ops(ops)
    # A copy made in C (a round trip through pickle's own bytes): copy.deepcopy of a large draft took ~3 times as long.
    doc: Any = pickle.loads(pickle.dumps(description, protocol=pickle.HIGHEST_PROTOCOL))
    copied = 0
    for i, op in enumerate(checked):
        name = op["op"]
        _check_syntax(op, i)
        if name in {"copy", "move"}:
            source = _source(doc, op, i)
        if name == "move" and _inside(op["from"], op["path"]):  # RFC 6902 §4.4
            reason = f"path {_quoted(op['path'])}: it is inside from {_quoted(op['from'])}, and a value cannot be"
            raise PatchOpFailed(i, name, f"/{i}/path", "patch_op_failed", f"{reason} moved into itself (RFC 6902 §4.4)")
        if name == "remove" and op["path"] == "":
            reason = "path '': the whole document cannot be removed (a description stays an object)"
            raise PatchOpFailed(i, name, f"/{i}/path", "patch_op_failed", reason)
        try:
            if name == "copy":
                copied += len(json.dumps(source, separators=(",", ":")))
                if copied > max_copy_bytes:
                    reason = f"from {_quoted(op['from'])}: the copy operations add {copied:,} bytes of JSON; at most"
                    reason += f" {max_copy_bytes:,} are accepted (MAX_PATCH_COPY_BYTES)"
                    raise PatchOpFailed(i, name, f"/{i}/from", "patch_too_large", reason)
            if name == "test":
                _test(doc, op, i)
                continue
            pointer = _InsertPointer if name in _INSERTS else _ExistingPointer if name in _EXISTING else _Pointer
            # The op as it is: the library inserts a copy of every value it adds, replaces or copies, so the document
            # never shares a value with the ops the revision stores. A copy of the op here had copied each value
            # twice (a 28 MiB patch: 12 s and 1.2 GB more, of 28 s and 2.9 GB).
            doc = jsonpatch.JsonPatch([op], pointer_cls=pointer).apply(doc, in_place=True)
        except _NoIndex as exc:
            reason = f"path {exc.reason()}"
            if name == "test" and exc.past_end:  # no value there: the test does not hold, as at '-'
                raise PatchFailed(i, reason) from None
            raise PatchOpFailed(i, name, f"/{i}/path", "patch_op_failed", reason) from None
        except RecursionError:
            # Moves can nest the document past Python's recursion limit, 3 short ops a level: copying or comparing
            # a value there recursed past it (a 500).
            member = "from" if name in {"copy", "move"} else "path"
            reason = f"{member} {_quoted(op[member])}: {_TOO_DEEP}"
            raise PatchOpFailed(i, name, f"/{i}/{member}", "json_too_deep", reason) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
            # What the checks above do not foresee: still named with the op's pointer, in the library's words.
            reason = f"path {_quoted(op['path'])}: {_reason(exc)}"
            raise PatchOpFailed(i, name, f"/{i}/path", "patch_op_failed", reason) from None
    if not isinstance(doc, dict):
        raise SceneInvalid([Issue("", "patch_result_not_object", "the patched description must stay an object")])
    return doc


def _test(doc: Any, op: dict[str, Any], i: int) -> None:
    """A ``test`` op: :class:`PatchFailed` unless the value at its ``path`` equals its ``value`` (compared as the
    library compares, ``!=``). Done here, not by the library: on a failure it wrote the value there into its message
    (and the pointer library the object a member is missing from), which is then dropped: a failing test of a 40 MB
    value took seconds to render it, each time. Compared, a test costs at most the size of its own value."""
    pointer = _Pointer(op["path"])
    parent, part = pointer.to_last(doc)
    where = f"path {_quoted(op['path'])}"
    if part is not None and isinstance(parent, dict) and part not in parent:
        raise PatchFailed(i, f"{where}: names no value (a member not there), so none is equal to the tested")
    value = parent if part is None else pointer.walk(parent, part)
    if value != op["value"]:
        raise PatchFailed(i, f"{where}: the value there is not equal to the tested value")


#: Why a value nested past Python's recursion limit is refused (what JSON's readers and writers here recurse through).
_TOO_DEEP = "the value there nests deeper than JSON is read or written here (Python's recursion limit)"


def too_deep(doc: Any) -> SceneInvalid:
    """The error of a patched description nested too deeply for its JSON text to be written (Python's recursion
    limit): ``json_too_deep`` at its deepest value (found with a stack of its own, no recursion)."""
    deepest: tuple[int, list[str]] = (1, [])
    stack: list[tuple[Any, int, list[str]]] = [(doc, 1, [])]
    while stack:
        value, depth, parts = stack.pop()
        if depth > deepest[0]:
            deepest = depth, parts
        members = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((v, depth + 1, [*parts, str(k)]) for k, v in members if isinstance(v, dict | list))
    depth, parts = deepest
    pointer, kept = json_pointer_within(parts, MAX_PATH_CHARS)
    where = pointer + ("/…" if kept < len(parts) else "")
    message = f"the patched description nests {depth:,} levels deep at {where!r}: {_TOO_DEEP}"
    return SceneInvalid([Issue(where, "json_too_deep", message)])


def _quoted(pointer: str) -> str:
    """A client's pointer as a message quotes it: cut to 200 characters."""
    return repr(shown(pointer, 200))


#: What RFC 6901 §3 allows after a ``~``: ``0`` (``~``) and ``1`` (``/``); anything else, or nothing, is no escape.
_BAD_ESCAPE = re.compile(r"~(?:[^01]|\Z)")


def _check_syntax(op: dict[str, Any], i: int) -> None:
    """Each pointer of ``op`` is one (RFC 6901 §3): empty or starting with ``/``, every ``~`` escaping ``0`` or ``1``;
    else :class:`PatchOpFailed` at it, naming the fault (the library said ``Found invalid escape ~2``, no pointer)."""
    for member in ("from", "path"):
        pointer = op.get(member)
        if not isinstance(pointer, str):  # no 'from' here: check_ops made sure the op needs none
            continue
        if pointer and not pointer.startswith("/"):
            why = "a JSON pointer is '' (the whole document) or starts with '/' (RFC 6901)"
        elif bad := _BAD_ESCAPE.search(pointer):
            what = repr(bad[0]) if len(bad[0]) == 2 else "a '~' at its end"
            why = f"{what} (at offset {bad.start():,}) is no escape (RFC 6901: '~0' is '~', '~1' is '/')"
        else:
            continue
        raise PatchOpFailed(i, op["op"], f"/{i}/{member}", "patch_op_failed", f"{member} {_quoted(pointer)}: {why}")


def _inside(outer: str, inner: str) -> bool:
    """Whether pointer ``inner`` names a value inside the one ``outer`` names (not that one itself)."""
    return inner.startswith(outer + "/") or (outer == "" and inner != "")


#: The ops whose ``path`` may name the place just past an array's end (RFC 6902 §4.1: ``add`` inserts there).
_INSERTS = frozenset({"add", "copy", "move"})
#: The ops whose ``path`` must name a value (RFC 6902 §4.2-4.3); a ``test``'s that names none does not hold (409).
_EXISTING = frozenset({"remove", "replace"})
#: An RFC 6901 array index: ``0``, or digits without a leading zero.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


class _NoIndex(Exception):
    """A pointer's token ``parts[at]`` is no index of the array it applies to (of ``length`` elements): not digits
    without a leading zero (``past_end`` False), or past the array's end (True)."""

    def __init__(self, parts: list[str], at: int, length: int, inserts: bool, past_end: bool) -> None:
        super().__init__(parts[at][:40])
        self.parts, self.at, self.length, self.inserts, self.past_end = parts, at, length, inserts, past_end

    def reason(self) -> str:
        """What is wrong, naming the pointer (within ``MAX_PATH_CHARS``), the token (cut) and the array's length."""
        token = self.parts[self.at]
        whole, kept = json_pointer_within(self.parts, MAX_PATH_CHARS)
        array, within = json_pointer_within(self.parts[: self.at], MAX_PATH_CHARS)
        shown_token = repr(shown(token)) + (f" ({len(token):,} characters)" if len(token) > 40 else "")
        n = self.length
        valid = f"indices 0 to {n - 1:,}" if n > 1 else "index 0" if n else "no index"
        if self.inserts:
            valid += f", or {n:,} or '-' to append"
        where = f"{whole}{'/…' if kept < len(self.parts) else ''}"
        at = f"{array}{'/…' if within < self.at else ''}"
        elements = f"{n:,} element{'' if n == 1 else 's'}"
        if token == "-":
            past = f"it stands past the end of the array at {at!r}, which has {elements} ({valid})"
            return f"{where!r}: '-' names no element: {past}"
        if self.past_end:
            return (
                f"{where!r}: index {shown_token} is past the end of the array at {at!r}, which has {elements} ({valid})"
            )
        what = "RFC 6901: digits without a leading zero, or '-'"
        return f"{where!r}: {shown_token} is not an array index ({what}); the array at {at!r} has {elements} ({valid})"


class _NoContainer(_NoIndex):
    """A pointer goes on past a value that holds nothing (a string, number, boolean or null): it names no value, as an
    index past an array's end does (a ``test`` of it does not hold)."""

    def __init__(self, parts: list[str], at: int, value: Any) -> None:
        super().__init__(parts, at, 0, False, past_end=True)
        self.value = value

    def reason(self) -> str:
        where, at, token = _named(self.parts, self.at)
        return f"{where!r}: the value at {at!r} is {a_json_type(self.value)}, which has no member or element {token}"


class _NoMember(_NoIndex):
    """A pointer's token ``parts[at]`` names no member of the object it applies to: it names no value, as an index
    past an array's end does (a ``test`` of it does not hold)."""

    def __init__(self, parts: list[str], at: int) -> None:
        super().__init__(parts, at, 0, False, past_end=True)

    def reason(self) -> str:
        where, at, token = _named(self.parts, self.at)
        return f"{where!r}: the object at {at!r} has no member {token}"


def _named(parts: list[str], at: int) -> tuple[str, str, str]:
    """A pointer's ``parts`` as said in a message: the whole pointer, the one to the value its token ``parts[at]``
    applies to (each cut to MAX_PATH_CHARS, ``/…`` where cut), and that token, quoted (a long one's length told)."""
    whole, kept = json_pointer_within(parts, MAX_PATH_CHARS)
    parent, within = json_pointer_within(parts[:at], MAX_PATH_CHARS)
    token = parts[at]
    shown_token = repr(shown(token)) + (f" ({len(token):,} characters)" if len(token) > 40 else "")
    return f"{whole}{'/…' if kept < len(parts) else ''}", f"{parent}{'/…' if within < at else ''}", shown_token


class _Pointer(JsonPointer):
    """A pointer that checks each token into an array before the library reads it (:class:`_NoIndex` when it is no
    index of it, ``-`` excepted: the library answers that one): the library converts any digits with ``int()``,
    whose message about a token of 4,301 digits and more is Python's, not the pointer's."""

    #: Whether the last token may name the place just past an array's end.
    inserts = False
    #: Whether the last token must name a member when it applies to an object (a ``remove``'s, a ``from``).
    existing = False

    def to_last(self, doc: Any) -> tuple[Any, str | int | None]:
        """The library's ``to_last`` (every op resolves its pointers through it), each array token checked."""
        if not self.parts:
            return doc, None
        last = len(self.parts) - 1
        for at in range(last):
            self._check(doc, at, False, True)
            doc = self.walk(doc, self.parts[at])
        self._check(doc, last, self.inserts, self.existing)
        return doc, self.get_part(doc, self.parts[last])

    def _check(self, doc: Any, at: int, inserts: bool, existing: bool) -> None:
        token = self.parts[at]
        if not isinstance(doc, dict | list):  # the library's messages name Python's types ("<class 'str'>")
            raise _NoContainer(self.parts, at, doc)
        if isinstance(doc, dict):  # the library's message names the member, not the pointer: "member 'x' not found"
            if existing and token not in doc:
                raise _NoMember(self.parts, at)
            return
        if token == "-" and inserts:
            return
        if token == "-":  # no element (RFC 6901 §4): nothing to read, remove, replace or go into
            raise _NoIndex(self.parts, at, len(doc), inserts, past_end=True)
        if not _ARRAY_INDEX.fullmatch(token):
            raise _NoIndex(self.parts, at, len(doc), inserts, past_end=False)
        end = len(doc) + inserts  # the first index past the valid ones
        if len(token) > len(str(end)) or int(token) >= end:  # int() only of a token no longer than a valid one
            raise _NoIndex(self.parts, at, len(doc), inserts, past_end=True)


class _ExistingPointer(_Pointer):
    """The pointers that must name a value: a ``remove``'s or ``replace``'s ``path``, a ``copy``'s or ``move``'s
    ``from`` (:func:`_source`)."""

    existing = True


class _InsertPointer(_Pointer):
    """The pointers of an ``add``, ``copy`` or ``move``, whose ``path`` may name the place past an array's end (their
    ``from`` is checked by :func:`_source` first, with a :class:`_Pointer`)."""

    inserts = True


def _source(doc: Any, op: dict[str, Any], i: int) -> Any:
    """The value a ``copy`` or ``move`` reads: its ``from`` must name one (RFC 6902 §4.4-4.5; ``-`` names no
    element, RFC 6901 §4), else :class:`PatchOpFailed` at ``/<i>/from``."""
    import jsonpointer

    try:
        pointer = _ExistingPointer(op["from"])
        parent, part = pointer.to_last(doc)
        value = parent if part is None else pointer.walk(parent, part)
    except _NoIndex as exc:
        reason = f"from {exc.reason()}"
    except (jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
        reason = f"from {_quoted(op['from'])}: {_reason(exc)}"
    else:
        return value  # '-' is no element here: _Pointer refused it
    raise PatchOpFailed(i, op["op"], f"/{i}/from", "patch_op_failed", reason)


#: What the pointer libraries append to some messages: the whole container the pointer failed in.
_QUOTED_DOCUMENT = re.compile(r" in [\[{].*\Z|Document '.*' does not", re.DOTALL)


def _reason(exc: BaseException) -> str:
    """Why an operation failed, without the document the libraries quote in some messages (a draft of
    megabytes, as a Python repr), and cut to a line."""
    text = _QUOTED_DOCUMENT.sub(lambda m: "" if m[0].startswith(" in") else "the value does not", str(exc))
    return shown(text, 200)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 ops taking ``before`` to ``after``, members in ``after``'s order: applied to ``before`` they give
    ``after``'s snapshot text (:func:`canonical_json`), as a revision's ops must (docs/drafts.md).

    ``jsonpatch.make_patch`` compares values, not text: the same members in another order are no difference to it,
    and the members it adds go last. Each object whose members its ops leave in another order is replaced whole."""
    import jsonpatch

    ops = list(jsonpatch.make_patch(before, after).patch)
    return ops + _reordered(jsonpatch.apply_patch(before, ops), after, "")


def _reordered(got: Any, want: Any, path: str) -> list[dict[str, Any]]:
    """``replace`` ops for the objects in ``got`` (equal to ``want`` as values) whose members are in another order."""
    import jsonpointer

    if isinstance(want, dict) and isinstance(got, dict):
        if list(got) != list(want):
            return [{"op": "replace", "path": path, "value": want}]
        return [op for key in want for op in _reordered(got[key], want[key], f"{path}/{jsonpointer.escape(key)}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [op for i, (g, w) in enumerate(zip(got, want, strict=True)) for op in _reordered(g, w, f"{path}/{i}")]
    return []
