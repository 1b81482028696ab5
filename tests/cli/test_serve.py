"""``latentviz serve``: argument checks, the port-in-use refusal, the exposure warning, and a
real server on loopback behind basic auth."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from latentviz.cli import main

pytest.importorskip("panel")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_serve(monkeypatch):
    """Replace the blocking server with a recorder."""
    import latentviz.dashboard.server as server

    calls: list = []
    monkeypatch.setattr(
        server, "serve", lambda config, options, on_ready=None: calls.append((config, options))
    )
    return calls


def test_port_in_use_exits_2_with_one_line(capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t0 = time.perf_counter()
        assert main(["serve", "--port", str(port), "--no-show"]) == 2
        assert time.perf_counter() - t0 < 5  # refused before any model loads
    err = capsys.readouterr().err.strip()
    assert err == (
        f"latentviz serve: error: port {port} on 127.0.0.1 is already in use; stop the other server "
        "or choose another port with --port"
    )


def test_defaults_serve_the_zoo_on_loopback_without_warning(fake_serve, capsys) -> None:
    port = _free_port()
    assert main(["serve", "--port", str(port), "--no-show"]) == 0
    (config, options), err = fake_serve[0], capsys.readouterr().err
    assert (config.model, config.classifier, config.directions, config.method, config.k) == (
        "ct-medxgan",
        None,
        None,
        "sefa",
        6,
    )
    assert (options.address, options.port, options.show, options.basic_auth) == (
        "127.0.0.1",
        port,
        False,
        None,
    )
    assert config.max_upload_bytes == 32 * 2**20 and "WARNING" not in err
    assert (config.session_compute_s, config.explanation_s, config.max_rss_bytes) == (900.0, 300.0, None)


def test_exposed_without_auth_is_refused_unless_allowed(fake_serve, capsys, tmp_path) -> None:
    port = _free_port()
    assert main(["serve", "--address", "0.0.0.0", "--port", str(port), "--no-show"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0 without authentication" in err and not fake_serve
    args = ["serve", "--address", "0.0.0.0", "--port", str(port), "--no-show", "--allow-unauthenticated"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "WARNING: serving on 0.0.0.0" in err and "WITHOUT authentication" in err
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": "a-long-password"}))
    args = ["serve", "--address", "0.0.0.0", "--port", str(port), "--no-show", "--basic-auth", str(users)]
    assert main(args) == 0
    assert "WARNING" not in capsys.readouterr().err and fake_serve[-1][1].basic_auth == str(users)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--k", "0"], "--k must be >= 1"),
        (["--max-upload-mb", "0"], "--max-upload-mb must be positive"),
        (["--session-compute-s", "0"], "--session-compute-s must be positive"),
        (["--max-rss-mb", "-1"], "--max-rss-mb must be positive"),
        (["--basic-auth", "missing-users.json"], "no such file"),
        (["--basic-auth", "BAD"], "expected"),
        (["--oauth-provider", "github"], "PANEL_OAUTH_KEY, PANEL_OAUTH_SECRET"),
        (["--basic-auth", "pw", "--oauth-provider", "github"], "choose one of"),
        (["--basic-auth", ""], "empty password"),
        (["--basic-auth", "   "], "empty password"),
        (["--basic-auth", "EMPTYPW"], "with an empty password"),
        (["--address", "0.0.0.0", "--basic-auth", ""], "empty password"),
    ],
)
def test_bad_arguments_are_one_line_errors(extra, message, fake_serve, capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("PANEL_OAUTH_KEY", raising=False)
    monkeypatch.delenv("PANEL_OAUTH_SECRET", raising=False)
    if "BAD" in extra:
        bad = tmp_path / "bad.json"
        bad.write_text('["not", "a", "mapping"]')
        extra = [str(bad) if e == "BAD" else e for e in extra]
    if "EMPTYPW" in extra:
        users = tmp_path / "users.json"
        users.write_text(json.dumps({"alice": "a-long-password", "bob": ""}))
        extra = [str(users) if e == "EMPTYPW" else e for e in extra]
    assert main(["serve", "--port", str(_free_port()), "--no-show", *extra]) == 2
    assert message in capsys.readouterr().err and not fake_serve


def test_help_documents_exposure_and_auth(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for text in ("--basic-auth", "PANEL_OAUTH_KEY", "PANEL_COOKIE_SECRET", "--oauth-provider", "127.0.0.1"):
        assert text in out


def test_real_server_requires_the_basic_auth_login(tmp_path) -> None:
    from latentviz.dashboard.server import ServerProcess

    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": "a-long-password"}))
    with ServerProcess(["--k", "2", "--basic-auth", str(users)], timeout=180) as server:
        base = server.url
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = opener.open(f"{base}/", timeout=30)
        assert "/login" in page.geturl()  # not logged in: the login page, not the app
        form = urllib.parse.urlencode({"username": "alice", "password": "wrong"}).encode()
        assert "error" in opener.open(f"{base}/login", form, timeout=30).geturl()
        form = urllib.parse.urlencode({"username": "alice", "password": "a-long-password"}).encode()
        app = opener.open(f"{base}/login", form, timeout=60)
        assert app.geturl().rstrip("/") == base and b"latentviz" in app.read()
        with pytest.raises(urllib.error.HTTPError):  # nothing but the app and Panel's resources
            opener.open(f"{base}/static/../../etc/passwd", timeout=10)
