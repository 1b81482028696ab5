"""Serving details that need no browser: port check, loopback test, websocket origins."""

from __future__ import annotations

import socket

import pytest

from latentviz.dashboard.server import check_port_free, is_loopback, websocket_origins
from latentviz.errors import LatentvizError


def test_a_listening_port_is_refused_with_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(LatentvizError) as info:
            check_port_free("127.0.0.1", port)
    msg = str(info.value)
    assert msg == (
        f"port {port} on 127.0.0.1 is already in use; stop the other server or choose another "
        "port with --port"
    )
    check_port_free("127.0.0.1", port)  # closed again: free


def test_bad_ports_and_addresses() -> None:
    with pytest.raises(LatentvizError, match=r"1\.\.65535"):
        check_port_free("127.0.0.1", 70000)
    with pytest.raises(LatentvizError, match=r"cannot listen on 203\.0\.113\.7"):
        check_port_free("203.0.113.7", 5006)  # TEST-NET-3: not an address of this machine


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("10.1.2.3", False)],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_websocket_origins() -> None:
    assert websocket_origins("127.0.0.1", 5006, []) == ["127.0.0.1:5006", "localhost:5006"]
    assert "10.1.2.3:80" in websocket_origins("10.1.2.3", 80, [])
    wide = websocket_origins("0.0.0.0", 5006, [])
    assert f"{socket.gethostname()}:5006" in wide and "0.0.0.0:5006" not in wide
    assert websocket_origins("0.0.0.0", 5006, ["dash.example.org"])[-1] == "localhost:5006"
    assert "dash.example.org" in websocket_origins("0.0.0.0", 5006, ["dash.example.org"])


def test_the_websocket_limit_fits_an_upload_of_exactly_the_limit() -> None:
    from latentviz.dashboard.server import MIN_WEBSOCKET_MESSAGE, websocket_message_limit

    for limit in (50_000, 32 * 2**20, 200 * 2**20):
        base64_size = -(-limit // 3) * 4
        assert websocket_message_limit(limit) >= base64_size + 2**20
    assert websocket_message_limit(1) == MIN_WEBSOCKET_MESSAGE


def test_the_upload_guard_reports_the_refused_size_with_the_server_message() -> None:
    from latentviz.core.upload import too_large_message
    from latentviz.dashboard.upload_guard import UploadGuard

    seen: list[int] = []
    guard = UploadGuard(max_bytes=50_000)
    guard.on_refused(seen.append)
    guard.param.update(refused=16 * 2**20, refusals=1)  # what the browser sets
    assert seen == [16 * 2**20]
    assert (
        too_large_message(seen[0], 50_000)
        == "the uploaded file is 16.0 MB; the limit is 48.8 KB (one slice is enough)"
    )
