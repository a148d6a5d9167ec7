"""Assisted edits (docs/assist.md): a language model reads a scene through tools and patches its draft.

:func:`run_assist` answers one message (an ``assist`` job, :mod:`sceneforge.jobs.assist`);
:class:`AssistService` follows messages for their streams; the tools the model sees are in
:mod:`sceneforge.assist.tools`.
"""

from .runner import SYSTEM_PROMPT, AssistContext, AssistJob, model_name, run_assist
from .service import AssistService
from .tools import TOOLS

__all__ = [
    "SYSTEM_PROMPT",
    "TOOLS",
    "AssistContext",
    "AssistJob",
    "AssistService",
    "model_name",
    "run_assist",
]
