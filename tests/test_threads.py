"""daemon.threads.Loop: the one stoppable thread every kiosk loop runs on."""

import threading

from daemon.threads import Loop


class Counter(Loop):
    thread_name = "counter"

    def __init__(self):
        super().__init__()
        self.turns = 0
        self.turned = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.01):
            self.turns += 1
            self.turned.set()


def test_ok__start_runs_the_loop_on_a_named_daemon_thread_and_stop_ends_it():
    loop = Counter().start()
    assert loop.turned.wait(5) and loop.running
    assert loop.thread.name == "counter" and loop.thread.daemon
    loop.stop()
    assert not loop.running and loop.stopping.is_set()


def test_ok__stop_before_start_and_twice_is_harmless():
    loop = Counter()
    loop.stop()
    assert loop.thread is None and not loop.running
    loop.stop()


def test_ok__stop_from_inside_the_loop_does_not_wait_for_itself():
    class Once(Loop):
        def run(self) -> None:
            self.stop()

    loop = Once().start()
    loop.thread.join(5)
    assert not loop.running


def test_fail__stop_waits_no_longer_than_its_timeout_for_a_loop_that_ignores_it():
    release = threading.Event()

    class Deaf(Loop):
        def run(self) -> None:
            release.wait(10)

    loop = Deaf().start()
    loop.stop(timeout=0.05)
    assert loop.running  # still in run: stop asked and gave up waiting
    release.set()
    loop.thread.join(5)
