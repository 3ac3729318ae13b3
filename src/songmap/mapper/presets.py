"""The named presets of :class:`~songmap.mapper.SongMapper`, which fill in the parameters left None, and which
parameters are settings of how to run rather than of the map. No scikit-learn here: placing songs on a saved
map resolves its parameters too (:mod:`songmap.mapper.fitted`)."""

from __future__ import annotations

__all__ = ["PRESETS", "RUNTIME_DEFAULTS", "RUNTIME_PARAMS", "resolve_preset"]

#: Named configurations; a parameter given explicitly to :class:`SongMapper` wins over its preset.
#: "seed" is the notebooks' model, kept so the two can be compared (``songmap compare``,
#: BENCHMARKS.md "Map quality"); "default" is what measured best there, the same as "songwise":
#:
#: * ``representation="songwise"``: the whole track through up to ``max_windows`` windows of
#:   ``crop_percentile=100`` of the durations (capped by ``max_crop_s``), each window's modulation
#:   spectrum (loop-start-invariant, noise-bed-robust) with the key-invariant tonal view under it,
#:   the two views weighted alike (``tonal_weight=1``);
#: * ``neighbour_weight=4.0``: the t-SNE neighbour term, weighted 4 to 1 against the
#:   reconstruction error (:mod:`songmap.model.neighbours`), which only regularises the map;
#: * ``augment=2``: two copies of each track through random recording chains
#:   (:mod:`songmap.features.augment`), whose 2 main directions of change are shrunk by their
#:   Wiener gain in the neighbour term's distances between pairs that differ mostly along them
#:   (``nuisance_dims=2``): lo-fi copies land by their song. No pull of the copies' codes (``invariance_weight=0``): with the shrunk distances
#:   it brought no copy nearer and cost trustworthiness (BENCHMARKS.md "The suite");
#: * ``filters=(8, 16, 32)``: half the encoder's channels of the other presets, 40 % less training time
#:   with no copy pair beyond rank 5 at seeds 0-5 (BENCHMARKS.md "Training speed").
#:
#: "modulation" reads each track's first crop (up to 30 s) as its modulation spectrum, with no tonal
#: view. Saved models keep the representation they were made with, whatever a preset now says.
PRESETS: dict[str, dict] = {
    "seed": {"representation": "pooled", "crop_percentile": 75.0, "modulation_bins": 16, "neighbour_weight": 0.0,
             "filters": [16, 32, 64]},
    "default": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 4.0,
                "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.0, "nuisance_dims": 2, "filters": [8, 16, 32]},
    "modulation": {"representation": "modulation", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 1.0,
                   "filters": [16, 32, 64]},
    "songwise": {"representation": "songwise", "crop_percentile": 100.0, "modulation_bins": 16, "neighbour_weight": 4.0,
                 "tonal_weight": 1.0, "augment": 2, "invariance_weight": 0.0, "nuisance_dims": 2, "filters": [8, 16, 32]},
}

#: Settings of how and where to run, not of the map: never saved with the model.
#: Settings of how to run, not of the map, with SongMapper's defaults: a model file holds none of them, so a
#: loaded map (:meth:`songmap.mapper.fitted.FittedMap.load`) starts from these.
RUNTIME_DEFAULTS = {"cache_dir": None, "on_error": "skip", "progress": None, "n_jobs": 1, "scheduler": None, "device": "auto"}
RUNTIME_PARAMS = frozenset(RUNTIME_DEFAULTS)


def resolve_preset(params: dict) -> dict:
    """The map-defining ``params`` (a ``get_params()``) with their preset filled in where a value is None (JSON-able).

    Raises
    ------
    ValueError
        ``params["preset"]`` names no preset.
    """
    preset = params["preset"]
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    resolved = {name: value for name, value in params.items() if name not in RUNTIME_PARAMS}
    for name, value in PRESETS[preset].items():
        if resolved.get(name) is None:  # None, or missing from a model saved before the parameter existed
            resolved[name] = value
    resolved["filters"] = [int(f) for f in resolved["filters"]]
    return resolved
