"""A small TCP proxy in front of PostgreSQL that can simulate an outage.

gunicorn's DATABASE_URL points at the proxy's port on 127.0.0.1; the proxy forwards to the
server's Unix socket (or a TCP address). `down()` cuts every open connection (with a reset) and
refuses new ones until `up()`: to the application this is the same as a database restart, but
without touching the machine's shared PostgreSQL server.
"""

import contextlib
import socket
import struct
import threading
import time

DEFAULT_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"


def _reset(sock: socket.socket) -> None:
    """Cut a connection with RST (SO_LINGER 0), as a crashed server's host would.

    shutdown() first: it wakes a thread blocked in recv() on the socket, which close() alone does not.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class OutageProxy:
    def __init__(
        self, target: str | tuple[str, int] = DEFAULT_SOCKET, host: str = "127.0.0.1", port: int = 0
    ):
        self.target = target
        self._listener = socket.create_server((host, port), backlog=128)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._down = threading.Event()
        self._stopped = threading.Event()
        self.refused = 0  # connections refused while down
        self.cut = 0  # open connections cut by down()
        self.accepted = 0
        self.events: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._accept_loop, name="pg-proxy", daemon=True)

    # --- control ---------------------------------------------------------------------------------------

    def start(self) -> "OutageProxy":
        self._thread.start()
        return self

    def down(self) -> None:
        self._down.set()
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for client, server in pairs:
            _reset(client)
            _reset(server)
        self.cut += len(pairs)
        self.events.append((time.time(), "down"))

    def up(self) -> None:
        self._down.clear()
        self.events.append((time.time(), "up"))

    @property
    def is_down(self) -> bool:
        return self._down.is_set()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.down()

    # --- forwarding ------------------------------------------------------------------------------------

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            return upstream
        return socket.create_connection(self.target, timeout=5)

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._down.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                server = self._connect_upstream()
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            self.accepted += 1
            pair = (client, server)
            with self._lock:
                self._pairs.add(pair)
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
