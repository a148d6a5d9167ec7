"""``python -m sceneforge``: the console script, as ``sceneforge`` (and ``python -m sceneforge.cli``) runs it."""

from .cli.program import main

main()
