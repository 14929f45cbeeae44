import itertools
import random
import statistics

import pytest

from estimator.pricing import (
    KM_PER_MILE,
    PRICE_CEILING,
    PRICE_FLOOR,
    age_factor,
    estimate_price,
    mileage_factor,
    odometer_km,
)

YEAR = 2026


def mean_price(year: int, odometer: int, unit: str = "km", draws: int = 2000, seed: int = 7) -> float:
    rng = random.Random(seed)
    return statistics.fmean(
        estimate_price(year=year, odometer=odometer, unit=unit, current_year=YEAR, rng=rng).amount  # type: ignore[arg-type]
        for _ in range(draws)
    )


def test_prices_stay_within_bounds_across_the_whole_input_space() -> None:
    rng = random.Random(1)
    for year in (1886, 1950, 2000, 2020, YEAR, YEAR + 1, 2999):
        for odometer in (0, 1, 50_000, 300_000, 2_000_000):
            for unit in ("km", "mi"):
                price = estimate_price(year=year, odometer=odometer, unit=unit, current_year=YEAR, rng=rng)
                assert PRICE_FLOOR <= price.amount <= PRICE_CEILING, (year, odometer, unit, price)
                assert isinstance(price.amount, int)
                assert price.currency == "EUR"


def test_price_is_random_not_a_constant() -> None:
    rng = random.Random(3)
    amounts = {
        estimate_price(year=2020, odometer=40_000, unit="km", current_year=YEAR, rng=rng).amount
        for _ in range(50)
    }
    assert len(amounts) > 10


def test_newer_cars_are_worth_more_on_average() -> None:
    means = [mean_price(year, 60_000) for year in (2000, 2010, 2016, 2020, 2024, YEAR)]
    assert means == sorted(means), means
    assert means[-1] > 2 * means[0]


def test_fewer_kilometres_are_worth_more_on_average() -> None:
    means = [mean_price(2018, km) for km in (400_000, 200_000, 100_000, 30_000, 0)]
    assert means == sorted(means), means
    assert means[-1] > 1.5 * means[0]


def test_miles_are_converted_to_kilometres() -> None:
    assert odometer_km(100, "mi") == pytest.approx(160.9344)
    assert odometer_km(100, "km") == 100
    # The same distance in either unit prices the same (same seed, same draws).
    by_miles = mean_price(2015, 100_000, "mi")
    by_km = mean_price(2015, round(100_000 * KM_PER_MILE), "km")
    assert by_miles == pytest.approx(by_km, rel=0.002)
    # ...and 100,000 mi is worth less than 100,000 km.
    assert mean_price(2015, 100_000, "mi") < mean_price(2015, 100_000, "km")


def test_factors_are_strictly_decreasing_and_positive() -> None:
    ages = [age_factor(a) for a in range(0, 80)]
    assert all(a > b > 0 for a, b in itertools.pairwise(ages))
    assert age_factor(-1) == age_factor(0)  # next model year counts as new
    kms = [mileage_factor(k) for k in range(0, 3_000_000, 50_000)]
    assert all(a > b > 0 for a, b in itertools.pairwise(kms))
