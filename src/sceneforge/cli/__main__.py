"""``python -m sceneforge.cli``: the console script."""

from .program import main

main()
