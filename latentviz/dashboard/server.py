"""Start the dashboard server: port check, shared models, Panel's server and its auth.

The port is checked before anything heavy is imported or loaded, so a taken port fails
in a second with one clear line. The server listens on loopback unless told otherwise,
serves the app and Panel's own resources only (no static folders), and accepts
websocket connections from the names it is reached by.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from latentviz.errors import LatentvizError

__all__ = [
    "LOOPBACK",
    "ServeOptions",
    "ServerProcess",
    "check_port_free",
    "free_port",
    "is_loopback",
    "serve",
    "websocket_message_limit",
    "websocket_origins",
]

LOOPBACK = "127.0.0.1"


@dataclass
class ServeOptions:
    """How to serve (see ``latentviz serve --help``).

    Attributes
    ----------
    port, address
        Where to listen (loopback by default).
    show
        Open a browser tab once the server listens.
    basic_auth
        Panel basic auth: one password for any user name, or a JSON file of
        ``{"user": "password"}``.
    oauth_provider
        Panel OAuth provider (``github``, ``google``, ``azure``, ``okta``, ``generic``, …);
        its key, secret and cookie secret come from Panel's ``PANEL_OAUTH_*`` and
        ``PANEL_COOKIE_SECRET`` environment variables.
    allow_websocket_origin
        Extra ``host[:port]`` names browsers reach the server by (behind a proxy).
    """

    port: int = 5006
    address: str = LOOPBACK
    show: bool = True
    basic_auth: str | None = None
    oauth_provider: str | None = None
    allow_websocket_origin: list[str] = field(default_factory=list)


def is_loopback(address: str) -> bool:
    """True when ``address`` only accepts connections from this machine."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_port_free(address: str, port: int) -> None:
    """Raise a one-line :class:`LatentvizError` when ``address:port`` cannot be listened on.

    The probe socket uses ``SO_REUSEADDR`` like Tornado's, so only a live listener (not a
    closing connection) counts as "in use".
    """
    if not 1 <= int(port) <= 65535:
        raise LatentvizError(f"--port must be in 1..65535, got {port}")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LatentvizError(
                    f"port {port} on {address} is already in use; stop the other server or choose "
                    "another port with --port"
                ) from None
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise LatentvizError(
                    f"no permission to listen on port {port}; use a port above 1023"
                ) from None
            raise LatentvizError(f"cannot listen on {address}:{port}: {exc.strerror}") from None


def websocket_origins(address: str, port: int, extra: list[str]) -> list[str]:
    """Host names a browser may open the app's websocket from: the loopback names, the
    bound address, this machine's names when listening on every interface, and ``extra``."""
    names = {f"localhost:{port}", f"127.0.0.1:{port}"}
    if address not in ("", "0.0.0.0", "::"):
        names.add(f"{address}:{port}")
    elif not extra:
        host = socket.gethostname()
        names |= {f"{host}:{port}", f"{socket.getfqdn()}:{port}"}
    names |= set(extra)
    return sorted(names)


#: Floor of the websocket message limit: Tornado's own default (10 MiB).
MIN_WEBSOCKET_MESSAGE = 10 * 2**20


def websocket_message_limit(max_upload_bytes: int) -> int:
    """The largest websocket message the server accepts, in bytes.

    An upload travels base64-encoded (4/3 of its size) in one JSON message, so the limit
    leaves room for a file of exactly ``max_upload_bytes`` plus 1 MiB of envelope, and never
    goes below Tornado's default. Larger files never reach the socket: the page's
    :class:`~latentviz.dashboard.upload_guard.UploadGuard` refuses them in the browser and the
    session shows the "too large" message instead of closing.
    """
    return max(MIN_WEBSOCKET_MESSAGE, -(-int(max_upload_bytes) // 3) * 4 + 2**20)  # padded base64


def serve(config: Any, options: ServeOptions, on_ready: Any = None) -> None:
    """Load the models of ``config`` once, then serve the dashboard until interrupted.

    Parameters
    ----------
    config
        A :class:`~latentviz.dashboard.resources.DashboardConfig`.
    options
        Address, port, auth.
    on_ready
        Called with the URL once the server listens (the CLI prints it).
    """
    check_port_free(options.address, options.port)
    import panel as pn

    from latentviz.core.memory import freeze_long_lived
    from latentviz.dashboard.app import app_factory
    from latentviz.dashboard.resources import load_resources

    resources = load_resources(config)
    # The models, torch, Panel and Bokeh live as long as the process: out of the collector's
    # reach, a garbage collection (it holds the GIL, so every session's frames wait) scans only
    # what sessions made, about 40 ms instead of 300 ms with four sessions open.
    freeze_long_lived()
    limit = config.max_upload_bytes
    auth: dict[str, Any] = {}
    if options.basic_auth:
        auth["basic_auth"] = options.basic_auth
    elif options.oauth_provider:
        auth["oauth_provider"] = options.oauth_provider
    if auth and not os.environ.get("PANEL_COOKIE_SECRET"):
        # login cookies are signed; a random secret lasts as long as the process
        auth["cookie_secret"] = secrets.token_urlsafe(32)
    server = pn.serve(
        {"/": app_factory(resources)},
        port=options.port,
        address=options.address,
        show=options.show,
        start=False,
        title="latentviz",
        websocket_origin=websocket_origins(options.address, options.port, options.allow_websocket_origin),
        websocket_max_message_size=websocket_message_limit(limit),
        verbose=False,
        **auth,
    )
    url = (
        f"http://{options.address if ':' not in options.address else f'[{options.address}]'}:{options.port}/"
    )
    if on_ready is not None:
        server.io_loop.add_callback(on_ready, url)
    server.start()
    try:
        server.io_loop.start()
    finally:
        server.stop()


def free_port(address: str = LOOPBACK) -> int:
    """A port that is free on ``address`` right now."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``latentviz serve`` in a child process on loopback (tests, benchmarks, demos).

    Parameters
    ----------
    args
        Extra ``latentviz serve`` arguments (``--port`` and ``--no-show`` are added).
    port
        Port to use (default: a free one).
    log
        File for the server's output (default: discarded).
    timeout
        Seconds to wait for the server to answer HTTP.

    Examples
    --------
    >>> with ServerProcess(["--k", "2"]) as server:  # doctest: +SKIP
    ...     print(server.url, server.pid)
    """

    def __init__(
        self, args: list[str] | None = None, port: int | None = None, log: Any = None, timeout: float = 120.0
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.args = ["--port", str(self.port), "--no-show", *(args or [])]
        self.log, self.timeout = log, timeout
        self.process: Any = None

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def __enter__(self) -> ServerProcess:
        import subprocess
        import sys
        import time
        import urllib.error
        import urllib.request

        out = self.log if self.log is not None else subprocess.DEVNULL
        cmd = [sys.executable, "-m", "latentviz", "serve", *self.args]
        self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/login", timeout=2)
                return self
            except urllib.error.HTTPError:  # an HTTP answer: the server listens
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise LatentvizError(
                        f"latentviz serve exited with code {self.process.returncode}"
                    ) from None
                time.sleep(0.2)
        self.__exit__()
        raise LatentvizError(f"latentviz serve did not answer within {self.timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        import subprocess

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
