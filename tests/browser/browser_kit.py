"""What every real-browser test shares: Debian's Chromium, its flags, page probes, a server.

Panel renders its components in shadow DOM, so the probes walk every shadow root.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: The marks of a browser test module: ``pytestmark = MARKS``.
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
    ),
]

# Text of the page including every shadow root.
DEEP_TEXT = """() => { const out = [];
  const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.childNodes) { if (c.nodeType === 3) out.push(c.textContent);
      else if (c.nodeType === 1) walk(c); } };
  walk(document.body); return out.join(' '); }"""
# HTML of the page including every shadow root.
DEEP_HTML = """() => { const out = [document.documentElement.outerHTML];
  const walk = (n) => { if (n.shadowRoot) { out.push(n.shadowRoot.innerHTML); walk(n.shadowRoot); }
    for (const c of n.children || []) walk(c); };
  walk(document.body); return out.join(' '); }"""
# Every string held by a model of the page's Bokeh documents (shown or not).
DOCUMENT_STRINGS = """() => { const out = [];
  for (const d of window.Bokeh.documents) for (const m of d.all_models) {
    for (const p of Object.values(m.properties)) { let v; try { v = p.get_value(); } catch (e) { continue; }
      if (typeof v === 'string') out.push(v);
      else if (Array.isArray(v)) out.push(...v.filter((x) => typeof x === 'string')); } }
  return out.join(' '); }"""


@contextmanager
def serve(argv: list[str], logfile: Path, timeout: float = 180) -> Iterator[object]:
    """A ``latentviz serve`` child process with ``argv``, its output in ``logfile``.

    Yields the :class:`~latentviz.dashboard.server.ServerProcess`; if the server fails to
    start, or a test using it raises, the end of its log is printed for the report.
    """
    from latentviz.dashboard.server import ServerProcess

    with open(logfile, "wb") as log:
        try:
            with ServerProcess(argv, log=log, timeout=timeout) as proc:
                yield proc
        except Exception:
            print(Path(logfile).read_text(errors="replace")[-3000:])
            raise
