from __future__ import annotations

import itertools

import pytest

from sceneforge.errors import AssetError, Issue, JobError, LimitExceeded, PassError, SceneInvalid, StorageError
from sceneforge.jobs.states import FINISHED, TRANSITIONS, JobStatus, backoff_s, check_transition, is_permanent


def test_status_strings_are_the_contract() -> None:
    assert [s.value for s in JobStatus] == ["Queued", "Running", "Succeeded", "Failed", "Canceled"]


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(JobStatus, JobStatus)))
def test_check_transition_every_pair(src: JobStatus, dst: JobStatus) -> None:
    if dst in TRANSITIONS[src]:
        assert check_transition(src.value, dst.value) is dst
    else:
        with pytest.raises(JobError):
            check_transition(src, dst)


def test_finished_states_are_terminal() -> None:
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED} == FINISHED


def test_backoff_doubles_and_caps() -> None:
    assert [backoff_s(a, 2.0) for a in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_s(30, 2.0, cap_s=60.0) == 60.0


def test_is_permanent_only_for_input_errors() -> None:
    assert is_permanent(SceneInvalid([Issue("/cells", "x", "bad")]))
    assert is_permanent(AssetError("/a", "no decode"))
    assert is_permanent(LimitExceeded("SCENEFORGE_MAX_CELLS", 5, 1))
    assert is_permanent(PassError("weld", "bad"))
    assert not is_permanent(StorageError("down"))
    assert not is_permanent(ConnectionError("reset"))
