"""The map page's template: ``static/map.html`` with its style and scripts inlined and hashed into its CSP.

The sources live in ``static/`` next to this module: ``map.html`` (the markup, with
placeholders), ``map.css`` and ``map.js`` (the page's script, the map and the in-page placer,
bundled by esbuild from the ES modules in ``static/src/``: ``make bundle-js``). They are inlined
into the template once per process; only the page's data and model blocks are left to fill
(:func:`fill_template`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

__all__ = ["fill_template"]

_TEMPLATE_NAME = "static/map.html"
_STYLE_NAME = "static/map.css"
_SCRIPT_NAME = "static/map.js"
_CSP_PLACEHOLDER = "__SONGMAP_CSP__"
_STYLE_PLACEHOLDER = "__SONGMAP_STYLE__"
_SCRIPT_PLACEHOLDER = "__SONGMAP_SCRIPT__"
_DATA_PLACEHOLDER = "__SONGMAP_DATA__"
# The model the in-page placer runs (songmap.web.placing).
_MODEL_PLACEHOLDER = "__SONGMAP_MODEL__"
_PLACEHOLDERS = (_CSP_PLACEHOLDER, _STYLE_PLACEHOLDER, _SCRIPT_PLACEHOLDER, _DATA_PLACEHOLDER, _MODEL_PLACEHOLDER)
# An origin that can stand in a CSP source list: no path, space, quote or semicolon.
_ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
# Text that would end (or, in a script, change the parsing of) the element a source is inlined into.
_FORBIDDEN_IN_SOURCE = {_STYLE_NAME: ("</style",), _SCRIPT_NAME: ("</script", "<script", "<!--")}


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _static_text(name: str) -> str:
    # Text mode reads every line ending as "\n", as the browser's HTML parser does before hashing.
    return resources.files("songmap.web").joinpath(name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=4)
def _template_with_csp(media_origins: tuple[str, ...] = ()) -> str:
    """The page template with its style, script and Content-Security-Policy filled in.

    ``map.css`` and ``map.js`` are inlined into the ``<style>`` and ``<script>``
    elements of ``map.html``. The policy allows exactly those two inline
    sources (by hash, so an injected script would not run even if the escaping
    failed), audio from the page's own origin or from disk (and from
    ``media_origins``: the ``songmap serve`` a notebook's page plays from), and
    nothing else: no network requests, no external scripts, fonts or images.
    Only the data and model placeholders are left to fill.
    """
    template = _static_text(_TEMPLATE_NAME)
    for placeholder in _PLACEHOLDERS:
        if template.count(placeholder) != 1:
            raise RuntimeError(f"{_TEMPLATE_NAME} must contain {placeholder} exactly once")
    sources = {}
    for name in (_STYLE_NAME, _SCRIPT_NAME):
        text = _static_text(name)
        lowered = text.lower()
        bad = [s for s in (*_FORBIDDEN_IN_SOURCE[name], *(p.lower() for p in _PLACEHOLDERS)) if s in lowered]
        if bad:
            raise RuntimeError(f"{name} must not contain {bad[0]!r}: it is inlined into the page")
        sources[name] = "\n" + text
    style, script = sources[_STYLE_NAME], sources[_SCRIPT_NAME]
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_csp_hash(script)}",
            f"style-src {_csp_hash(style)}",
            "img-src data: 'self'",  # 'self': cover pictures of a served page (/cover/N)
            " ".join(["media-src 'self' file: blob:", *media_origins]),  # blob: plays a song dropped on the page
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    page = template.replace(_CSP_PLACEHOLDER, policy, 1)
    page = page.replace(f"<style>{_STYLE_PLACEHOLDER}</style>", f"<style>{style}</style>", 1)
    page = page.replace(f"<script>{_SCRIPT_PLACEHOLDER}</script>", f"<script>{script}</script>", 1)
    if _STYLE_PLACEHOLDER in page or _SCRIPT_PLACEHOLDER in page:
        wanted = f"<style>{_STYLE_PLACEHOLDER}</style> and <script>{_SCRIPT_PLACEHOLDER}</script>"
        raise RuntimeError(f"{_TEMPLATE_NAME} must hold {wanted}")
    return page


def fill_template(*, data: str, model: str, media_origins: tuple[str, ...] = ()) -> str:
    """The complete page: the template with its data and model blocks filled in.

    Parameters
    ----------
    data : str
        The page's data block, JSON that is safe inside ``<script>``
        (:func:`songmap.web.page_wire.embed_json`).
    model : str
        The in-page placer's model block, likewise.
    media_origins : tuple of str
        Origins (``http://127.0.0.1:8000``) the page may play audio from besides its own.

    Raises
    ------
    ValueError
        If an origin is not ``http(s)://host[:port]``.

    Returns
    -------
    str
        The complete HTML document.
    """
    # The data placeholder is replaced last (and its block comes before the model's), so data
    # that happens to contain a placeholder string can never be substituted into.
    for origin in media_origins:
        if not _ORIGIN_RE.fullmatch(origin):
            raise ValueError(f"not an http(s) origin such as http://127.0.0.1:8000: {origin!r}")
    page = _template_with_csp(tuple(media_origins)).replace(_MODEL_PLACEHOLDER, model, 1)
    return page.replace(_DATA_PLACEHOLDER, data, 1)
