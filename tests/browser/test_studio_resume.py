"""A build whose live stream dies mid-way still ends Succeeded on the page: SSE resume from the last seq, or polling."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from .conftest import PageLog, StudioServer
from .proxy import CuttingProxy, cutting_proxy
from .studio import (
    TERMINAL,
    click_build,
    http_json,
    job_state,
    maze_text,
    open_studio,
    set_description,
    wait_job_done,
    wait_scene,
)

pytestmark = pytest.mark.server

#: Seconds a held 100-cell build may take once let go, on a loaded machine (a bound, not a measure).
BUILD_WAIT_S = 45.0

_RECORD_STATES = """() => {
    window.__jobStates = [];
    new MutationObserver(() => window.__jobStates.push(document.getElementById('job-state').textContent))
        .observe(document.getElementById('job-state'), { childList: true, characterData: true, subtree: true });
}"""


def _build_processes(server_pid: int) -> list[int]:
    """The server's build processes: its fork server and the workers forked from it (from /proc). Not the
    process that answers HTTP: the server runs the app in a worker process of its own (granian), which the
    page must still reach while builds are held."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [server_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            with suppress(OSError):
                if b"multiprocessing.forkserver" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
            todo.append(child)
    return found


@contextmanager
def _builds_held(server_pid: int, until: Callable[[], bool] = lambda: False) -> Iterator[Callable[[], None]]:
    """Stop the server's build processes until ``until()`` holds, the returned function is called, or the
    block ends. Nothing is timed: a build starts once the test's condition is met."""
    held = _build_processes(server_pid)
    assert held, "the server has no build processes to hold"
    for pid in held:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    released = threading.Event()
    lock = threading.Lock()

    def release() -> None:
        with lock:
            if released.is_set():
                return
            released.set()
            for pid in held:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def watch() -> None:
        while not released.wait(0.02):
            if until():
                release()

    threading.Thread(target=watch, daemon=True).start()
    try:
        yield release
    finally:
        release()


def _builds_held_until_streaming(server_pid: int, proxy: CuttingProxy, scene_id: str) -> AbstractContextManager[object]:
    """Hold the server's builds until the page's event stream of ``scene_id`` has begun to answer: the
    server subscribes a stream before it answers (docs/events.md), so every progress event of the build
    then goes to that stream. (It was: every process below the server — the HTTP worker too — until a
    second after the stream's request passed the proxy, or 30 s. The build request itself waited for the
    30 s, then the server subscribed the stream and the build ran at once, in a race the build could win.)"""
    return _builds_held(server_pid, lambda: proxy.responded(f"GET /jobs/events/{scene_id}"))


@contextmanager
def _studio_through(proxy: CuttingProxy, browser: Browser, server: StudioServer, log: PageLog) -> Iterator[Page]:
    """A studio page signed in through ``proxy`` (its console and errors in ``log``); closed on the way out."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.on("console", log.console)
        page.on("pageerror", log.page_error)
        open_studio(page, server.login_url.replace(f":{server.port}/", f":{proxy.port}/"))
        yield page
    finally:
        context.close()


def test_sse_cut_mid_build_resumes_from_last_seq(
    browser: Browser, studio_server: StudioServer, page_log: PageLog
) -> None:
    text = maze_text(100, 31)
    scene_id = json.loads(text)["sceneId"]
    with (
        cutting_proxy(studio_server.port, b"event: job.progress") as proxy,
        _studio_through(proxy, browser, studio_server, page_log) as page,
    ):
        set_description(page, text)
        page.evaluate(_RECORD_STATES)
        with _builds_held_until_streaming(studio_server.pid, proxy, scene_id):
            click_build(page)
            job = wait_job_done(page)
        assert job["status"] == "Succeeded", job
        assert job["progress"] == 100
        page.wait_for_function("document.getElementById('job-state').textContent.startsWith('Succeeded')")
        wait_scene(page, scene_id)
        states = page.evaluate("window.__jobStates")

    assert proxy.cut_at_seq is not None, f"the stream was never cut: {proxy.requests}"
    streams = [r for r in proxy.requests if r.startswith(f"GET /jobs/events/{scene_id}")]
    assert len(streams) >= 2, streams
    # The page resumes either by reconnecting itself with ?since= or through EventSource's own
    # reconnection, which sends Last-Event-ID: both must name the last event it received.
    resumed = [int(m.group(1)) for r in streams[1:] if (m := re.search(r"(?:[?&]since=|Last-Event-ID=)(\d+)", r))]
    # The proxy may cut before the page has parsed the last event it forwarded: resume at or before it.
    # When the cut comes before the page parsed any event of the stream, it has no position to name and
    # reconnects from now; the job still ends Succeeded on the page (asserted above, by resume or polling).
    assert all(0 < r <= proxy.cut_at_seq for r in resumed[:1]), (streams, proxy.cut_at_seq)
    assert any("reconnecting" in s for s in states), states
    # net::ERR_ messages of the dropped stream are the point of this test
    assert [e for e in page_log.errors if "ERR_" not in e and "jobs/events" not in e] == []


def _ended_on_server(server: StudioServer, job_id: str) -> dict[str, object]:
    """The job as the server has it once it has ended (asked directly, not through the proxy)."""
    deadline = time.monotonic() + BUILD_WAIT_S
    while True:
        status, job = http_json("GET", f"{server.base_url}/jobs/{job_id}", key=server.key)
        assert status == 200, (status, job)
        if job["status"] in TERMINAL:
            return dict(job)
        assert time.monotonic() < deadline, f"the build did not end: {job}"
        time.sleep(0.05)


def test_job_that_ends_before_its_stream_opens_still_ends_on_the_page(
    browser: Browser, studio_server: StudioServer, page_log: PageLog
) -> None:
    """The page looks at its job once when it starts following it and opens the job's event stream at the
    same time. Here the whole build runs between the two: the page's first look answers while the build
    is held, and its stream only reaches the server once the job has ended. The page looks again when the
    stream opens, and shows Succeeded (it stayed at Queued: the stream had nothing more to say)."""
    text = maze_text(100, 33)
    scene_id = json.loads(text)["sceneId"]
    with cutting_proxy(studio_server.port, b"event: job.progress") as proxy:
        proxy.armed = False  # nothing is cut here
        stream = proxy.hold(f"GET /jobs/events/{scene_id}")
        with _studio_through(proxy, browser, studio_server, page_log) as page:
            set_description(page, text)
            with _builds_held(studio_server.pid) as release:
                click_build(page)
                page.wait_for_function("window.sceneforge.jobState && window.sceneforge.jobState.jobId")
                job_id = str((job_state(page) or {})["jobId"])
                while not proxy.responded(f"GET /jobs/{job_id}"):  # the page's first look has its answer
                    time.sleep(0.02)
                release()
            assert _ended_on_server(studio_server, job_id)["status"] == "Succeeded"
            stream.set()  # the stream reaches the server now, after the job's last event
            job = wait_job_done(page)
            assert job["jobId"] == job_id and job["status"] == "Succeeded", job
            wait_scene(page, scene_id)
    assert proxy.responded(f"GET /jobs/events/{scene_id}")
    assert [e for e in page_log.errors if "ERR_" not in e and "jobs/events" not in e] == []


def test_sse_unavailable_falls_back_to_polling(
    browser: Browser, studio_server: StudioServer, page_log: PageLog
) -> None:
    text = maze_text(100, 32)
    scene_id = json.loads(text)["sceneId"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    aborted: list[str] = []

    def refuse(route: Route) -> None:
        aborted.append(route.request.url)
        route.abort("connectionreset")

    try:
        page = context.new_page()
        page.route(re.compile(r".*/jobs/events/.*"), refuse)
        open_studio(page, studio_server.login_url)
        set_description(page, text)
        page.evaluate(_RECORD_STATES)
        click_build(page)
        job = wait_job_done(page)
        assert job["status"] == "Succeeded", job
        page.wait_for_function("document.getElementById('job-state').textContent.startsWith('Succeeded')")
        wait_scene(page, scene_id)
        assert aborted, "the page never opened the event stream"
        assert page.evaluate("document.getElementById('progress-bar').style.width") == "100%"
    finally:
        context.close()


#: The page's JobWatcher (api.js) with a stream and a service of the test's making: answers to
#: ``GET /jobs/{id}`` come when the test says, events when it sends them.
_WATCH_WITH_HELD_ANSWERS = """async (eventFirst) => {
    const { JobWatcher } = await import('/studio/api.js');
    const sources = [];
    window.EventSource = class {
        constructor(url) { this.url = url; this.listeners = {}; sources.push(this); }
        addEventListener(type, listener) { (this.listeners[type] ||= []).push(listener); }
        close() { this.closed = true; }
        send(type, seq, job) {
            const data = JSON.stringify({ seq, type, sceneId: 's', job });
            for (const listener of this.listeners[type] || []) listener({ lastEventId: String(seq), data });
        }
    };
    const answers = [];
    const api = { job: () => new Promise((resolve) => answers.push(resolve)) };
    const job = (status, progress, stage) =>
        ({ jobId: 'j1', sceneId: 's', type: 'build', status, progress, stage, attempt: 1 });
    const shown = [];
    const watcher = new JobWatcher(api, 's', 'j1', { onJob: (j) => shown.push(`${j.status} ${j.progress}`) });
    const done = watcher.start();  // asks for the job (answer 0) and opens the stream
    sources[0].onopen();  // open: asks again (answer 1)
    if (eventFirst) sources[0].send('job.progress', 7, job('Running', 60, 'geometry'));
    // both answers read the job while it was starting, and arrive now
    answers[0](job('Queued', 0, null));
    answers[1](job('Running', 0, 'ingest'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const before = shown.slice();
    sources[0].send('job.status', 8, job('Succeeded', 100, 'done'));
    return { shown: before, end: (await done).status };
}"""


def test_an_answer_older_than_the_stream_does_not_step_the_job_back(page: Page, studio_server: StudioServer) -> None:
    """The look at the job that each stream opening makes can arrive after an event the stream already
    delivered (a loaded page, a slow answer): it is older, and the page does not go back to it."""
    open_studio(page, studio_server.base_url)
    watched = page.evaluate(_WATCH_WITH_HELD_ANSWERS, True)
    assert watched == {"shown": ["Running 60"], "end": "Succeeded"}, watched
    # without an event before them the answers are the news: each is shown
    watched = page.evaluate(_WATCH_WITH_HELD_ANSWERS, False)
    assert watched == {"shown": ["Queued 0", "Running 0"], "end": "Succeeded"}, watched
