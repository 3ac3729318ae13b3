"""The map page in a notebook: :class:`MapView`, an anywidget that shows the page inline.

The page is the one ``map.html`` is (:func:`songmap.web.page.render_map_page`: hover,
search, clusters, paths, placing a song), shown in a sandboxed ``<iframe srcdoc>``: it
keeps its own Content-Security-Policy (only its own hashed script runs, nothing is
loaded from the network). Playing from ``songmap serve``, the sandbox is
``allow-scripts allow-downloads``: the page has an origin of its own and cannot reach
the notebook. Playing files by relative paths, it adds ``allow-same-origin``, without
which Chromium refuses ``file:`` audio to a sandboxed page: the page's script then runs
with the notebook's origin, as every widget's script does. Two ways to show it:

* live, as a widget (JupyterLab, Notebook 7, VS Code): selections made on the page
  (lasso, "select in view") come back in Python as :attr:`MapView.selection` and
  :attr:`MapView.selected`; the page posts only the selected row numbers to its parent;
* as HTML (:meth:`MapView._repr_html_`), where no widget runs: a notebook exported with
  ``jupyter nbconvert --to html``, a notebook viewer. Everything but the read-back works.

Audio plays where the browser can fetch it: files relative to the notebook's folder
(an exported notebook opened from disk, or a server that serves those paths), or a
running ``songmap serve`` of the same map, whose ``/audio/<i>`` the page is allowed to
play from (its origin is added to the policy's ``media-src``, and nothing else).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from songmap.report.frames import map_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MapView"]

_SANDBOX = "allow-scripts allow-downloads"

#: The widget's front end: the page in a sandboxed iframe, and the selection it posts read back.
_ESM = """
function render({ model, el }) {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", model.get("sandbox"));
  frame.setAttribute("title", "songmap map");
  frame.style.cssText = "width: 100%; border: 0; height: " + model.get("height") + "px";
  frame.srcdoc = model.get("html");
  function onMessage(event) {
    const data = event.data;
    if (event.source !== frame.contentWindow || !data || data.songmap !== "selection") return;
    model.set("selection", Array.from(data.indices, Number));
    model.save_changes();
  }
  window.addEventListener("message", onMessage);
  el.appendChild(frame);
  return () => window.removeEventListener("message", onMessage);
}
export default { render };
"""


class MapView(anywidget.AnyWidget):
    """The interactive map page of one map, shown inline in a notebook.

    Made by :func:`songmap.show`; not meant to be built by hand.

    Parameters
    ----------
    doc : dict
        The map's embeddings document.
    page : str
        The rendered page (:func:`songmap.web.page.render_map_page`).
    height : int
        Height of the map in the notebook, in CSS pixels.
    same_origin : bool
        Give the page the notebook's origin (``allow-same-origin``), so that it may play
        ``file:`` audio by relative paths.

    Attributes
    ----------
    selection : list of int
        Row numbers of the tracks selected on the page (``[]`` until something is
        selected, and where no widget runs).

    Examples
    --------
    >>> view = songmap.show("my-map")  # doctest: +SKIP
    >>> view                           # the page, inline; lasso a few tracks on it  # doctest: +SKIP
    >>> view.selected[["title", "category"]]  # doctest: +SKIP
    """

    _esm = _ESM
    html = traitlets.Unicode().tag(sync=True)
    height = traitlets.Int(600).tag(sync=True)
    sandbox = traitlets.Unicode(_SANDBOX).tag(sync=True)
    selection = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, *, doc: dict[str, Any], page: str, height: int = 600, same_origin: bool = False) -> None:
        super().__init__(html=page, height=height, sandbox=f"{_SANDBOX} allow-same-origin" if same_origin else _SANDBOX)
        self._doc = doc

    @property
    def frame(self) -> pd.DataFrame:
        """The map as a data frame (:func:`songmap.report.frames.map_frame`)."""
        return map_frame(self._doc)

    @property
    def selected(self) -> pd.DataFrame:
        """The rows of :attr:`frame` selected on the page, in the page's listening order."""
        return self.frame.iloc[list(self.selection)]

    def _repr_html_(self) -> str:
        """The page as HTML: a sandboxed iframe holding it, for where no widget runs."""
        return (
            f'<iframe sandbox="{self.sandbox}" title="songmap map" srcdoc="{html.escape(self.html, quote=True)}"'
            f' style="width: 100%; border: 0; height: {int(self.height)}px"></iframe>'
        )
