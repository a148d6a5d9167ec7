"""The one configuration of the service, its workers and the CLI: :class:`Settings`, in sections.

Every field reads one ``SCENEFORGE_*`` environment variable (:func:`env_var` names it; empty
means unset); keyword arguments (CLI flags, tests) win over the environment, section by
section and field by field. The object is built once per process entry point — ``sceneforge
serve``/``worker``/``build``, :func:`sceneforge.api.server.app_from_env` — and passed down
explicitly: the API, the embedded pool and its worker processes, Celery workers. The compiler
takes only :attr:`Settings.limits` (a :class:`~sceneforge.config.Limits`). docs/configuration.md
lists every setting. Reading it costs one pass over the environment.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .config import Limits

__all__ = [
    "AssistJobSettings",
    "AuthSettings",
    "DeliverySettings",
    "EventSettings",
    "ExportJobSettings",
    "JobSettings",
    "JobTypeSettings",
    "LlmSettings",
    "PreviewJobSettings",
    "ServerSettings",
    "Settings",
    "StorageSettings",
    "env_var",
]

PREFIX = "SCENEFORGE_"


#: The largest whole number a setting takes: the database's integer (a count past it failed each prune with an
#: overflow, after the service had started).
MAX_INT = 2**63 - 1
#: The longest time a setting takes, 100 years, in each unit a setting's name ends with: ``timedelta`` holds
#: less than 10^9 days and ``threading`` waits at most ~292 years, so ``inf`` or ``1e300`` failed (an
#: ``OverflowError``) inside the running service, not when it was read.
MAX_YEARS = 100
#: The most event streams a process may hold: granian serves that many connections plus 1,024
#: (``api.server.REQUEST_CONNECTIONS``) with a tokio semaphore, which holds at most 2^61-1 permits (more
#: panicked its worker once the server was listening).
MAX_STREAMS = 2**61 - 1 - 1024
#: URL schemes of the Celery brokers a worker can reach (kombu's transports over a network).
BROKER_SCHEMES = ("redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp", "sqs")
TIME_UNITS = {"_s": 1.0, "_hours": 3600.0, "_days": 86400.0}


def max_time(field: str) -> float:
    """The largest value of the time setting ``field`` (100 years in the unit its name ends with)."""
    unit = next((seconds for suffix, seconds in TIME_UNITS.items() if field.endswith(suffix)), None)
    if unit is None:
        raise KeyError(f"setting {field!r} holds a time but its name does not say its unit ({', '.join(TIME_UNITS)})")
    return MAX_YEARS * 365 * 86400.0 / unit


def _url(value: str, schemes: set[str], allowed: str) -> str:
    """``value`` when it is empty or a URL of one of ``schemes`` (a ``+driver`` after the scheme allowed) with a
    port that is a number; otherwise a ValueError saying what is allowed. Checked when the settings are read, so
    a command stops at once instead of failing inside the server it was starting."""
    if not value:
        return value
    scheme = value.partition("://")[0].split("+")[0].lower() if "://" in value else ""
    if scheme not in schemes:
        raise ValueError(f"not a URL this service uses: {allowed}")
    from urllib.parse import urlsplit

    try:
        urlsplit(value).port  # noqa: B018 (reading it checks it)
    except ValueError as exc:  # a port that is not a number from 0 to 65535, an unclosed [ of an IPv6 host
        raise ValueError(f"not a URL ({exc})") from None
    return value


class Section(BaseModel):
    """One concern's settings. ``ENV`` maps a field to its variable where that is not ``SCENEFORGE_<FIELD>``.

    Every number is finite (``nan`` and ``inf`` are refused), whole numbers are at most :data:`MAX_INT`, and
    every fractional setting is a time of at most :data:`MAX_YEARS` years in the unit its name ends with.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    ENV: ClassVar[dict[str, str]] = {}

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        if isinstance(value, int) and value > MAX_INT:
            raise ValueError(f"at most {MAX_INT:,} (2^63-1)")
        if isinstance(value, float):
            field = info.field_name or ""
            most = max_time(field)
            if value > most:
                unit = next(suffix for suffix in TIME_UNITS if field.endswith(suffix)).lstrip("_")
                raise ValueError(f"at most {most:,.0f} {'seconds' if unit == 's' else unit} ({MAX_YEARS} years)")
        return value


class StorageSettings(Section):
    """Where metadata and blobs live."""

    #: Embedded database, file blobs, admin key and link secret.
    data_dir: Path = Path("data")
    #: ``sqlite:///…`` or ``postgresql://…``; empty = SQLite at ``<data_dir>/sceneforge.db``.
    database_url: str = ""
    #: Seconds a PostgreSQL statement or connection attempt waits for the server; past it the request is a 503.
    database_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Run the migrations at start-up (turn off when ``sceneforge db upgrade`` is a deploy step).
    auto_migrate: bool = True
    #: ``file`` (``<data_dir>/blobs``) or ``s3``.
    blobs: Literal["file", "s3"] = "file"
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"
    #: Seconds an S3 request waits to connect and for each read of the answer (4 tries: a stopped S3 is a
    #: 503 within about four times this, never a request held for minutes).
    s3_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    #: Revisions kept per draft (undo reaches back this many changes); older ones and their snapshots go.
    keep_revisions: int = Field(default=1000, ge=1)
    #: Bytes of per-cell build results kept for incremental builds (``<data_dir>/cellcache`` or the
    #: bucket's ``cells/``); 0 turns incremental builds off.
    cell_cache_bytes: int = Field(default=1 << 30, ge=0)

    @field_validator("s3_endpoint")
    @classmethod
    def _s3_endpoint(cls, value: str) -> str:
        return _url(value, {"http", "https"}, "http://HOST[:PORT] or https://…")

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        return _url(
            value, {"sqlite", "postgresql", "postgres"}, "sqlite:///PATH or postgresql://[USER@]HOST[:PORT]/NAME"
        )


class AuthSettings(Section):
    """Credentials and write throttling."""

    #: HS256 secret for ``Authorization: Bearer`` JWTs.
    jwt_secret: SecretStr = SecretStr("")
    #: RS256 public key (PEM text, or a path to a PEM file) for JWTs.
    jwt_public_key: str = ""
    #: HMAC secret of ``?token=`` links; empty = a random one kept in ``<data_dir>/link.secret``.
    link_secret: SecretStr = SecretStr("")
    #: Seconds of clock skew allowed when checking a JWT's ``exp`` (and ``nbf``/``iat``).
    jwt_leeway_s: float = Field(default=30.0, ge=0)
    #: Writes per minute per principal (API key id / JWT ``sub``); 0 turns the limit off.
    write_rate: int = Field(default=120, ge=0)


class DeliverySettings(Section):
    """How GLB, meta and asset bytes leave the service."""

    ENV: ClassVar[dict[str, str]] = {"mode": "SCENEFORGE_DELIVERY"}

    #: ``direct`` (the app sends bytes), ``accel`` (X-Accel-Redirect for nginx), ``redirect`` (302 to presigned S3).
    mode: Literal["direct", "accel", "redirect"] = "direct"
    #: The nginx ``internal`` location that maps to ``<data_dir>/blobs`` when ``mode=accel``.
    accel_prefix: str = "/_blobs"
    #: Seconds a presigned URL stays valid when ``mode=redirect``: at most 7 days, the longest S3's signature
    #: version 4 accepts (a longer one was signed, then refused by the store on every redirect).
    presign_expires_s: int = Field(default=300, ge=1, le=7 * 86400)
    #: Where preview and export files are public (a CDN or the bucket's public URL): their URLs become
    #: ``<public_base_url>/<object name>`` (``blobs/<key>`` in S3) and their routes redirect there.
    public_base_url: str = ""

    @field_validator("public_base_url")
    @classmethod
    def _public_base(cls, value: str) -> str:
        return _url(value, {"http", "https"}, "http://HOST[:PORT][/PATH] or https://…")


class ServerSettings(Section):
    """The HTTP server process."""

    ENV: ClassVar[dict[str, str]] = {"kind": "SCENEFORGE_SERVER"}

    #: ``granian`` or ``uvicorn``.
    kind: Literal["granian", "uvicorn"] = "granian"
    #: Comma-separated origins allowed by CORS (``*`` for any); empty = no CORS headers.
    cors_origins: str = ""
    #: Seconds to wait for the next part of a request body (nginx's ``client_body_timeout``); past it the
    #: request is refused (408), so a client that stops sending mid-body does not hold its connection.
    body_timeout_s: float = Field(default=60.0, gt=0)

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


class JobSettings(Section):
    """The build queue and whoever runs its builds (embedded pool or Celery workers)."""

    ENV: ClassVar[dict[str, str]] = {
        "lease_s": "SCENEFORGE_JOB_LEASE_S",
        "poll_s": "SCENEFORGE_JOB_POLL_S",
        "cancel_poll_s": "SCENEFORGE_JOB_CANCEL_POLL_S",
        "max_attempts": "SCENEFORGE_JOB_MAX_ATTEMPTS",
        "retry_base_s": "SCENEFORGE_JOB_RETRY_BASE_S",
        "progress_interval_s": "SCENEFORGE_JOB_PROGRESS_S",
        "keep_jobs": "SCENEFORGE_JOB_KEEP",
        "keep_days": "SCENEFORGE_JOB_KEEP_DAYS",
        "sweep_s": "SCENEFORGE_JOB_SWEEP_S",
        "timeout_s": "SCENEFORGE_JOB_TIMEOUT_S",
        "memory_mb": "SCENEFORGE_JOB_MEMORY_MB",
        "queue_wait_s": "SCENEFORGE_JOB_QUEUE_WAIT_S",
    }

    #: ``embedded`` (worker processes of the server) or ``celery``.
    executor: Literal["embedded", "celery"] = "embedded"
    #: Concurrent builds of the embedded pool / one Celery worker (default: CPU cores).
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    #: The Celery broker (``redis://…`` or ``amqp://…``); empty = ``SCENEFORGE_REDIS_URL``.
    broker_url: str = ""
    #: Celery worker pool (``prefork``, ``solo``, …).
    worker_pool: str = "prefork"
    #: Level generations (``GET /generate``) running at once in one API process (builds run on the workers).
    build_concurrency: int = Field(default=2, ge=1)
    #: A worker that has not renewed its lease for this long has died.
    lease_s: float = Field(default=15.0, gt=0)
    #: How often an idle embedded worker looks for work (also woken on enqueue).
    poll_s: float = Field(default=0.5, gt=0)
    #: How often a running build checks for a cancel request.
    cancel_poll_s: float = Field(default=0.2, gt=0)
    #: Attempts of a job hit by transient failures.
    max_attempts: int = Field(default=3, ge=1)
    #: First retry delay; doubled after each failed attempt.
    retry_base_s: float = Field(default=2.0, ge=0)
    #: Least time between two progress updates of one job.
    progress_interval_s: float = Field(default=0.5, ge=0)
    #: Finished jobs kept (newest first).
    keep_jobs: int = Field(default=10_000, ge=0)
    #: Finished jobs older than this many days are deleted.
    keep_days: float = Field(default=7.0, ge=0)
    #: Interval of lease reclaim, retention pruning, and Celery wake-ups.
    sweep_s: float = Field(default=5.0, gt=0)
    #: A build running longer is killed and its job fails, naming this setting (0 = no limit).
    timeout_s: float = Field(default=300.0, ge=0)
    #: Address space (MiB) a build may add to its worker process (``RLIMIT_AS``); beyond it the job fails (0 = no cap).
    memory_mb: int = Field(default=4096, ge=0, le=MAX_INT >> 20)  # in bytes, an int64 (setrlimit)
    #: ``POST /scenes/build`` gives up with a 503 when no worker has taken its job after this many seconds.
    queue_wait_s: float = Field(default=60.0, gt=0)

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, value: str) -> str:
        return _url(value, set(BROKER_SCHEMES), "redis://…, amqp://…, sqs://… (the schemes of Celery's brokers)")

    @property
    def keep_jobs_age(self) -> timedelta:
        return timedelta(days=self.keep_days)


class JobTypeSettings(Section):
    """One job type's queue: how many run at once, attempts, timeout, retention, priority."""

    #: Jobs of this type running at once in one embedded pool / one Celery worker.
    concurrency: int = Field(default=1, ge=1)
    #: Attempts of a job hit by transient failures.
    max_attempts: int = Field(default=3, ge=1)
    #: Seconds a job may run before it is stopped and failed.
    timeout_s: float = Field(default=120.0, gt=0)
    #: Succeeded jobs kept (newest first), like BullMQ's removeOnComplete.
    keep_completed: int = Field(default=1000, ge=0)
    #: Failed and canceled jobs kept (newest first), like BullMQ's removeOnFail.
    keep_failed: int = Field(default=1000, ge=0)
    #: Priority of the jobs (higher runs first within the type's queue).
    priority: int = Field(default=0, ge=-100, le=100)


def _type_env(kind: str) -> dict[str, str]:
    return {f: f"{PREFIX}{kind.upper()}_{f.upper()}" for f in JobTypeSettings.model_fields}


class PreviewJobSettings(JobTypeSettings):
    """``preview`` jobs: floor plan and thumbnail after every successful build (``SCENEFORGE_PREVIEW_*``)."""

    ENV: ClassVar[dict[str, str]] = _type_env("preview")

    priority: int = Field(default=-10, ge=-100, le=100)


class ExportJobSettings(JobTypeSettings):
    """``export`` jobs: USDZ and OBJ on request (``SCENEFORGE_EXPORT_*``)."""

    ENV: ClassVar[dict[str, str]] = _type_env("export")

    timeout_s: float = Field(default=300.0, gt=0)


class AssistJobSettings(JobTypeSettings):
    """``assist`` jobs: one assistant answer each, I/O bound, run in the claiming process's event loop
    (``SCENEFORGE_ASSIST_*``). One attempt only: a model call is not idempotent, so a lost answer ends
    with an error instead of running again into a second set of revisions."""

    ENV: ClassVar[dict[str, str]] = _type_env("assist")

    concurrency: int = Field(default=4, ge=1)
    max_attempts: int = Field(default=1, ge=1, le=1)
    #: Seconds one whole answer (every model round and tool call) may take.
    timeout_s: float = Field(default=600.0, gt=0)


class EventSettings(Section):
    """The event log, its fan-out between instances, and the live streams."""

    ENV: ClassVar[dict[str, str]] = {
        "client_queue": "SCENEFORGE_SSE_QUEUE",
        "keep_hours": "SCENEFORGE_EVENT_KEEP_HOURS",
    }

    #: Redis shared by the instances (events, presence, write rate limits); empty = events through PostgreSQL
    #: LISTEN/NOTIFY when the database is PostgreSQL, else in this process alone (docs/configuration.md).
    redis_url: str = ""
    #: A comment line on an idle SSE stream, and ``{"op":"heartbeat"}`` on an idle WebSocket, every this many seconds.
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    #: Events a client may fall behind before it is dropped (it resumes).
    client_queue: int = Field(default=1000, ge=1)
    #: Scenes one WebSocket connection may follow at once; a subscribe past it is answered with an error.
    ws_max_subscriptions: int = Field(default=64, ge=1)
    #: Event streams (SSE and WebSocket together) one server process holds open at once; past it a stream is
    #: refused (503, a socket closed with 1013) and granian keeps connection slots for every other request.
    max_streams: int = Field(default=1000, ge=1, le=MAX_STREAMS)
    #: Presence messages one WebSocket connection may send (a ``limits`` rate: ``10/second``, ``100/minute``;
    #: empty turns the limit off); past it the connection is closed with 4429.
    ws_presence_rate: str = "10/second"
    #: Events kept for replay, in hours.
    keep_hours: float = Field(default=24.0, ge=0)

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str) -> str:
        return _url(value, {"redis", "rediss"}, "redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://…")

    @field_validator("ws_presence_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        if value.strip():
            parse(value)  # ValueError naming what it could not read
        return value.strip()

    @property
    def keep_events_age(self) -> timedelta:
        return timedelta(hours=self.keep_hours)


class LlmSettings(Section):
    """An OpenAI-compatible language model endpoint (assisted edits)."""

    ENV: ClassVar[dict[str, str]] = {
        "base_url": "SCENEFORGE_LLM_BASE_URL",
        "api_key": "SCENEFORGE_LLM_API_KEY",
        "model": "SCENEFORGE_LLM_MODEL",
        "default_model": "SCENEFORGE_LLM_DEFAULT_MODEL",
        "max_tool_rounds": "SCENEFORGE_LLM_MAX_TOOL_ROUNDS",
        "max_tokens": "SCENEFORGE_LLM_MAX_TOKENS",
        "timeout_s": "SCENEFORGE_LLM_TIMEOUT_S",
        "max_history_chars": "SCENEFORGE_LLM_MAX_HISTORY_CHARS",
    }

    #: Base URL of the endpoint (``…/v1``); empty = no model configured (assist answers 503).
    base_url: str = ""
    api_key: SecretStr = SecretStr("")
    #: The model name sent with each request; empty = ``default_model``.
    model: str = ""
    #: The model used when ``model`` is empty.
    default_model: str = "gpt-4o-mini"
    #: Rounds of tool calls one assistant message may make.
    max_tool_rounds: int = Field(default=6, ge=1, le=50)
    #: Completion tokens one assistant message may use, all rounds together.
    max_tokens: int = Field(default=8192, ge=16)
    #: Seconds one request to the endpoint may take.
    timeout_s: float = Field(default=120.0, gt=0)
    #: Characters of a session's earlier messages sent with each request: the newest that fit (the question
    #: asked always does: it holds at most 8,000). A long session sent every message it ever had.
    max_history_chars: int = Field(default=48_000, ge=8_000)

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        return _url(value, {"http", "https"}, "http://HOST[:PORT]/v1 or https://…")


class Settings(BaseSettings):
    """Everything configurable, one section per concern. ``Settings()`` reads the environment."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    limits: Limits = Field(default_factory=Limits)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    preview: PreviewJobSettings = Field(default_factory=PreviewJobSettings)
    export: ExportJobSettings = Field(default_factory=ExportJobSettings)
    assist: AssistJobSettings = Field(default_factory=AssistJobSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)

    @property
    def broker_url(self) -> str:
        """The Celery broker: ``jobs.broker_url``, else ``events.redis_url`` (may be empty)."""
        return self.jobs.broker_url or self.events.redis_url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _SectionEnv(settings_cls))


def _section_fields(section: type[Any]) -> list[str]:
    if dataclasses.is_dataclass(section):
        return [f.name for f in dataclasses.fields(section)]
    return list(section.model_fields)


def _section_class(section: str) -> type[Any]:
    annotation = Settings.model_fields[section].annotation
    if not isinstance(annotation, type):
        raise TypeError(f"settings section {section!r} is not a class")
    return annotation


def env_var(section: str, name: str) -> str:
    """The environment variable of ``Settings().<section>.<name>``."""
    section_cls = _section_class(section)
    if name not in _section_fields(section_cls):
        raise KeyError(f"no setting {section}.{name}")
    overrides: dict[str, str] = getattr(section_cls, "ENV", {})
    return overrides.get(name, PREFIX + name.upper())


def env_vars() -> dict[tuple[str, str], str]:
    """Every ``(section, field)`` with its environment variable."""
    return {
        (section, name): env_var(section, name)
        for section in Settings.model_fields
        for name in _section_fields(_section_class(section))
    }


class _SectionEnv(PydanticBaseSettingsSource):
    """Reads each section's fields from their ``SCENEFORGE_*`` variables (empty = unset)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, dict[str, str]] = {}
        for (section, name), var in env_vars().items():
            raw = os.environ.get(var)
            if raw is not None and raw.strip() != "":
                values.setdefault(section, {})[name] = raw.strip()
        return values
