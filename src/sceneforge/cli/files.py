"""The files a command reads and writes: an input read no further than its limit, outputs written all
or none (atomically, the folders locked, Ctrl-C held), and the asset files next to a description — inside its
folder (or ``--assets DIR``) only, so a description cannot make a build read a file elsewhere on the machine."""

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..errors import AssetError, SceneInvalid
from .program import EXIT_OUTPUT

if TYPE_CHECKING:
    from ..config import Limits

__all__ = [
    "STDIN",
    "STDOUT",
    "check_out_folder",
    "file_asset_resolver",
    "folder_problem",
    "input_limit",
    "read_spec",
    "same_file",
    "write_outputs",
]

#: SPEC naming standard input (``jq … | sceneforge build - -o out``).
STDIN = "-"
#: An output file naming standard output (``sceneforge generate maze --cells 9 -o - | …``).
STDOUT = "-"


def input_limit(spec: Path, limits: "Limits") -> tuple[int, str]:
    """The most bytes SPEC may hold and the setting that says so: a tagged ``.glb`` is an upload, else a body."""
    return _limit_of(spec.suffix.lower() == ".glb", limits)


def read_spec(spec: Path, limits: "Limits") -> bytes:
    """SPEC's bytes, at most the input limit: a file larger is refused before it is read, and a device or a
    pipe (no size to check first; /dev/zero never ends) is read no further than one byte past the limit.
    SPEC ``-`` is standard input, a description or a tagged GLB told apart by its first bytes (the GLB's
    magic), each held to its own limit."""
    from ..errors import LimitExceeded
    from ..report import read_at_most

    if str(spec) == STDIN:
        from ..glb_magic import is_glb

        if sys.stdin is None:  # started with standard input closed (``<&-``)
            raise _unreadable("cannot read standard input (SPEC -): it is closed")
        if sys.stdin.isatty():  # nothing piped in: it would wait, without a word, for a scene typed by hand
            raise _unreadable("standard input is a terminal (SPEC -): pipe or redirect the description or GLB into it")
        try:  # standard input opened for writing only (``0>file``) cannot be read
            head = read_at_most(sys.stdin.buffer, 4)  # the magic first: a description is never read past its limit
            cap, name = _limit_of(is_glb(head), limits)
            data = head + read_at_most(sys.stdin.buffer, cap + 1 - len(head))
        except OSError as exc:
            raise _unreadable(f"cannot read standard input (SPEC -): {exc.strerror}") from None
        return _within(data, cap, name)
    cap, name = input_limit(spec, limits)
    try:
        with spec.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > cap:
                raise LimitExceeded(name, size, cap, what="input size (bytes)")
            data = read_at_most(fh, cap + 1)
    except OSError as exc:
        raise _unreadable(f"cannot read {spec}: {exc.strerror}") from None
    return _within(data, cap, name)


def _unreadable(problem: str) -> SceneInvalid:
    """SPEC could not be read: one issue at the document's root, as every input error of the CLI."""
    return SceneInvalid([AssetError("", problem).issues[0]])


def _limit_of(glb: bool, limits: "Limits") -> tuple[int, str]:
    if glb:
        return limits.max_upload_bytes, "SCENEFORGE_MAX_UPLOAD_BYTES"
    return limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES"


def _within(data: bytes, cap: int, name: str) -> bytes:
    from ..errors import Issue

    if len(data) > cap:
        raise SceneInvalid(
            [Issue("", "limit_exceeded", f"the input is more than {cap:,} bytes, above the limit ({name})")]
        )
    return data


def file_asset_resolver(base: Path, max_bytes: int, *, named: str = "the description's folder") -> Any:
    """``asset:<path>`` → the file at that path relative to the folder ``base``, read no further than ``max_bytes``.

    The file must lie inside ``base`` (``named`` says what it is in messages: the description's folder, or
    ``--assets DIR``): a description is often someone else's, and a path such as ``/etc/passwd``,
    ``../../.ssh/id_rsa.png`` or a symbolic link leading out of the folder would have the build read (and a texture
    embed in its output) any file the user can read. An absolute path, and a path whose resolved form (``..`` and
    every symbolic link followed) leaves ``base``, are ``asset_outside_folder`` naming the asset and the rule; ``..``
    that stays inside (``props/../crate.obj``) is taken. A name no file can have (a NUL, a name or path longer than
    the system takes, a link loop) is ``asset_not_found`` saying why, a file larger than ``max_bytes``
    ``limit_exceeded`` with its size."""
    from ..report import read_at_most

    def resolve(asset_id: str) -> bytes:
        def missing(why: str) -> AssetError:
            message = f"asset file {asset_id!r} not found in {named} ({why})"
            return AssetError("", message, "asset_not_found")

        def outside(why: str) -> AssetError:
            rule = "asset paths are relative to that folder and may not leave it (no absolute path, no '..' or"
            message = f"asset file {asset_id!r} {why}: {rule} symbolic link leading out)"
            return AssetError("", message, "asset_outside_folder")

        try:
            root = base.resolve()
            if os.path.isabs(asset_id):
                raise outside(f"is an absolute path, not one relative to {named} ({root})")
            path = (root / asset_id).resolve()
            if not path.is_relative_to(root):
                raise outside(f"resolves to {path}, outside {named} ({root})")
            if not path.is_file():
                raise missing(str(path))
            with path.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                data = b"" if size > max_bytes else read_at_most(fh, max_bytes + 1)
        except ValueError:  # "embedded null byte": no file name holds one
            raise missing("its name holds a NUL character, which no file name can") from None
        except RuntimeError:  # pathlib's "Symlink loop from …"
            raise missing("it is a symbolic link that leads back to itself") from None
        except OSError as exc:
            raise missing(exc.strerror or str(exc)) from None
        if size > max_bytes or len(data) > max_bytes:
            message = (
                f"asset {asset_id!r} is {max(size, len(data)):,} bytes, larger than SCENEFORGE_MAX_UPLOAD_BYTES "
                f"({max_bytes:,} bytes)"
            )
            raise AssetError("", message, "limit_exceeded")
        return data

    return resolve


def write_outputs(folder: Path, outputs: dict[Path, bytes]) -> None:
    """Make ``folder`` and write ``outputs`` into it atomically; a folder that cannot be made or
    written (a file in the way, no permission, a full disk) exits 1 with one line saying which and
    why, and writes nothing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # "File exists" or "Not a directory" for a file in the way: say which file
        typer.echo(f"cannot write to {folder}: {folder_problem(folder) or exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None
    _write_atomically(outputs)


def check_out_folder(folder: Path) -> None:
    """Refuse an output folder that cannot be one (a file, a file above it) or in which no file can be made (no
    permission, a read-only or virtual file system) before any work is done: a 20,000-cell build takes seconds
    before its files are written."""
    problem = folder_problem(folder) or _write_problem(folder)
    if problem:
        typer.echo(f"cannot write to {folder}: {problem}", err=True)
        raise typer.Exit(EXIT_OUTPUT)


def _write_problem(folder: Path) -> str | None:
    """Why no file can be made in ``folder`` (or, while it does not exist, in the nearest folder above it, where it
    would be made), or None. Permissions alone do not tell: root may write anywhere but on a read-only or virtual
    file system (``/sys``, ``/proc``). An unnamed file (``O_TMPFILE``: nothing to leave behind, whatever stops the
    command) is made there; where the file system has none, an empty named one, removed at once, a stop signal
    meanwhile held (:func:`_signals_held`). A folder not made yet is not made here."""
    import secrets

    place = next((p for p in (folder, *folder.parents) if p.is_dir()), None)
    if place is None:
        return None
    unnamed = getattr(os, "O_TMPFILE", 0)  # Linux only
    try:
        if unnamed:
            os.close(os.open(place, os.O_WRONLY | unnamed | os.O_CLOEXEC, 0o600))
            return None
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return exc.strerror or str(exc)
    probe = place / f".sceneforge-probe.{secrets.token_hex(4)}"
    with _signals_held() as hold:
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        except OSError as exc:
            return exc.strerror or str(exc)
        finally:
            hold()
            with suppress(OSError):
                os.unlink(probe)
    return None


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be a folder (it is a file, a file stands above it, it cannot be looked at), or None
    when it is one or could be made: the nearest of it and its parents that exists decides."""
    for place in (folder, *folder.parents):
        try:
            mode = os.stat(place).st_mode
        except (FileNotFoundError, NotADirectoryError):  # missing, or under a file: a parent says which
            continue
        except OSError as exc:  # no permission to look, a symlink loop
            return exc.strerror or str(exc)
        if stat.S_ISDIR(mode):
            return None
        return "it is a file, not a folder" if place == folder else f"{place} is a file, not a folder"
    return None


def _write_atomically(outputs: dict[Path, bytes]) -> None:
    """Write every file or none: each goes to a temp file first, then all are renamed. An error
    exits 1 naming the file it was writing; a stop signal while the temp files are written removes them
    (:func:`_signals_held`)."""
    temps: list[tuple[str, Path]] = []
    umask = os.umask(0)
    os.umask(umask)
    path = next(iter(outputs), Path())
    with _signals_held() as hold:
        try:
            for path, data in outputs.items():
                fd = _new_temp(path, temps)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(temps[-1][0], 0o666 & ~umask)  # made 0600; outputs are ordinary files
            for _, path in temps:  # what a rename cannot or must not replace: known before the first is in place
                _check_target(path)
            # Ctrl-C between two renames would leave one file without the other, and so would a second command
            # writing the same files at once (its GLB beside this one's meta): the folders are locked meanwhile.
            with _folders_locked(path.parent for _, path in temps):
                hold()
                for tmp, path in temps:
                    os.replace(tmp, path)
                _remove_stale_temps([path for _, path in temps])
        except OSError as exc:  # no permission, a full disk, a folder where the file goes: the file it was for
            typer.echo(f"cannot write {path}: {exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_OUTPUT) from None
        finally:
            hold()  # a signal now waits for the clean-up
            for tmp, _ in temps:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def _new_temp(path: Path, temps: list[tuple[str, Path]]) -> int:
    """Make ``.<name>.<8 random characters>.tmp`` beside ``path`` (0600, as ``mkstemp`` would) and return its
    descriptor; its name is in ``temps`` before the file exists. (With ``mkstemp`` a stop signal landing after the
    file was made, before its name was kept, left it behind: the clean-up did not know it.)"""
    import secrets

    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(4)}.tmp")
        temps.append((tmp, path))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:  # another write's name: not ours to remove
            temps.pop()


#: A temp file of an output this many seconds old is no write in flight (a build writes its files in
#: seconds), but one a killed process left (SIGKILL, a power cut: nothing could remove it then).
STALE_TEMP_S = 3600.0


def _remove_stale_temps(paths: list[Path]) -> None:
    """Remove the temp files of ``paths`` (``.<name>.<8 characters>.tmp`` beside each, as :func:`_write_atomically`
    names them) older than :data:`STALE_TEMP_S`: another command's write in flight is seconds old. Nothing else in
    the folder is touched; a file that cannot be removed is left."""
    import re
    import time

    stale = time.time() - STALE_TEMP_S
    for path in paths:
        name = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
        try:
            entries = list(os.scandir(path.parent))
        except OSError:
            continue
        for entry in entries:
            if not name.fullmatch(entry.name):
                continue
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < stale:
                    os.unlink(entry.path)
            except OSError:  # gone meanwhile, or not ours to remove
                continue


#: What ``stat`` calls a file that is neither a regular file, a folder nor a symbolic link.
_SPECIAL = {stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFIFO: "a pipe", stat.S_IFSOCK: "a socket"}


def _check_target(path: Path) -> None:
    """Raise OSError unless an output may be renamed onto ``path``: nothing there, a regular file, or a symbolic
    link to one (the link is replaced). A rename onto a folder fails; one onto a device, a pipe or a socket, or a
    link to one, would replace it: ``generate -o /dev/null`` run as root swapped the system's /dev/null for a
    regular file (and ``-o /dev/stdout`` the link of that name). A link through ``/proc`` (``/dev/stdout``,
    ``/dev/fd/1``: a file descriptor of this process) is refused too, whatever it leads to: with standard output
    a regular file, the rename replaced the system's ``/dev/stdout`` link (``-o -`` writes standard output)."""
    if _through_proc(path):
        raise OSError(errno.EEXIST, "it is a link to a file descriptor, not a file (-o - writes standard output)")
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there, or a link to nothing
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    kind = _SPECIAL.get(stat.S_IFMT(mode))
    if kind is not None:
        raise OSError(errno.EEXIST, f"it is {kind}, not a regular file")


def _through_proc(path: Path) -> bool:
    """Whether ``path``'s chain of symbolic links (its folders' included) passes through ``/proc``."""
    for _ in range(40):  # the kernel's own bound on a chain of links
        if os.path.realpath(path.parent).startswith("/proc/"):
            return True
        if not path.is_symlink():
            return False
        path = path.parent / os.readlink(path)
    return False


@contextmanager
def _folders_locked(folders: Iterable[Path]) -> Iterator[None]:
    """An exclusive ``flock`` on each of ``folders`` for the block: two commands putting files in one folder at
    once put them in one after the other. The lock goes with the descriptor, so a killed command holds none."""
    import fcntl

    fds: list[int] = []
    try:
        for folder in sorted(set(folders)):
            fds.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
            fcntl.flock(fds[-1], fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


class _Stopped(BaseException):
    """A stop signal arrived before the outputs were renamed into place: unwinds to :func:`_signals_held`."""


#: The signals that stop a command: Ctrl-C, ``kill``, the terminal closed.
_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def _signals_held() -> Iterator[Callable[[], None]]:
    """Stop signals (SIGINT, SIGTERM, SIGHUP) in the block: until the function it yields is called, the first
    one unwinds the block (its ``finally`` clauses remove the temp files) and then acts as it would have; after
    it, they are held, and act once the block ends. A signal the process ignores stays ignored; one whose
    handler returns after unwinding the block still ends the command (exit 128 + its number), never as if the
    files had been written.

    SIGTERM and SIGHUP end the process at once by default: while a 6 MB GLB was written, one left its partial
    temp file in the output folder. Their Python handlers are swapped, not the thread's signal mask: a signal
    sent to the process may be taken by any thread, and Python runs its handler in the main thread whichever did.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    caught: list[int] = []
    holding = False

    def handler(number: int, frame: object) -> None:
        caught.append(number)
        if not holding and len(caught) == 1:  # once: a second signal must not cut the clean-up short
            raise _Stopped

    def hold() -> None:
        nonlocal holding
        holding = True

    previous: dict[signal.Signals, Any] = {}
    for sig in (getattr(signal, name) for name in _STOP_SIGNALS if hasattr(signal, name)):
        before = signal.getsignal(sig)
        if before is not None and before is not signal.SIG_IGN:  # None: a handler not set from Python
            previous[sig] = signal.signal(sig, handler)
    stopped = False
    try:
        yield hold
    except _Stopped:
        stopped = True
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)
    if stopped:
        raise typer.Exit(128 + caught[0])


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing (or cannot be looked at): not the same file
        return False
