"""Optional dependencies: importing one, or saying in one line which extra to install.

A leaf module any layer may use, like :mod:`songmap._version`: maps as data frames
and parquet files need pandas and pyarrow (``songmap[data]``), the notebook widget
anywidget (``songmap[notebook]``); the rest of songmap runs without them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtraError", "import_extra"]


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""


def import_extra(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``songmap[extra]``.

    Parameters
    ----------
    module : str
        The module to import, such as ``"pandas"``.
    extra : str
        The extra of songmap that installs it, such as ``"data"``.
    purpose : str
        What needs it, for the message: ``"read_map"``.

    Returns
    -------
    types.ModuleType
        The imported module.

    Raises
    ------
    MissingExtraError
        If ``module`` is not installed.

    Examples
    --------
    >>> import_extra("json", extra="data", purpose="reading maps").__name__
    'json'
    >>> import_extra("no_such_module", extra="data", purpose="reading maps")
    Traceback (most recent call last):
    ...
    songmap._extras.MissingExtraError: reading maps needs no_such_module: pip install 'songmap[data]'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module.split(".")[0]:
            raise  # the module is there but one of its own imports failed: not a missing extra
        raise MissingExtraError(f"{purpose} needs {module}: pip install 'songmap[{extra}]'", name=module) from None
