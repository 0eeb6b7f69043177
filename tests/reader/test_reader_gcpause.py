"""The reader's pause of the cyclic GC: counted across threads and nesting, always restored."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ckpt_tui.core.reader import inspect_checkpoint
from ckpt_tui.core.reader.gcpause import active_pauses, gc_paused
from ckpt_tui.core.reader.resolve import Resolver
from ckpt_tui.core.reader.unpickler import UnpicklingError, unpickle


@pytest.fixture(autouse=True)
def gc_enabled() -> Iterator[None]:
    """Every test starts with the collector on and must leave it on, with no pause open."""
    gc.enable()
    yield
    assert active_pauses() == 0
    assert gc.isenabled()


def test_pause_disables_and_restores() -> None:
    with gc_paused:
        assert not gc.isenabled()
        with gc_paused:  # nested: the inner end must not re-enable
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_keeps_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused:
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was not ours to enable
    finally:
        gc.enable()


def test_pause_is_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), gc_paused:
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_on_threads() -> None:
    """Thread A pauses, B pauses, A ends: the collector must stay off until B ends too.

    (With a plain disable/enable pair per read, A's end re-enabled it under B.)
    """
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with gc_paused:
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def second() -> None:
        a_in.wait(5)
        with gc_paused:
            b_in.set()
            a_out.wait(5)
            seen["after A ended"] = gc.isenabled()
        seen["after B ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after A ended": False, "after B ended": True}


def test_readers_on_threads_leave_the_collector_on(tmp_path: Path) -> None:
    """Many concurrent reads (good and broken files) end with the collector on and no pause."""
    good = tmp_path / "small.pkl"
    good.write_bytes(b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                inspect_checkpoint(good)
                inspect_checkpoint(bad)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


def test_unpickle_restores_the_collector_on_a_hostile_pickle() -> None:
    with pytest.raises(UnpicklingError):
        unpickle(b"\x80\x02r\xff\xff\xff\xff.", Resolver(), None)  # LONG_BINPUT on empty stack
    assert gc.isenabled()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_another_threads_pause_has_the_collector_on() -> None:
    """The thread that would end the pause does not exist in the child: the child must not be
    left with the collector off for good (nor with the pause's lock held)."""
    inside, release = threading.Event(), threading.Event()

    def reading() -> None:
        with gc_paused:
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=reading)
    thread.start()
    try:
        assert inside.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code, never return into pytest
            ok = gc.isenabled() and active_pauses() == 0
            with gc_paused:
                ok = ok and not gc.isenabled()
            os._exit(0 if ok and gc.isenabled() else 1)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert not gc.isenabled()  # the parent's pause goes on
    finally:
        release.set()
        thread.join(10)
