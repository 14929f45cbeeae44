"""A plausible used-car price: random, but a newer car with fewer kilometres is worth more on average.

price = new-car value x age depreciation x mileage depreciation x noise, floored and capped. The new-car
value and the noise are random; the two depreciation factors are deterministic and strictly decreasing,
so the expected price falls with age and with distance (the unit tests check this on many draws).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

KM_PER_MILE = 1.609344
PRICE_FLOOR = 300
PRICE_CEILING = 250_000
CURRENCY = "EUR"

# New-car list value, drawn uniformly in this range (whole euros).
_NEW_VALUE_MIN = 15_000
_NEW_VALUE_MAX = 60_000
# About 15 % a year for the first years, flattening so a 40-year-old car is not worth zero.
_AGE_RATE = 0.15
_AGE_FLOOR = 0.08
# Roughly half the value gone at 200,000 km.
_KM_HALF_LIFE = 200_000.0
_NOISE = 0.10


@dataclass(frozen=True, slots=True)
class Price:
    amount: int
    currency: str = CURRENCY


def odometer_km(odometer: int, unit: Literal["km", "mi"]) -> float:
    return odometer * KM_PER_MILE if unit == "mi" else float(odometer)


def age_factor(age_years: int) -> float:
    age = max(0, age_years)  # a car of next model year is as new as this year's
    return _AGE_FLOOR + (1 - _AGE_FLOOR) * math.exp(-_AGE_RATE * age)


def mileage_factor(km: float) -> float:
    return float(0.5 ** (max(0.0, km) / _KM_HALF_LIFE)) * 0.9 + 0.1


def estimate_price(
    *,
    year: int,
    odometer: int,
    unit: Literal["km", "mi"],
    current_year: int,
    rng: random.Random,
) -> Price:
    new_value = rng.uniform(_NEW_VALUE_MIN, _NEW_VALUE_MAX)
    noise = 1 + rng.uniform(-_NOISE, _NOISE)
    value = new_value * age_factor(current_year - year) * mileage_factor(odometer_km(odometer, unit)) * noise
    amount = min(PRICE_CEILING, max(PRICE_FLOOR, round(value / 10) * 10))
    return Price(amount=int(amount))
