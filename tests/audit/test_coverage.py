"""Coverage against the population: area names joined however they are written,
rates per 1,000 residents, and the rule that flags possibly unreached areas."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cogov.audit import (
    BadColumn,
    MissingColumn,
    area_key,
    case_frame,
    coverage,
    derive,
    population_table,
    read_population,
)
from cogov.audit.coverage import contained_matches


def key(text: str) -> str | None:
    return pl.select(area_key(pl.lit(text)).alias("k")).item()


class TestAreaKey:
    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("BRONX 04", "04 BRONX"),
            ("BRONX 04", "Bronx 4"),
            ("05 Brooklyn", "BROOKLYN 05"),
            ("EAST HOLLYWOOD NC", "East Hollywood"),
            ("Bel Air-Beverly Crest", "BEL AIR BEVERLY CREST NC"),
            ("Arts & Crafts", "ARTS AND CRAFTS"),
        ],
    )
    def test_same_area_same_key(self, left: str, right: str) -> None:
        assert key(left) == key(right)

    def test_different_districts_differ(self) -> None:
        assert key("BRONX 04") != key("BRONX 14")
        assert key("QUEENS 01") != key("BRONX 01")

    def test_blank_is_no_key(self) -> None:
        assert key("  ") is None

    @given(
        st.lists(st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True), min_size=1, max_size=4),
        st.integers(1, 99),
    )
    def test_word_order_case_and_leading_zeros_never_matter(
        self, words: list[str], number: int
    ) -> None:
        forward = " ".join([*words, f"{number:02d}"])
        backward = " ".join([str(number), *reversed([w.upper() for w in words])])
        assert key(forward) == key(backward)

    def test_contained_names_match_only_when_unambiguous_and_telling(self) -> None:
        population = ["CONGRESS EMPOWERMENT WEST", "ADAMS WEST", "ECHO PARK"]
        cases = [
            "AREA CONGRESS EMPOWERMENT WEST",
            "ECHO ELYSIAN GREATER PARK",
            "ADAMS ARLINGTON HEIGHTS HISTORIC JEFFERSON PARK UNITED WEST",
        ]
        matches = contained_matches(cases, population)
        assert matches["AREA CONGRESS EMPOWERMENT WEST"] == "CONGRESS EMPOWERMENT WEST"
        assert matches["ECHO ELYSIAN GREATER PARK"] == "ECHO PARK"
        # Two of nine telling words is not enough to call it West Adams.
        assert "ADAMS ARLINGTON HEIGHTS HISTORIC JEFFERSON PARK UNITED WEST" not in matches


class TestRule:
    def _audit(
        self, counts: dict[str, int], people: dict[str, int], fraction: float = 0.5
    ) -> pl.DataFrame:
        rows = [
            {"created_at": None, "area": area, "channel": "phone" if i % 3 else "web"}
            for area, n in counts.items()
            for i in range(n)
        ]
        frame = case_frame(rows)
        table = pl.DataFrame({"area": list(people), "population": list(people.values())})
        return coverage(derive(frame), population_table(table), fraction=fraction).table

    def test_rates_and_flags_below_half_the_median(self) -> None:
        table = self._audit(
            {"A 01": 100, "A 02": 90, "A 03": 110, "A 04": 30, "A 05": 95},
            {
                "A 01": 10_000,
                "A 02": 10_000,
                "A 03": 10_000,
                "A 04": 10_000,
                "A 05": 10_000,
                "A 06": 5_000,
            },
        )
        rates = dict(table.select("area", "rate_per_1000").iter_rows())
        assert rates["A 01"] == pytest.approx(10.0)
        assert rates["A 06"] == 0.0
        flagged = set(table.filter(pl.col("possibly_unreached")).get_column("area"))
        # median of 10, 9, 11, 3, 9.5, 0 is 9.25: threshold 4.625
        assert flagged == {"A 04", "A 06"}
        channels = dict(table.select("area", "channels").iter_rows())
        assert channels["A 04"].startswith("phone 67%")
        assert channels["A 06"] is None

    def test_unmatched_case_areas_are_listed_not_dropped(self) -> None:
        frame = case_frame([{"created_at": None, "area": "Z 9", "channel": "web"}] * 3)
        result = coverage(
            derive(frame), population_table(pl.DataFrame({"area": ["A 1"], "population": [10]}))
        )
        assert result.unmatched.to_dicts() == [{"area": "Z 9", "requests": 3}]

    def test_population_columns_are_checked(self, tmp_path: Path) -> None:
        path = tmp_path / "people.csv"
        path.write_text("district,residents\nA,12\nB,many\n", encoding="utf-8")
        with pytest.raises(MissingColumn, match=r"--count: column 'population'.*'residents'"):
            read_population(path, "district", "population")
        with pytest.raises(BadColumn, match=r"--count: column 'residents'.*not a number"):
            read_population(path, "district", "residents")
