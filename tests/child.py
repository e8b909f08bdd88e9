"""A child process a test starts with piped output: stopped by SIGTERM or SIGKILL, its output read to the end."""

from __future__ import annotations

import signal
import subprocess
import threading


class Child:
    """Holds ``proc`` (a Popen with stdout and stderr piped) and ``drains``, the threads reading its pipes."""

    proc: subprocess.Popen
    drains: list[threading.Thread]

    def start_drains(self, *targets) -> None:
        self.drains = [threading.Thread(target=target, args=args, daemon=True) for target, *args in targets]
        for thread in self.drains:
            thread.start()

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait for the exit, and return its status."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.close_pipes()
        return code

    def kill(self) -> None:
        """SIGKILL (when still running) and wait."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.close_pipes()

    def close_pipes(self) -> None:
        """After the child exited: read its output to the end, then close the pipes."""
        for thread in self.drains:
            thread.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if not pipe.closed:
                pipe.close()
