"""Coverage against the population: requests per 1,000 residents by area, and the
areas so far below the rest that they may not be reached at all.

Rule (docs/audit.md): an area is *possibly unreached* when its rate is below
``fraction`` (default one half) of the median rate of all areas with a known
population. The robust z-score of its log rate (median and MAD of log rates) is
reported beside it, so a reader sees how far out it lies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from cogov.audit.errors import BadColumn, BadInput, MissingColumn
from cogov.audit.files import scan, unreadable_as_input
from cogov.audit.frame import NOT_RECORDED

DEFAULT_FRACTION: Final = 0.5
#: Words that name the kind of area rather than the area ("ARLETA NC" is Arleta).
AREA_STOPWORDS: Final = ("NC", "NDC")
#: Words that say what kind of place a name is, not which one (ignored when weighing a match).
GENERIC_AREA_WORDS: Final = frozenset(
    {
        "AREA",
        "COUNCIL",
        "CC",
        "COMMUNITY",
        "NEIGHBORHOOD",
        "NEIGHBORHOODS",
        "OF",
        "THE",
        "AND",
        "DISTRICT",
        "BOARD",
    }
)
MAD_SCALE: Final = 1.4826  # makes the MAD estimate a standard deviation for normal data
TOP_CHANNELS: Final = 3


def area_key(expr: pl.Expr, stopwords: Sequence[str] = AREA_STOPWORDS) -> pl.Expr:
    """A join key that matches the same area written differently: upper case,
    punctuation to spaces, '&' as AND, words that only name the kind of area
    dropped, leading zeros of numbers dropped, and the words sorted — so
    "04 BRONX" = "BRONX 04" = "Bronx 4" and "EAST HOLLYWOOD NC" = "East Hollywood"."""
    words = (
        expr.cast(pl.String)
        .str.to_uppercase()
        .str.replace_all("&", " AND ", literal=True)
        .str.replace_all(r"[^0-9A-Z]+", " ")
        .str.strip_chars()
        .str.split(" ")
    )
    cleaned = words.list.eval(
        pl.element()
        .filter((pl.element() != "") & ~pl.element().is_in(list(stopwords)))
        .str.replace(r"^0+(\d)", "$1")
    )
    key = cleaned.list.sort().list.join(" ")
    return pl.when(key != "").then(key)


def contained_matches(case_keys: Sequence[str], population_keys: Sequence[str]) -> dict[str, str]:
    """Second pass for names an exact key misses: a case area matches the one
    population area whose words are all among its own, choosing the area with the
    most words and refusing ties ("GREATER VALLEY GLEN COUNCIL" -> "Greater Valley
    Glen", "EMPOWERMENT CONGRESS WEST AREA NDC" -> "Empowerment Congress West")."""
    known = set(population_keys)
    words = {key: frozenset(key.split(" ")) for key in population_keys}
    out: dict[str, str] = {}
    for case_key in case_keys:
        if case_key in known:
            continue
        own = frozenset(case_key.split(" "))
        telling = own - GENERIC_AREA_WORDS
        # The population name must carry at least half of the case name's telling
        # words, so a long name is not matched by two of its words.
        inside = [
            key
            for key, parts in words.items()
            if parts <= own and 2 * len(parts & telling) >= len(telling)
        ]
        if not inside:
            continue
        most = max(len(words[key]) for key in inside)
        best = [key for key in inside if len(words[key]) == most]
        if len(best) == 1:
            out[case_key] = best[0]
    return out


@dataclass(frozen=True)
class CoverageResult:
    """``table``: one row per area of the population table (label, population,
    requests, rate_per_1000, robust_z, possibly_unreached, channels);
    ``channel_mix``: requests per area and channel; ``unmatched``: case areas
    not in the population table with their request counts."""

    table: pl.DataFrame
    channel_mix: pl.DataFrame
    unmatched: pl.DataFrame
    median_rate: float | None
    threshold: float | None
    fraction: float
    cases_without_area: int
    overall_channels: pl.DataFrame


def read_population(path: Path, area: str, count: str) -> pl.DataFrame:
    """A population table (CSV or Parquet) as columns ``area`` and ``population``."""
    with unreadable_as_input("--population", path):
        return _read_population(path, area, count)


def _read_population(path: Path, area: str, count: str) -> pl.DataFrame:
    lazy = scan(path, "--population")
    names = lazy.collect_schema().names()
    for flag, column in (("--area", area), ("--count", count)):
        if column not in names:
            raise MissingColumn(flag, column, path.name, names)
    table = lazy.select(
        pl.col(area).cast(pl.String).alias("area"), pl.col(count).alias("population")
    ).collect()
    return population_table(table, source=path.name, count_column=count)


def population_table(
    table: pl.DataFrame, *, source: str = "population", count_column: str = "population"
) -> pl.DataFrame:
    """Check and type a table with columns ``area`` and ``population``."""
    if not {"area", "population"} <= set(table.columns):
        raise BadInput("population", f"{source} needs columns 'area' and 'population'")
    numbers = table.get_column("population")
    if numbers.dtype == pl.String:
        numbers = numbers.str.replace_all(",", "", literal=True)
    converted = numbers.cast(pl.Float64, strict=False)
    if converted.null_count() > numbers.null_count():
        raise BadColumn("--count", count_column, f"in {source} is not a number of residents")
    if bool((converted.drop_nulls() < 0).any()):
        raise BadColumn("--count", count_column, f"in {source} has negative populations")
    return table.with_columns(converted.alias("population")).select("area", "population")


def coverage(
    derived: pl.DataFrame,
    population: pl.DataFrame,
    *,
    fraction: float = DEFAULT_FRACTION,
    stopwords: Sequence[str] = AREA_STOPWORDS,
) -> CoverageResult:
    """Requests per 1,000 residents for each area of ``population`` (columns
    ``area``, ``population``), matching the cases' ``area`` column by :func:`area_key`."""
    if not 0 < fraction < 1:
        raise BadInput("--coverage-fraction", "must be between 0 and 1")
    has_channel = derived.get_column("channel").null_count() < derived.height
    # Keys are computed once per distinct area name, not once per case.
    names = derived.select(pl.col("area").unique().drop_nulls())
    keys = names.with_columns(area_key(pl.col("area"), stopwords).alias("key"))
    cases = derived.select(pl.col("area"), pl.col("channel").fill_null(NOT_RECORDED)).join(
        keys, on="area", how="left"
    )
    without_area = int(cases.get_column("key").null_count())
    cases = cases.drop_nulls("key")
    people = (
        population.with_columns(area_key(pl.col("area"), stopwords).alias("key"))
        .drop_nulls("key")
        .group_by("key")
        .agg(pl.col("area").first().alias("label"), pl.col("population").sum())
    )
    requests = cases.group_by("key").agg(
        pl.len().alias("requests"), pl.col("area").mode().first().alias("case_label")
    )
    aliases = contained_matches(
        requests.get_column("key").to_list(), people.get_column("key").to_list()
    )
    if aliases:
        # Fold each case spelling into the population area it names, then count again.
        cases = cases.with_columns(pl.col("key").replace(aliases))
        requests = cases.group_by("key").agg(
            pl.len().alias("requests"), pl.col("area").mode().first().alias("case_label")
        )
    mix = (
        cases.group_by("key", "channel")
        .agg(pl.len().alias("requests"))
        .with_columns((pl.col("requests") / pl.col("requests").sum().over("key")).alias("share"))
        .sort(["key", "requests", "channel"], descending=[False, True, False])
    )
    channels = mix.group_by("key", maintain_order=True).agg(
        pl.concat_str(
            pl.col("channel"),
            pl.lit(" "),
            (pl.col("share") * 100).round(0).cast(pl.Int64).cast(pl.String),
            pl.lit("%"),
        )
        .head(TOP_CHANNELS)
        .str.join(", ")
        .alias("channels")
    )
    if not has_channel:  # the source records no channel: say nothing rather than "100% unknown"
        channels = channels.with_columns(pl.lit(None, dtype=pl.String).alias("channels"))
    table = (
        people.join(requests, on="key", how="left")
        .join(channels, on="key", how="left")
        .with_columns(pl.col("requests").fill_null(0))
        .with_columns(
            pl.when(pl.col("population") > 0)
            .then(pl.col("requests") / pl.col("population") * 1000)
            .alias("rate_per_1000")
        )
    )
    rates = table.get_column("rate_per_1000").drop_nulls().to_numpy()
    median_rate = float(np.median(rates)) if rates.size else None
    threshold = median_rate * fraction if median_rate is not None else None
    positive = rates[rates > 0]
    log_median = float(np.median(np.log(positive))) if positive.size else 0.0
    mad = (
        float(np.median(np.abs(np.log(positive) - log_median))) * MAD_SCALE
        if positive.size
        else 0.0
    )
    table = (
        table.with_columns(
            pl.when((pl.col("rate_per_1000") > 0) & pl.lit(mad > 0))
            .then((pl.col("rate_per_1000").log() - log_median) / (mad or 1.0))
            .alias("robust_z"),
            (pl.col("rate_per_1000") < (threshold if threshold is not None else -1.0)).alias(
                "possibly_unreached"
            ),
        )
        .select(
            pl.col("label").alias("area"),
            "key",
            "population",
            "requests",
            "rate_per_1000",
            "robust_z",
            pl.col("possibly_unreached").fill_null(False),
            "channels",
        )
        .sort(["rate_per_1000", "area"], nulls_last=True)
    )
    unmatched = (
        requests.join(people.select("key"), on="key", how="anti")
        .select(pl.col("case_label").alias("area"), "requests")
        .sort("requests", descending=True)
    )
    overall = (
        cases.group_by("channel")
        .agg(pl.len().alias("requests"))
        .with_columns((pl.col("requests") / pl.col("requests").sum()).alias("share"))
        .sort("requests", descending=True)
    )
    return CoverageResult(
        table=table,
        channel_mix=mix,
        unmatched=unmatched,
        median_rate=median_rate,
        threshold=threshold,
        fraction=fraction,
        cases_without_area=without_area,
        overall_channels=overall,
    )
