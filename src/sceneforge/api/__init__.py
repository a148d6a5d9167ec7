"""The HTTP service: app factory, server entry points, and the delivery rules it follows."""

from .app import create_app
from .server import create_key, run_server

__all__ = ["create_app", "create_key", "run_server"]
