"""The ``sceneforge`` command line (docs/cli.md).

Exit codes: 0 success, 2 invalid input (one ``<json-pointer>: <message>`` line per error on
stderr, nothing written), 1 anything else (a bad ``SCENEFORGE_*`` value included). Each command
reads the :class:`~sceneforge.settings.Settings` once, its flags overriding the environment
(docs/configuration.md), and passes them on. Heavy libraries are imported inside the commands
that need them: ``sceneforge --help`` and ``validate`` stay fast.

The commands live by what they work on: :mod:`.scenes` (``build``, ``validate``, ``inspect``,
``generate``), :mod:`.service` (``serve``, ``mcp``, ``worker``) and :mod:`.admin` (``keys``, ``gc``,
``db``), over :mod:`.program` (the app, exit codes, settings, the console script), :mod:`.files` and
:mod:`.database`. Importing this package registers them all, in the order ``--help`` lists them.

Unlike the rest of the package, these modules' annotations are objects, not strings (no ``from __future__
import annotations``): typer reads every command's parameters from them on each run, whichever command runs,
and a string annotation is compiled and evaluated each time (its ``typer.Option(...)`` made again), ~5 ms of
every command's start-up. Names imported only for type checking are quoted.
"""

from . import scenes, service, admin  # noqa: F401, I001  (registers the commands, in this order)
from .program import app, db_app, keys_app, load_settings, main

__all__ = ["app", "db_app", "keys_app", "load_settings", "main"]
