"""The latentviz dashboard as a Panel app file, for ``panel serve`` and jupyter-panel-proxy.

On Binder, jupyter-panel-proxy serves it at ``<server>/panel/dashboard`` (see
``jupyter-panel-proxy.yml`` at the repository root). ``panel serve`` runs this file once per
browser session; the models load once per process (``load_resources`` caches them), so
every session shares one copy and gets its own sliders and results.
"""

from latentviz.dashboard import app_factory, load_resources

app_factory(load_resources())().servable(title="latentviz")
