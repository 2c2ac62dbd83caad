"""A raw-socket server for hostile-peer tests: each case is a short function handed the
accepted connection (drips, resets, lying Content-Length, bombs, garbage).

Binds 127.0.0.1 only. Leaving the `with` block stops every handler and closes every
socket (pytest turns unclosed-socket warnings into errors), then re-raises the first
error a handler made, so a broken test case cannot pass silently.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType

_MAX_REQUEST_BYTES = 64 * 1024
# A handler blocked on a silent client gives up after this long.
_PEER_TIMEOUT_S = 5.0
_JOIN_TIMEOUT_S = 5.0


class Peer:
    """One accepted connection, with the moves a hostile server makes."""

    def __init__(self, sock: socket.socket, stop: threading.Event, log: list[bytes]) -> None:
        self.sock = sock
        self.stop = stop  # set when the server shuts down: loops must end then
        self._log = log
        self._buffer = b""

    def read_request(self) -> bytes:
        """Read one request head (up to the blank line); b"" if the client closed first."""
        while b"\r\n\r\n" not in self._buffer:
            data = self.sock.recv(4096)
            if not data or len(self._buffer) > _MAX_REQUEST_BYTES:
                return b""
            self._buffer += data
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        self._log.append(head)
        return head

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, interval_s: float) -> None:
        """Send `data` one byte per `interval_s` (until the server stops)."""
        for byte in data:
            if self.stop.wait(interval_s):
                return
            self.sock.sendall(bytes([byte]))

    def drip_forever(self, byte: bytes, interval_s: float) -> None:
        while not self.stop.wait(interval_s):
            self.sock.sendall(byte)

    def reset(self) -> None:
        """Abort the connection: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def wake(self) -> None:
        # Unblocks a handler stuck in recv/send; the socket may be closed already.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


Handler = Callable[[Peer], None]


class HostileServer:
    """Accepts on 127.0.0.1:<free port>; each connection runs `handler` in its own thread."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # lets the accept loop notice `stop`
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []  # every request head read, in order
        self._stop = threading.Event()
        self._peers: list[Peer] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, name="hostile-accept")

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HostileServer:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._acceptor.join(_JOIN_TIMEOUT_S)
        self._listener.close()
        with self._lock:
            peers, threads = list(self._peers), list(self._threads)
        for peer in peers:
            peer.wake()
        for thread in threads:
            thread.join(_JOIN_TIMEOUT_S)
        stuck = [thread.name for thread in threads if thread.is_alive()]
        if exc is None and stuck:
            raise AssertionError(f"hostile handlers did not stop: {stuck}")
        if exc is None and self._errors:
            raise self._errors[0]

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            sock.settimeout(_PEER_TIMEOUT_S)
            peer = Peer(sock, self._stop, self.requests)
            thread = threading.Thread(
                target=self._serve, args=(peer,), name=f"hostile-{self.connections}"
            )
            with self._lock:
                self.connections += 1
                self._peers.append(peer)
                self._threads.append(thread)
            thread.start()

    def _serve(self, peer: Peer) -> None:
        try:
            self._handler(peer)
        except OSError:
            # The client hung up or the server is stopping: hostile cases provoke that.
            pass
        except BaseException as exc:  # re-raised by __exit__ in the test's thread
            self._errors.append(exc)
        finally:
            peer.sock.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released), for 'refused'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
