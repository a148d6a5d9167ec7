"""The one settings object: every ``SCENEFORGE_*`` name, precedence of arguments, errors, documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sceneforge.cli import app
from sceneforge.config import Limits
from sceneforge.settings import Settings, env_var, env_vars

#: Names deployments already use, with the setting each one sets and a value as the environment gives it.
KNOWN = [
    ("SCENEFORGE_MAX_BODY_BYTES", ("limits", "max_body_bytes"), "1_000", 1000),
    ("SCENEFORGE_MAX_UPLOAD_BYTES", ("limits", "max_upload_bytes"), "2000", 2000),
    ("SCENEFORGE_MAX_EXPORT_BODY_BYTES", ("limits", "max_export_body_bytes"), "300", 300),
    ("SCENEFORGE_MAX_CELLS", ("limits", "max_cells"), "5", 5),
    ("SCENEFORGE_MAX_TRIANGLES", ("limits", "max_triangles"), "77", 77),
    ("SCENEFORGE_MAX_PORTALS", ("limits", "max_portals"), "8", 8),
    ("SCENEFORGE_DATA_DIR", ("storage", "data_dir"), "/srv/sf", Path("/srv/sf")),
    ("SCENEFORGE_DATABASE_URL", ("storage", "database_url"), "postgresql://db/sf", "postgresql://db/sf"),
    ("SCENEFORGE_AUTO_MIGRATE", ("storage", "auto_migrate"), "false", False),
    ("SCENEFORGE_BLOBS", ("storage", "blobs"), "s3", "s3"),
    ("SCENEFORGE_S3_BUCKET", ("storage", "s3_bucket"), "b", "b"),
    ("SCENEFORGE_WRITE_RATE", ("auth", "write_rate"), "0", 0),
    ("SCENEFORGE_JWT_PUBLIC_KEY", ("auth", "jwt_public_key"), "pem", "pem"),
    ("SCENEFORGE_DELIVERY", ("delivery", "mode"), "accel", "accel"),
    ("SCENEFORGE_ACCEL_PREFIX", ("delivery", "accel_prefix"), "/x", "/x"),
    ("SCENEFORGE_PRESIGN_EXPIRES_S", ("delivery", "presign_expires_s"), "60", 60),
    ("SCENEFORGE_SERVER", ("server", "kind"), "uvicorn", "uvicorn"),
    ("SCENEFORGE_CORS_ORIGINS", ("server", "cors_origins"), "*", "*"),
    ("SCENEFORGE_EXECUTOR", ("jobs", "executor"), "celery", "celery"),
    ("SCENEFORGE_WORKERS", ("jobs", "workers"), "517", 517),
    ("SCENEFORGE_BROKER_URL", ("jobs", "broker_url"), "amqp://q", "amqp://q"),
    ("SCENEFORGE_WORKER_POOL", ("jobs", "worker_pool"), "solo", "solo"),
    ("SCENEFORGE_BUILD_CONCURRENCY", ("jobs", "build_concurrency"), "4", 4),
    ("SCENEFORGE_JOB_LEASE_S", ("jobs", "lease_s"), "7.5", 7.5),
    ("SCENEFORGE_JOB_POLL_S", ("jobs", "poll_s"), "0.25", 0.25),
    ("SCENEFORGE_JOB_CANCEL_POLL_S", ("jobs", "cancel_poll_s"), "0.1", 0.1),
    ("SCENEFORGE_JOB_MAX_ATTEMPTS", ("jobs", "max_attempts"), "5", 5),
    ("SCENEFORGE_JOB_RETRY_BASE_S", ("jobs", "retry_base_s"), "1", 1.0),
    ("SCENEFORGE_JOB_PROGRESS_S", ("jobs", "progress_interval_s"), "2", 2.0),
    ("SCENEFORGE_JOB_KEEP", ("jobs", "keep_jobs"), "10", 10),
    ("SCENEFORGE_JOB_KEEP_DAYS", ("jobs", "keep_days"), "1.5", 1.5),
    ("SCENEFORGE_JOB_SWEEP_S", ("jobs", "sweep_s"), "3", 3.0),
    ("SCENEFORGE_REDIS_URL", ("events", "redis_url"), "redis://r:6379/0", "redis://r:6379/0"),
    ("SCENEFORGE_SSE_HEARTBEAT_S", ("events", "sse_heartbeat_s"), "5", 5.0),
    ("SCENEFORGE_SSE_QUEUE", ("events", "client_queue"), "50", 50),
    ("SCENEFORGE_EVENT_KEEP_HOURS", ("events", "keep_hours"), "2", 2.0),
    ("SCENEFORGE_LLM_BASE_URL", ("llm", "base_url"), "http://llm:8080/v1", "http://llm:8080/v1"),
    ("SCENEFORGE_LLM_MODEL", ("llm", "model"), "small", "small"),
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in env_vars().values():
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize(("var", "where", "raw", "value"), KNOWN, ids=[k[0] for k in KNOWN])
def test_settings_read_every_known_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, where: tuple[str, str], raw: str, value: object
) -> None:
    def current() -> object:
        return getattr(getattr(Settings(), where[0]), where[1])

    assert env_var(*where) == var
    default = current()
    monkeypatch.setenv(var, raw)
    assert current() == value != default
    monkeypatch.setenv(var, "  ")  # empty counts as unset
    assert current() == default


def test_settings_secrets_read_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = ("SCENEFORGE_JWT_SECRET", "SCENEFORGE_LINK_SECRET", "SCENEFORGE_S3_SECRET_KEY", "SCENEFORGE_LLM_API_KEY")
    for var in secrets:
        monkeypatch.setenv(var, f"hush-{var}")
    settings = Settings()
    assert settings.auth.jwt_secret.get_secret_value() == "hush-SCENEFORGE_JWT_SECRET"
    assert settings.llm.api_key.get_secret_value() == "hush-SCENEFORGE_LLM_API_KEY"
    assert "hush" not in repr(settings) and "hush" not in str(settings.model_dump())


def test_settings_arguments_override_the_environment_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCENEFORGE_MAX_CELLS", "9")
    monkeypatch.setenv("SCENEFORGE_MAX_TRIANGLES", "99")
    monkeypatch.setenv("SCENEFORGE_DATABASE_URL", "sqlite:///elsewhere.db")
    settings = Settings(limits={"max_cells": 3}, storage={"data_dir": "/d"})
    assert settings.limits == Limits(max_cells=3, max_triangles=99)
    assert settings.storage.data_dir == Path("/d") and settings.storage.database_url == "sqlite:///elsewhere.db"


def test_settings_broker_falls_back_to_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().broker_url == ""
    monkeypatch.setenv("SCENEFORGE_REDIS_URL", "redis://r/0")
    assert Settings().broker_url == "redis://r/0"
    monkeypatch.setenv("SCENEFORGE_BROKER_URL", "amqp://q")
    assert Settings().broker_url == "amqp://q"


@given(cells=st.integers(min_value=0, max_value=10**9), sep=st.booleans())
def test_settings_integers_as_deployments_write_them(cells: int, sep: bool) -> None:
    raw = f"{cells:_}" if sep else str(cells)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCENEFORGE_MAX_CELLS", raw)
        assert Settings().limits.max_cells == cells


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("SCENEFORGE_MAX_CELLS", "-1"),
        ("SCENEFORGE_MAX_CELLS", "many"),
        ("SCENEFORGE_EXECUTOR", "threads"),
        ("SCENEFORGE_JOB_LEASE_S", "0"),
        ("SCENEFORGE_WORKERS", "0"),
    ],
)
def test_settings_bad_value_names_the_variable_on_the_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, raw: str
) -> None:
    spec = tmp_path / "s.json"
    spec.write_text('{"sceneId": "s", "cells": [], "portals": []}')
    monkeypatch.setenv(var, raw)
    result = CliRunner().invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1
    assert re.search(rf"^error: {var}: .*\(got '{re.escape(raw)}'\)$", result.stderr, re.M), result.stderr


def test_settings_cli_flag_overrides_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCENEFORGE_DATA_DIR", str(tmp_path / "from-env"))
    result = CliRunner().invoke(app, ["db", "upgrade", "--data", str(tmp_path / "from-flag")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-flag" / "sceneforge.db").is_file() and not (tmp_path / "from-env").exists()


def test_settings_every_variable_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    for (section, name), var in env_vars().items():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{var}` ")), None)
        assert row is not None, f"{var} is not in docs/configuration.md"
        assert f"`{section}.{name}`" in row, f"{var}: the row should name `{section}.{name}`"
    documented = set(re.findall(r"^\| `(SCENEFORGE_[A-Z0-9_]+)` ", doc, re.M))
    assert documented == set(env_vars().values()), "docs/configuration.md lists a variable that is not read"


def _documented_default(cell: str) -> object:
    """A default as docs/configuration.md writes it: its first word, ``empty`` for ``""``."""
    word = cell.strip().split(" ")[0].strip("`")
    return "" if word == "empty" else word


def test_settings_every_documented_default_is_the_code_default() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    defaults = Settings.model_construct(
        **{section: field.get_default(call_default_factory=True) for section, field in Settings.model_fields.items()}
    )
    wrong = []
    for (section, name), var in env_vars().items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{var}` "))
        cell = row.split("|")[3]
        if cell.strip() == "CPU cores":  # default_factory: os.cpu_count()
            continue
        value = getattr(getattr(defaults, section), name)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        written = _documented_default(cell)
        if isinstance(value, bool):
            same = written == str(value).lower()
        elif isinstance(value, (int, float)):
            same = written != "" and float(written) == value
        else:
            same = written == str(value) or (value == "" and cell.strip().startswith("empty"))
        if not same:
            wrong.append(f"{var}: docs say {cell.strip()!r}, the code {value!r}")
    assert wrong == []


@pytest.mark.parametrize(
    ("var", "raw", "allowed"),
    [
        ("SCENEFORGE_EVENT_KEEP_HOURS", "inf", "finite number"),
        ("SCENEFORGE_JOB_LEASE_S", "nan", "finite number"),
        ("SCENEFORGE_JOB_KEEP_DAYS", "1e300", "at most 36,500 days (100 years)"),
        ("SCENEFORGE_JOB_TIMEOUT_S", "1e10", "at most 3,153,600,000 seconds (100 years)"),
        ("SCENEFORGE_JOB_KEEP", str(2**63), "at most 9,223,372,036,854,775,807 (2^63-1)"),
        ("SCENEFORGE_KEEP_REVISIONS", "9" * 30, "at most 9,223,372,036,854,775,807"),
        ("SCENEFORGE_JOB_MEMORY_MB", str(2**43), "less than or equal to 8796093022207"),
        ("SCENEFORGE_MAX_STREAMS", str(2**62), "less than or equal to 2305843009213692927"),
        ("SCENEFORGE_DATABASE_URL", "foo://x/y", "sqlite:///PATH or postgresql://"),
        ("SCENEFORGE_DATABASE_URL", "data/sf.db", "sqlite:///PATH or postgresql://"),
        ("SCENEFORGE_DATABASE_URL", "postgresql://db:five/sf", "not a URL (Port could not be cast"),
        ("SCENEFORGE_REDIS_URL", "localhost:6379", "redis://[:PASSWORD@]HOST[:PORT][/DB]"),
        ("SCENEFORGE_BROKER_URL", "junk", "redis://…, amqp://…, sqs://…"),
        ("SCENEFORGE_BROKER_URL", "postgresql://db/sf", "redis://…, amqp://…, sqs://…"),
        ("SCENEFORGE_LLM_BASE_URL", "localhost:8080/v1", "http://HOST[:PORT]/v1"),
        ("SCENEFORGE_PUBLIC_BASE_URL", "cdn.example.com", "http://HOST[:PORT][/PATH]"),
        ("SCENEFORGE_S3_ENDPOINT", "minio:9000", "http://HOST[:PORT]"),
        ("SCENEFORGE_S3_ENDPOINT", "http://minio:ninety", "not a URL (Port could not be cast"),
        ("SCENEFORGE_PRESIGN_EXPIRES_S", "604801", "less than or equal to 604800"),
    ],
)
def test_settings_that_failed_inside_the_running_service_stop_the_command_at_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, raw: str, allowed: str
) -> None:
    """These values were read without complaint, then failed once used: ``inf`` hours of events or ``1e300``
    days of jobs overflowed ``timedelta`` (serve listened, then its start-up died with a traceback), a count
    past the database's integer overflowed each prune, a memory cap past ``RLIMIT_AS`` failed every build, more
    streams than granian's semaphore holds panicked its worker, and
    a database or Redis URL of another kind ended ``serve`` and ``keys`` in a traceback, a Celery broker URL of
    another kind had a worker retry it for ever, a language model, public base or S3 endpoint URL without a
    scheme failed each request that used it, and a presigned link valid past S3's 7 days was refused by the
    store on every redirect. Each now stops the
    command before it does anything, with one line naming the variable and what it takes."""
    spec = tmp_path / "s.json"
    spec.write_text('{"sceneId": "s", "cells": [], "portals": []}')
    monkeypatch.setenv(var, raw)
    result = CliRunner().invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"error: {var}: "), result.stderr
    assert allowed in result.stderr and "Traceback" not in result.output


def test_settings_at_their_largest_still_work_where_they_are_used() -> None:
    """The bounds are what the code holds: 100 years of jobs or events is a ``timedelta``, and every time
    setting's name says its unit (a new one without a unit fails here, before it is given no bound)."""
    from sceneforge.settings import MAX_INT, max_time

    most = Settings(jobs={"keep_days": max_time("keep_days"), "keep_jobs": MAX_INT}, events={"keep_hours": "876000"})
    assert most.jobs.keep_jobs_age.days == 36_500 and most.events.keep_events_age.days == 36_500
    for section in Settings.model_fields:
        fields = getattr(Settings.model_fields[section].annotation, "model_fields", {})
        for name, field in fields.items():
            if field.annotation is float:
                assert max_time(name) >= 3600 or name.endswith(("_hours", "_days")), name


def test_settings_errors_never_show_a_url_s_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = tmp_path / "s.json"
    spec.write_text('{"sceneId": "s", "cells": [], "portals": []}')
    monkeypatch.setenv("SCENEFORGE_DATABASE_URL", "mysql://sf:hunter2@db/sf")
    result = CliRunner().invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1 and "hunter2" not in result.output
    assert "(got 'mysql://sf:***@db/sf')" in result.stderr, result.stderr
