"""The one palette of songmap: category colours (map.png, compare.png, durations.png, map.html) and the sequential scale of continuous values."""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

__all__ = ["PALETTE", "SEQUENTIAL", "UNCATEGORISED_COLOUR", "category_colours", "sequential_colours"]

#: Colours that stay distinct on the page's dark background and on the plots' white one;
#: categories take them in sorted-name order, so a collection always gets the same colours.
PALETTE = (
    "#5fa8ff", "#ffb000", "#ff6b8b", "#3ddc97", "#c49bff",
    "#ff8c42", "#2ec4d6", "#c9c33a", "#f27bd6", "#9ccc65",
)
UNCATEGORISED_COLOUR = "#8a93a6"


def _extra_colour(index: int) -> str:
    # Beyond the palette: golden-angle hues keep categories next to each other in order apart.
    hue = (index * 137.508) % 360 / 360
    r, g, b = colorsys.hls_to_rgb(hue, 0.66, 0.70)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def category_colours(categories: Iterable[str | None]) -> dict[str | None, str]:
    """A stable colour for each category of ``categories`` (``None``, uncategorised, is grey).

    Examples
    --------
    >>> category_colours(["soundeffect", None, "soundscape"])
    {'soundeffect': '#5fa8ff', 'soundscape': '#ffb000', None: '#8a93a6'}
    """
    names = sorted({c for c in categories if c is not None})
    colours: dict[str | None, str] = {
        name: PALETTE[i] if i < len(PALETTE) else _extra_colour(i) for i, name in enumerate(names)
    }
    colours[None] = UNCATEGORISED_COLOUR
    return colours


#: A sequential scale (viridis from a quarter of its range up, so that its darkest end still reads on
#: the page's dark background): low to high values of duration or trust.
SEQUENTIAL = ("#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725")


def sequential_colours(n: int) -> list[str]:
    """``n`` colours along :data:`SEQUENTIAL`, lowest first, for ``n`` ordered bins of a continuous value.

    Examples
    --------
    >>> sequential_colours(2)
    ['#3b528b', '#fde725']
    """
    if n <= 1:
        return list(SEQUENTIAL[-1:]) * max(n, 0)
    stops = [tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in SEQUENTIAL]
    colours = []
    for i in range(n):
        at = i * (len(stops) - 1) / (n - 1)
        low = min(int(at), len(stops) - 2)
        share = at - low
        rgb = [round(a + (b - a) * share) for a, b in zip(stops[low], stops[low + 1])]
        colours.append("#" + "".join(f"{v:02x}" for v in rgb))
    return colours
