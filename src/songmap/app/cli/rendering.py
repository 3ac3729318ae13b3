"""What the commands print about their results: summaries, warnings and tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.table import Table
from rich.text import Text

from songmap.app.cli.console import err, note, out
from songmap.io.text import display_text


def number(value: float | None, digits: int = 3, *, missing: str = "-") -> str:
    """``value`` with ``digits`` decimals, or ``missing`` when there is none."""
    return missing if value is None else f"{value:.{digits}f}"


# -- map ----------------------------------------------------------------------------------------


def print_map_summary(result, seconds: float) -> None:
    """Notes and warnings of a map or demo run, then what it mapped and wrote."""
    doc = result.document
    collection = result.collection
    training = doc["training"]
    note(result.recovered)
    print_metadata_warnings(collection)
    if collection.metadata:
        unlisted = set(collection.not_in_metadata)
        empty = [t["file"] for t in doc["tracks"] if t["category"] is None and t["file"] not in unlisted]
        if empty:
            err.print(f"note: {len(empty)} mapped file(s) have an empty category in the metadata (e.g. {empty[0]})")
    if collection.excluded_by_category:
        err.print(f"note: {collection.excluded_by_category} file(s) left out by --categories")
    for item in doc["skipped"]:
        err.print(f"skipped: {display_text(item['file'])}: {item['reason']}")
    damaged = [t for t in doc["tracks"] if t.get("damaged")]
    for track in damaged[:10]:
        err.print(f"damaged: {display_text(track['file'])}: {track['damaged']}; mapped from the part that decodes")
    if damaged:
        err.print(f"note: {len(damaged)} damaged file{' was' if len(damaged) == 1 else 's were'} mapped from the part "
                  "that decodes (\"damaged\" in embeddings.json)")
    for rel, reason in sorted(collection.tag_problems.items())[:10]:
        err.print(f"warning: {display_text(rel)}: {reason}; mapped without its tags")
    if len(collection.tag_problems) > 10:
        err.print(f"warning: unreadable tags in {len(collection.tag_problems) - 10} more file(s)")
    stop = "stopped early" if training["stopped_early"] else "ran all epochs"
    out.print(
        f"Mapped {len(doc['tracks'])} track(s), skipped {len(doc['skipped'])}; crop {doc['params']['crop_seconds']:.1f} s; "
        f"{training['epochs_run']} epochs ({stop}, best loss {training['best_loss']:.4f}); {seconds:.1f} s."
    )
    for pair in doc.get("pairs", []):
        out.print(
            f"pair [{pair['kind'] or 'pair'}] {pair['a']} <-> {pair['b']}: distance {pair['distance']:.3g} "
            f"(median nearest-neighbour {pair['median_nn_distance']:.3g}), rank {pair['rank_a_to_b']} / {pair['rank_b_to_a']}"
        )
    _print_quality(doc.get("quality"))
    out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")
    out.print(f"Open the map: {(result.out_dir / 'map.html').resolve().as_uri()}")


def print_update_summary(result, seconds: float) -> None:
    """What ``songmap update`` found and did."""
    doc = result.document
    note(result.recovered)
    if result.unstamped:
        err.print(f"note: {result.unstamped} track(s) were mapped before songmap recorded file sizes and times: "
                  "changes to them are not seen (run `songmap map` again, or `update --refit`)")
    for item in doc["skipped"]:
        err.print(f"skipped: {display_text(item['file'])}: {item['reason']}")
    moved = "" if result.displacement is None else "retrained; "
    out.print(f"Updated {len(doc['tracks'])} track(s): {len(result.added)} added, {len(result.changed)} changed, "
              f"{len(result.deleted)} deleted, {result.kept} kept ({moved}{seconds:.1f} s).")
    if result.displacement is not None:
        median, p95 = result.displacement
        out.print(f"Aligned onto the old map: kept tracks moved {100 * median:.1f} % of the map's extent (median), "
                  f"{100 * p95:.1f} % (95th percentile).")
    _print_quality(doc.get("quality"))
    out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")


def _print_quality(quality: dict | None) -> None:
    """One line of map-quality figures (see ``songmap compare`` for what they mean)."""
    if not quality:
        return
    t, c = quality["trustworthiness"], quality["continuity"]
    line = (f"Quality: trustworthiness@5/@10 {number(t.get('5'), missing='n/a')}/{number(t.get('10'), missing='n/a')}, "
            f"continuity@5/@10 {number(c.get('5'), missing='n/a')}/{number(c.get('10'), missing='n/a')}")
    if quality.get("knn_category_agreement") is not None:
        line += f", kNN category agreement {number(quality['knn_category_agreement'], 2)}"
    out.print(line + ".")


def print_metadata_warnings(collection) -> None:
    """The metadata columns used, rows matched by another extension or naming missing files,
    files without a row, and folders that could not be read."""
    sheet = collection.metadata_path.name if collection.metadata_path is not None else "metadata.csv"
    if collection.metadata_path is not None:
        used = f"file names from column '{collection.file_column}'"
        used += (f", categories from column '{collection.category_column}'" if collection.category_column
                 else ", no category column")
        if collection.title_column:
            used += f", titles from column '{collection.title_column}'"
        err.print(f"note: {sheet}: {used}")
    if collection.matched_by_stem:
        err.print(f"warning: {_other_extensions(collection.matched_by_stem)}")
    for name in collection.missing_in_folder[:10]:
        hint = collection.case_hints.get(name)
        extra = f" (the folder has {hint}: use --ignore-case to match names whatever their case)" if hint else ""
        candidates = collection.stem_candidates.get(name)
        if candidates and len(candidates) > 1:
            extra += f" (several files have that name with another extension: {', '.join(candidates)}; none was guessed)"
        elif candidates:
            extra += f" (the folder has {candidates[0]}, but other rows name it with another extension too; none was guessed)"
        err.print(f"warning: {sheet} names a file that is not in the folder: {name}{extra}")
    if len(collection.missing_in_folder) > 10:
        err.print(f"warning: ... and {len(collection.missing_in_folder) - 10} more metadata rows without a file")
    if collection.not_in_metadata:
        examples = ", ".join(collection.not_in_metadata[:3])
        err.print(
            f"warning: {len(collection.not_in_metadata)} audio file(s) are not listed in {sheet} and get no category"
            f" (e.g. {examples})"
        )
    for folder, reason in collection.unreadable:
        err.print(f"warning: {folder}: {reason}; its files are not mapped")


def _other_extensions(matched: dict[str, str]) -> str:
    """``3 rows matched by name with another extension (.wav listed, .mp3 found)``."""

    def extension(name: str) -> str:
        return Path(name).suffix.lower()

    kinds = Counter((extension(listed), extension(found)) for listed, found in matched.items())
    if len(kinds) == 1:
        ((listed, found),) = kinds
        detail = f"{listed} listed, {found} found"
    else:
        detail = "; ".join(f"{listed} listed, {found} found: {n}" for (listed, found), n in kinds.most_common())
    rows = "1 row" if len(matched) == 1 else f"{len(matched)} rows"
    return f"{rows} matched by name with another extension ({detail})"


# -- compare ------------------------------------------------------------------------------------


def print_comparison(result, titles: dict[str, str], seconds: float) -> None:
    """Warnings of a compare run, the quality table, the per-kind pair ranks and what it wrote."""
    doc = result.document
    print_metadata_warnings(result.collection)
    for item in doc["skipped"]:
        err.print(f"skipped: {item['file']}: {item['reason']}")
    summary = doc.get("summary")
    title = f"Map quality of {doc['n_tracks']} tracks (reference: {doc['reference_space']})"
    if summary:
        title += f", median (min-max) of seeds {','.join(str(s) for s in doc['seeds'])}"
    table = Table(title=title)
    # Short headers: the table must fit 80 columns (T = trustworthiness, C = continuity).
    columns = ("method", "T@10", "C@10", "kNN cat", "s") if summary else ("method", "T@5", "T@10", "C@5", "C@10", "kNN cat", "pair ranks", "s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("method", "pair ranks") else "right")
    for row in (_seed_summary_rows(summary["methods"], titles) if summary else _quality_rows(doc["methods"], titles)):
        table.add_row(*row)
    out.print(table)
    out.print("T@k/C@k: trustworthiness/continuity with k neighbours; kNN cat: share of the 5 nearest with the same "
              "category" + ("." if summary else "; pair ranks: rank of b among a's neighbours / of a among b's (1 = nearest)."))
    if doc.get("pair_kinds"):
        header, rows = _pair_kind_rows(summary["pair_kinds"] if summary else doc["pair_kinds"], titles, doc["pair_kinds"])
        kinds_table = Table(title="Pair ranks by kind of pair")
        for column in header:
            kinds_table.add_column(column, justify="left" if column == "kind" else "right")
        for row in rows:
            kinds_table.add_row(*row)
        out.print(kinds_table)
        out.print("Each cell: median rank a→b/b→a, share of ranks (both ways) at 1, worst rank, among tracks of other "
                  "music (a song's other copies in pairs.csv are not counted); features: ranks in the reference "
                  "space itself. Rank-≤5 shares are in quality.json (pair_kinds)." +
                  (" Over seeds: the medians, and the worst rank of any seed." if summary else ""))
    out.print(f"Features {doc['features_seconds']:.1f} s (shared by all methods); {seconds:.1f} s in all.")
    out.print(f"Wrote {', '.join(p.name for p in result.written)} to {result.out_dir}")


def _pair_kind_rows(pair_kinds: dict[str, dict], titles: dict[str, str], counted: dict[str, dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows (one per kind of pair) of the per-kind pair ranks of each space ("features", methods);
    the pairs of each kind are counted in ``counted`` (a seed's, as a summary has no counts)."""
    spaces = list(pair_kinds)
    kinds = list(dict.fromkeys(kind for space in spaces for kind in pair_kinds[space]))

    def cell(s: dict | None) -> str:
        if s is None:
            return "-"
        if isinstance(s["worst_rank"], dict):  # a seed summary: medians over the seeds, the worst rank of any seed
            s = {**{key: value["median"] for key, value in s.items()}, "worst_rank": s["worst_rank"]["max"]}
        return f"{s['median_rank_a_to_b']:g}/{s['median_rank_b_to_a']:g} {s['share_rank_1']:.0%} {s['worst_rank']:g}"

    header = ["kind", "n", *(titles.get(space, space) for space in spaces)]
    rows = []
    for kind in kinds:
        n = next(counted[space][kind]["n_pairs"] for space in spaces if kind in counted[space])
        rows.append([kind, str(n), *(cell(pair_kinds[space].get(kind)) for space in spaces)])
    return header, rows


def _seed_summary_rows(methods: dict[str, dict], titles: dict[str, str]) -> list[list[str]]:
    """Table rows of a seed summary: T@10 and C@10 as median (min-max), kNN category and seconds as medians."""

    def spread(figure: dict | None, digits: int = 3) -> str:
        if not figure:
            return "-"
        if figure["min"] == figure["max"]:
            return number(figure["median"], digits)
        return f"{number(figure['median'], digits)} ({number(figure['min'], digits)}-{number(figure['max'], digits)})"

    def median(figure: dict | None, digits: int) -> str:
        return number(figure and figure["median"], digits)

    return [[titles.get(name, name), spread(q["trustworthiness"].get("10")), spread(q["continuity"].get("10")),
             median(q.get("knn_category_agreement"), 2), median(q.get("seconds"), 1)] for name, q in methods.items()]


def _quality_rows(methods: dict[str, dict], titles: dict[str, str]) -> list[list[str]]:
    """Table rows (method, T@5, T@10, C@5, C@10, kNN category, pair ranks, seconds)."""
    rows = []
    for name, q in methods.items():
        pairs = " ".join(f"{p['rank_a_to_b']}/{p['rank_b_to_a']}" for p in q.get("pairs", [])) or "-"
        rows.append([
            titles.get(name, name),
            number(q["trustworthiness"].get("5")),
            number(q["trustworthiness"].get("10")),
            number(q["continuity"].get("5")),
            number(q["continuity"].get("10")),
            number(q.get("knn_category_agreement"), 2),
            pairs,
            number(q.get("seconds"), 1),
        ])
    return rows


# -- inspect ------------------------------------------------------------------------------------


def print_inspection(result, input_dir: Path) -> None:
    """The files table, the durations per category, the files ``map`` would skip, metadata
    warnings, the crop length and the histogram written."""
    rows = result.rows
    table = Table(title=f"{len(rows)} audio file(s) in {input_dir}")
    for column in ("file", "format", "rate", "ch", "duration", "category"):
        table.add_column(column, justify="right" if column in ("rate", "ch", "duration") else "left")
    for r in rows:
        if r.problem:
            table.add_row(display_text(r.file), Text(r.problem, style="red"), "", "", "", r.category or "")
        else:
            table.add_row(display_text(r.file), r.format, str(r.sample_rate), str(r.channels), f"{r.duration_s:.2f} s",
                          r.category or "")
    out.print(table)

    summary = Table(title="Durations per category (seconds)")
    for column in ("category", "tracks", "min", "25%", "median", "75%", "max", "total"):
        summary.add_column(column, justify="left" if column == "category" else "right")
    for name, values in result.durations_by_category.items():
        if values:
            quartiles = _quartiles(values)
            summary.add_row(name, str(len(values)), *(f"{v:.2f}" for v in quartiles), f"{sum(values):.1f}")
    out.print(summary)
    bad = sum(1 for r in rows if r.problem)
    if bad:
        out.print(f"{bad} file(s) would be skipped by `map` (see the format column).")
    print_metadata_warnings(result.collection)
    if result.crop_s is not None:
        out.print(f"`songmap map` would loop-pad/crop every track to {result.crop_s:.2f} s "
                  f"(the {result.crop_percentile:g}th percentile of durations, clamped to 1-30 s).")
    if result.histogram is not None:
        out.print(f"Wrote {result.histogram}")


def _quartiles(values: list[float]) -> list[float]:
    import numpy as np

    return list(np.percentile(values, [0, 25, 50, 75, 100]))


# -- embed, path, playlist ----------------------------------------------------------------------


def print_placed(result, out_dir: Path) -> None:
    """Notes and skipped files of ``embed``, then the placed songs and the file written."""
    note(result.recovered)
    for path, reason in result.skipped:
        err.print(f"skipped: {path}: {reason}")
    table = Table(title=f"Placed on the map in {out_dir} (its model reads: {result.representation})")
    for column in ("song", "x", "y", "nearest on the map"):
        table.add_column(column, justify="right" if column in ("x", "y") else "left")
    for song in result.placed:
        table.add_row(Path(song.file).name, f"{song.x:.4f}", f"{song.y:.4f}", song.nearest)
    out.print(table)
    if result.written is not None:
        out.print(f"Wrote {result.written}")


def print_playlist(result) -> None:
    """Notes, then the list as a table or the file written."""
    note([*result.recovered, *result.notes])
    if result.output is not None:
        out.print(f"Wrote {len(result.tracks)} track(s) to {result.output} ({result.format})")
        return
    table = Table(title=display_text(result.name), title_justify="left")
    for column, justify in (("#", "right"), ("title", "left"), ("category", "left"), ("seconds", "right"),
                            ("cluster", "left"), ("file", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # fold, never cut: every name in full
    for order, track in enumerate(result.tracks, start=1):
        duration = track.get("duration_s")
        table.add_row(str(order), display_text(str(track.get("title") or "")), display_text(str(track.get("category") or "")),
                      f"{duration:.1f}" if isinstance(duration, (int, float)) else "", display_text(str(track.get("cluster_name") or "")),
                      display_text(track["file"]))
    out.print(table)
