"""A kiosk's network link as a TCP relay on loopback that a scenario can cut and restore.

The kiosk's publisher connects to the relay's port instead of the broker's.
``cut()`` drops every connection and stops listening, so connecting fails as
with a site whose uplink is down; ``restore()`` listens again on the same port
and the same publisher process reconnects by itself.
"""

from __future__ import annotations

import selectors
import socket
import threading

from .procs import wait_until


class Link:
    """Relays 127.0.0.1:port to the broker's port on one thread; cut and restored at will."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.selector = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.pairs: dict[socket.socket, socket.socket] = {}
        self.stopping = False
        self.port = self.listen(0)
        self.thread = threading.Thread(target=self.relay, name="link", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def listen(self, port: int) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(16)
        listener.setblocking(False)
        with self.lock:
            self.listener = listener
            self.selector.register(listener, selectors.EVENT_READ, "accept")
        return listener.getsockname()[1]

    @property
    def up(self) -> bool:
        return self.listener is not None

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        with self.lock:
            if self.listener is not None:
                self.selector.unregister(self.listener)
                self.listener.close()
                self.listener = None
            for sock in list(self.pairs):
                self.drop(sock)

    def restore(self) -> None:
        """Listen again on the same port."""
        if self.listener is None:
            wait_until(self.try_listen, 10.0, what=f"listening again on port {self.port}")

    def try_listen(self) -> bool:
        try:
            self.listen(self.port)
            return True
        except OSError:
            return False

    def close(self) -> None:
        self.stopping = True
        self.cut()
        self.thread.join(timeout=5)
        self.selector.close()

    def relay(self) -> None:
        while not self.stopping:
            for key, _mask in self.selector.select(timeout=0.1):
                with self.lock:
                    if key.data == "accept":
                        self.accept(key.fileobj)
                    elif key.fileobj in self.pairs:
                        self.forward(key.fileobj)

    def accept(self, listener: socket.socket) -> None:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.close()  # the broker is down: so is this connection
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.selector.register(sock, selectors.EVENT_READ, "data")
        self.pairs[client], self.pairs[upstream] = upstream, client

    def forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self.pairs[sock].settimeout(10)  # a peer that reads nothing for 10 s loses its link
                self.pairs[sock].sendall(data)
                self.pairs[sock].setblocking(False)
                return
        except OSError:
            pass
        self.drop(sock)

    def drop(self, sock: socket.socket) -> None:
        other = self.pairs.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self.pairs.pop(each, None)
            try:
                self.selector.unregister(each)
            except (KeyError, ValueError):
                pass
            each.close()
