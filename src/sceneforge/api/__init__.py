"""The HTTP service: app factory, server entry points, and the delivery rules it follows."""

from .app import create_app
from .server import create_key, run_server
from .settings import Settings

__all__ = ["Settings", "create_app", "create_key", "run_server"]
