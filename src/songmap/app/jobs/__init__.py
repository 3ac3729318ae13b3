"""The jobs API: every command of songmap as a function, called by the CLI and by library users alike.

Each job takes explicit parameters, reports progress through callbacks and
returns what it did; it prints nothing. ``map_folder``/``demo`` (mapping),
``compare_folder`` (comparing), ``inspect_folder``/``convert_folder``
(folders), ``embed_files``/``write_page``/``serve`` (placing), ``export_map`` (exporting),
``path_playlist``/``similar_playlist`` (listening), ``read_map`` (reading: the map as a
data frame), ``show`` (showing: the map page in a notebook). The names a caller needs to
set a job up (``SongMapper``, ``Progress``, ``PRESETS``, ``METHOD_TITLES``, ``MetadataError``, ``MissingExtraError``)
are re-exported here, so the CLI needs no other module; ``SongMapper`` on first use, as
:mod:`songmap.mapper` gives it.
"""

from songmap._extras import MissingExtraError
from songmap.app.jobs.common import finish_interrupted_map
from songmap.app.jobs.comparing import COMPARE_METHODS, CompareResult, compare_folder
from songmap.app.jobs.exporting import EXPORT_FORMATS, ExportResult, export_map
from songmap.app.jobs.folders import ConvertResult, InspectResult, TrackInfo, convert_folder, inspect_folder
from songmap.app.jobs.listening import PlaylistResult, find_track, path_playlist, similar_playlist
from songmap.app.jobs.mapping import MapResult, demo, map_folder
from songmap.app.jobs.placing import EmbedResult, PlacedSong, embed_files, serve, write_page
from songmap.app.jobs.reading import read_map
from songmap.app.jobs.showing import show
from songmap.app.jobs.updating import UpdateResult, update_map
from songmap.io.tables import MetadataError
from songmap.mapper import PRESETS, Progress
from songmap.report.plots import METHOD_TITLES

__all__ = [
    "COMPARE_METHODS",
    "EXPORT_FORMATS",
    "METHOD_TITLES",
    "PRESETS",
    "MetadataError",
    "MissingExtraError",
    "Progress",
    "SongMapper",
    "CompareResult",
    "ConvertResult",
    "EmbedResult",
    "ExportResult",
    "InspectResult",
    "MapResult",
    "PlacedSong",
    "PlaylistResult",
    "TrackInfo",
    "UpdateResult",
    "compare_folder",
    "convert_folder",
    "demo",
    "embed_files",
    "export_map",
    "find_track",
    "finish_interrupted_map",
    "inspect_folder",
    "map_folder",
    "path_playlist",
    "read_map",
    "serve",
    "show",
    "similar_playlist",
    "update_map",
    "write_page",
]


def __getattr__(name: str):
    if name == "SongMapper":
        from songmap.mapper.estimator import SongMapper

        return SongMapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
