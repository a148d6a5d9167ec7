"""Service settings from ``SCENEFORGE_*`` environment variables (and CLI flags, passed as overrides)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Every field reads ``SCENEFORGE_<FIELD>``; e.g. ``data_dir`` ← ``SCENEFORGE_DATA_DIR``."""

    model_config = SettingsConfigDict(env_prefix="SCENEFORGE_", extra="ignore", frozen=True)

    #: Where the embedded database, blobs, admin key and link secret live.
    data_dir: Path = Path("data")
    #: ``sqlite:///…`` or ``postgresql://…``; empty = SQLite at ``<data_dir>/sceneforge.db``.
    database_url: str = ""
    #: Run the migrations at start-up (turn off when ``sceneforge db upgrade`` is a deploy step).
    auto_migrate: bool = True
    #: ``file`` (``<data_dir>/blobs``) or ``s3`` (``SCENEFORGE_S3_*``).
    blobs: Literal["file", "s3"] = "file"
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    #: ``direct`` (the app sends bytes), ``accel`` (X-Accel-Redirect for nginx), ``redirect`` (302 to presigned S3).
    delivery: Literal["direct", "accel", "redirect"] = "direct"
    #: The nginx ``internal`` location that maps to ``<data_dir>/blobs`` when ``delivery=accel``.
    accel_prefix: str = "/_blobs"
    #: Seconds a presigned URL stays valid when ``delivery=redirect``.
    presign_expires_s: int = Field(default=300, ge=1)
    #: Comma-separated origins allowed by CORS (``*`` for any); empty = no CORS headers.
    cors_origins: str = ""
    #: HS256 secret for ``Authorization: Bearer`` JWTs.
    jwt_secret: str = ""
    #: RS256 public key (PEM text, or a path to a PEM file) for JWTs.
    jwt_public_key: str = ""
    #: HMAC secret of ``?token=`` links; empty = a random one kept in ``<data_dir>/link.secret``.
    link_secret: str = ""
    #: Seconds of clock skew allowed when checking a JWT's ``exp`` (and ``nbf``/``iat``).
    jwt_leeway_s: float = Field(default=30.0, ge=0)
    #: Writes per minute per principal (API key id / JWT ``sub``); 0 turns the limit off.
    write_rate: int = Field(default=120, ge=0)
    #: Redis shared by the instances (events, rate limits); empty = each instance on its own.
    redis_url: str = ""
    #: Builds running at once in this process (each in a worker thread).
    build_concurrency: int = Field(default=2, ge=1)
    #: ``granian`` or ``uvicorn``.
    server: Literal["granian", "uvicorn"] = "granian"
    #: Root of the checkout holding ``clients/js`` and ``node_modules`` (default: the current directory).
    project_root: Path | None = None

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def s3_env(self) -> dict[str, str]:
        return {
            "SCENEFORGE_S3_ENDPOINT": self.s3_endpoint,
            "SCENEFORGE_S3_BUCKET": self.s3_bucket,
            "SCENEFORGE_S3_ACCESS_KEY": self.s3_access_key,
            "SCENEFORGE_S3_SECRET_KEY": self.s3_secret_key,
            "SCENEFORGE_S3_REGION": self.s3_region,
        }
