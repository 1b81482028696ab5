"""``latentviz serve``: the Panel dashboard (Directions, Explain, Interpolation) in a browser."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from latentviz.cli import MODEL_FORMS
from latentviz.errors import LatentvizError

__all__ = ["DESCRIPTION", "EPILOG", "HELP", "add_arguments", "run"]

HELP = "serve the dashboard (directions, explanations, interpolation) in a browser"
DESCRIPTION = (
    "Serve the latentviz dashboard with Panel. Without arguments it serves the bundled zoo: the "
    "ct-medxgan generator, the ct-classifier and 6 SeFa directions computed at startup, on "
    "http://127.0.0.1:5006/. Models load once per process and are shared by every browser session; "
    "each session has its own sliders, uploads and results. Needs the dashboard extra "
    "(pip install 'latentviz[dashboard]')."
)
EPILOG = """\
exposing the dashboard:
  It listens on 127.0.0.1 (this machine only) unless --address says otherwise. Anyone who can
  reach an exposed server can use it and upload images, so protect it: another --address without
  --basic-auth or --oauth-provider is refused unless you pass --allow-unauthenticated, and an
  empty password is refused.

  basic auth (Panel's login page):
    latentviz serve --address 0.0.0.0 --basic-auth users.json
      users.json holds {"alice": "long-password", ...}; keep it private (chmod 600). A bare
      password (--basic-auth PASSWORD) accepts any user name but shows up in the process list.

  OAuth (Panel's providers: github, google, azure, okta, auth0, gitlab, generic, ...):
    export PANEL_OAUTH_KEY=<client id> PANEL_OAUTH_SECRET=<client secret>
    export PANEL_COOKIE_SECRET=$(panel secret) PANEL_OAUTH_ENCRYPTION=$(panel oauth-secret)
    export PANEL_OAUTH_REDIRECT_URI=https://dashboard.example.org/   # what the provider calls back
    latentviz serve --address 0.0.0.0 --oauth-provider github
      Other provider settings (PANEL_OAUTH_EXTRA_PARAMS, e.g. a tenant or base URL) are read
      from Panel's environment variables as documented at
      https://panel.holoviz.org/how_to/authentication/

  Both send passwords and session cookies over the connection: outside a trusted network, put the
  dashboard behind a reverse proxy that terminates TLS, and add the public name it is reached by:
    latentviz serve --address 127.0.0.1 --allow-websocket-origin dashboard.example.org

uploads: at most --max-upload-mb per file; files are read in a private temporary folder that is
  deleted at once, and only de-identified technical fields are shown.
"""

_OAUTH_ENV = ("PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from latentviz.directions.registry import method_names

    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--model", default=None, help=f"generator: {MODEL_FORMS} (default ct-medxgan)")
    p.add_argument(
        "--classifier",
        default=None,
        help=f"classifier: {MODEL_FORMS} (default: the zoo classifier of the model's data)",
    )
    p.add_argument(
        "--autoencoder",
        default=None,
        help=(
            f"generator with an encoder for the Explain tab's encoder methods: {MODEL_FORMS}; a "
            "style-based autoencoder (e.g. cxr-gaan) adds the style walks, a VAE Latent Shift"
        ),
    )
    p.add_argument(
        "--directions",
        type=Path,
        default=None,
        help="saved direction set (.npz + .json from `latentviz discover`); default: discover at startup",
    )
    p.add_argument(
        "--method",
        default="sefa",
        choices=method_names(interactive=True),  # those quick enough to run at start-up
        help="discovery method without --directions (default sefa: fast)",
    )
    p.add_argument("--k", type=int, default=6, help="directions to discover (default 6)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 exposes it)",
    )
    p.add_argument(
        "--basic-auth",
        metavar="PASSWORD|FILE",
        default=None,
        help='Panel basic auth: a JSON file {"user": "password"} or one password',
    )
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback --address without --basic-auth or --oauth-provider (refused otherwise)",
    )
    p.add_argument(
        "--oauth-provider",
        default=None,
        help="Panel OAuth provider (github, google, azure, ...); credentials from PANEL_OAUTH_* (below)",
    )
    p.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="another name browsers reach the server by (repeatable)",
    )
    p.add_argument(
        "--store",
        default=None,
        metavar="DIR",
        help="a results store of `latentviz batch`: adds an Atlas tab of its latents",
    )
    p.add_argument("--max-upload-mb", type=float, default=32.0, help="upload size limit (default 32 MB)")
    p.add_argument(
        "--session-compute-s",
        type=float,
        default=900.0,
        help="compute seconds one browser session may spend on explanations (default 900)",
    )
    p.add_argument(
        "--explanation-s",
        type=float,
        default=300.0,
        help="the longest one explanation may run (default 300 s)",
    )
    p.add_argument(
        "--max-rss-mb",
        type=float,
        default=None,
        help="stop an explanation when the server's memory passes this (default: no cap)",
    )
    p.add_argument(
        "--batch-frames",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="render the slider frames that sessions ask for at the same time in one batched "
        "forward pass (default: --no-batch-frames; on a CPU it was slower, see docs/benchmarks.md)",
    )
    p.add_argument(
        "--show",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open a browser tab (default: --show)",
    )


def _check_auth(args: argparse.Namespace) -> None:
    if args.basic_auth and args.oauth_provider:
        raise LatentvizError("choose one of --basic-auth and --oauth-provider")
    auth = args.basic_auth
    if auth is not None and not auth.strip():
        raise LatentvizError(
            "--basic-auth: an empty password protects nothing; give a password or a JSON file"
        )
    if auth and (auth.endswith(".json") or os.sep in auth):
        path = Path(auth)
        if not path.is_file():
            raise LatentvizError(f"--basic-auth {auth}: no such file")
        try:
            users = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise LatentvizError(f"--basic-auth {auth}: not a JSON file ({exc})") from None
        if not (isinstance(users, dict) and users and all(isinstance(v, str) for v in users.values())):
            raise LatentvizError(f'--basic-auth {auth}: expected {{"user": "password", ...}}')
        empty = [user for user, password in users.items() if not password.strip()]
        if empty:
            raise LatentvizError(f"--basic-auth {auth}: {len(empty)} user(s) with an empty password")
    if args.oauth_provider:
        missing = [v for v in _OAUTH_ENV if not os.environ.get(v)]
        if missing:
            raise LatentvizError(f"--oauth-provider needs the environment variables {', '.join(missing)}")


def run(args: argparse.Namespace) -> int:
    from latentviz.dashboard.server import ServeOptions, check_port_free, is_loopback

    if args.k < 1:
        raise LatentvizError(f"--k must be >= 1, got {args.k}")
    if not args.max_upload_mb > 0:
        raise LatentvizError(f"--max-upload-mb must be positive, got {args.max_upload_mb}")
    for flag in ("session_compute_s", "explanation_s", "max_rss_mb"):
        value = getattr(args, flag)
        if value is not None and not value > 0:
            raise LatentvizError(f"--{flag.replace('_', '-')} must be positive, got {value}")
    _check_auth(args)
    exposed_without_auth = not is_loopback(args.address) and not (args.basic_auth or args.oauth_provider)
    if exposed_without_auth and not args.allow_unauthenticated:
        raise LatentvizError(
            f"refusing to serve on {args.address} without authentication: anyone who can reach this "
            "machine could use the dashboard and upload images. Add --basic-auth or --oauth-provider, "
            "or pass --allow-unauthenticated on a network you trust"
        )
    check_port_free(args.address, args.port)  # before the slow imports and model loading
    if exposed_without_auth:
        print(
            f"WARNING: serving on {args.address}:{args.port} WITHOUT authentication: anyone who can "
            "reach this machine can use the dashboard and upload images. Add --basic-auth or "
            "--oauth-provider (see latentviz serve --help).",
            file=sys.stderr,
            flush=True,
        )
    from latentviz.dashboard import DEFAULT_MODEL, DashboardConfig, serve

    config = DashboardConfig(
        model=args.model or DEFAULT_MODEL,
        classifier=args.classifier,
        autoencoder=args.autoencoder,
        directions=str(args.directions) if args.directions is not None else None,
        method=args.method,
        k=args.k,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        store=str(args.store) if args.store is not None else None,
        session_compute_s=args.session_compute_s,
        explanation_s=args.explanation_s,
        max_rss_bytes=int(args.max_rss_mb * 2**20) if args.max_rss_mb is not None else None,
        batch_frames=args.batch_frames,
    )
    options = ServeOptions(
        port=args.port,
        address=args.address,
        show=args.show,
        basic_auth=args.basic_auth,
        oauth_provider=args.oauth_provider,
        allow_websocket_origin=list(args.allow_websocket_origin),
    )
    print(f"latentviz serve: loading {config.model} …", flush=True)
    serve(config, options, on_ready=lambda url: print(f"latentviz serve: dashboard at {url}", flush=True))
    return 0
