"""A pricing strategy per SKU group (issue 16, item 4): every key optional, unknown keys refused.

The defaults do nothing surprising: match the lowest in-stock competitor seen in the last 24 h,
keep the price when none is left, never under a 15% margin, changes up to 10% applied, up to 25%
proposed to the owner, beyond refused, one change an hour, prices in whole cents. Stock, sales
and clearance multipliers are off until the owner sets them.

`Strategy` validates at the edge (JSON from settings); `Strategy.plan()` turns it once into a
`Plan` of plain Decimals that the engine's hot loop reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopflow.pricing.model import ONE, parse_ending

ReferenceKind = Literal["lowest", "nth_lowest", "avg_lowest", "highest", "competitor"]
ActionKind = Literal["match", "beat", "above", "position"]
NoCompetitor = Literal["keep", "ceiling", "price"]
BelowFloor = Literal["floor", "keep", "ceiling"]
Rounding = Literal["down", "up"]

Pct = Annotated[Decimal, Field(ge=0, le=90, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)]


class Strategy(BaseModel):
    """`pricing.strategy.<group>` as JSON. Percentages are percent (10 = 10%); `min_margin` is a
    fraction of the selling price (0.15); money is a decimal string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # competitors kept
    min_rating: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    excluded: tuple[str, ...] = ()
    max_age_hours: int = Field(default=24, ge=1, le=24 * 30)
    include_shipping: bool = False
    # the reference and the action
    reference: ReferenceKind = "lowest"
    reference_n: int = Field(default=2, ge=1, le=50)  # nth_lowest
    reference_k: int = Field(default=3, ge=1, le=50)  # avg_lowest
    reference_competitor: str | None = None  # competitor
    action: ActionKind = "match"
    amount: str = "0"  # "0.50" money or "2%" of the reference
    position: int = Field(default=1, ge=1, le=50)  # position: the nth lowest, less `amount`
    # scenarios
    no_competitor: NoCompetitor = "keep"
    no_competitor_price: Money | None = None
    below_floor: BelowFloor = "floor"
    # multipliers (all off by default)
    overstock_days: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    overstock_pct: Pct = Decimal(3)
    understock_days: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    understock_pct: Pct = Decimal(3)
    sales_goal_per_day: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    sales_goal_pct: Pct = Decimal(5)
    clearance: dict[int, Pct] = Field(default_factory=dict)  # stock age in days -> cut %
    default_elasticity: Decimal | None = Field(default=None, lt=-1, allow_inf_nan=False)
    # floor and ceiling
    min_margin: Decimal = Field(default=Decimal("0.15"), ge=0, lt=1, allow_inf_nan=False)
    max_markup: Decimal | None = Field(default=None, ge=1, allow_inf_nan=False)
    # change limits
    auto_pct: Pct = Decimal(10)
    approve_pct: Pct = Decimal(25)
    only_raise: bool = False
    daily_drop_budget_pct: Pct | None = None
    cooldown_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30)
    # rounding
    endings: tuple[str, ...] = ()
    rounding: Rounding = "down"

    @field_validator("endings")
    @classmethod
    def _endings(cls, endings: tuple[str, ...]) -> tuple[str, ...]:
        for ending in endings:
            parse_ending(ending)
        return endings

    @field_validator("amount")
    @classmethod
    def _amount(cls, amount: str) -> str:
        _parse_amount(amount)
        return amount

    @field_validator("clearance")
    @classmethod
    def _clearance(cls, steps: dict[int, Decimal]) -> dict[int, Decimal]:
        if any(days < 1 for days in steps):
            raise ValueError("clearance: stock ages are whole days, 1 or more")
        return steps

    @model_validator(mode="after")
    def _consistent(self) -> Strategy:
        if self.auto_pct > self.approve_pct:
            raise ValueError("auto_pct must not exceed approve_pct")
        if self.reference == "competitor" and not self.reference_competitor:
            raise ValueError('reference "competitor" needs reference_competitor')
        if self.no_competitor == "price" and self.no_competitor_price is None:
            raise ValueError('no_competitor "price" needs no_competitor_price')
        return self

    def _rule(self) -> str:
        """How a competitor-following target is named in a decision: "lowest/beat 0.01"."""
        if self.action == "position":
            return f"position {self.position}" + ("" if self.amount == "0" else f" less {self.amount}")
        return f"{self.reference}/{self.action}" + ("" if self.action == "match" else f" {self.amount}")

    def plan(self) -> Plan:
        """The strategy as the engine reads it, computed once."""
        amount, amount_is_pct = _parse_amount(self.amount)
        hundred = Decimal(100)
        return Plan(
            min_rating=self.min_rating,
            excluded=frozenset(self.excluded),
            max_age_seconds=self.max_age_hours * 3600,
            include_shipping=self.include_shipping,
            reference=self.reference,
            reference_n=self.reference_n,
            reference_k=self.reference_k,
            reference_competitor=self.reference_competitor,
            action=self.action,
            amount=amount,
            amount_is_pct=amount_is_pct,
            position=self.position,
            no_competitor=self.no_competitor,
            no_competitor_price=self.no_competitor_price,
            below_floor=self.below_floor,
            overstock_days=self.overstock_days,
            overstock_factor=ONE - self.overstock_pct / hundred,
            understock_days=self.understock_days,
            understock_factor=ONE + self.understock_pct / hundred,
            sales_goal_per_day=self.sales_goal_per_day,
            sales_goal_factor=ONE - self.sales_goal_pct / hundred,
            clearance=tuple(
                (days, ONE - pct / hundred, f"clearance {days}d")
                for days, pct in sorted(self.clearance.items(), reverse=True)
            ),
            default_elasticity=self.default_elasticity,
            min_margin=self.min_margin,
            max_markup=self.max_markup,
            auto_band=self.auto_pct / hundred,
            approve_band=self.approve_pct / hundred,
            only_raise=self.only_raise,
            drop_budget_factor=None
            if self.daily_drop_budget_pct is None
            else ONE - self.daily_drop_budget_pct / hundred,
            cooldown_seconds=self.cooldown_minutes * 60,
            endings=tuple(sorted({parse_ending(ending) for ending in self.endings})),
            rounding=self.rounding,
            rule=self._rule(),
        )


def _parse_amount(amount: str) -> tuple[Decimal, bool]:
    """ "0.50" -> (0.50, money); "2%" -> (0.02, percent of the reference)."""
    text = amount.strip()
    is_pct = text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%").strip())
    except ArithmeticError:
        raise ValueError(f'amount {amount!r}: give money ("0.50") or a percent ("2%")') from None
    if not value.is_finite() or value < 0 or (is_pct and value > 90):
        raise ValueError(f"amount {amount!r}: must be 0 or more (a percent at most 90%)")
    return (value / 100, True) if is_pct else (value, False)


def parse_strategy(text: str, group: str = "default") -> Strategy:
    """A strategy from JSON; ValueError names each bad key: `pricing.strategy.default: auto_pct: ...`."""
    where = f"pricing.strategy.{group}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(data, dict):
        raise ValueError(f'{where}: give a JSON object of keys such as {{"auto_pct": 10}}')
    try:
        return Strategy.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'strategy'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ValueError(f"{where}: {problems}") from None


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated strategy in the engine's terms: bands and factors as fractions."""

    min_rating: Decimal | None
    excluded: frozenset[str]
    max_age_seconds: int
    include_shipping: bool
    reference: ReferenceKind
    reference_n: int
    reference_k: int
    reference_competitor: str | None
    action: ActionKind
    amount: Decimal
    amount_is_pct: bool
    position: int
    no_competitor: NoCompetitor
    no_competitor_price: Decimal | None
    below_floor: BelowFloor
    overstock_days: Decimal | None
    overstock_factor: Decimal
    understock_days: Decimal | None
    understock_factor: Decimal
    sales_goal_per_day: Decimal | None
    sales_goal_factor: Decimal
    clearance: tuple[tuple[int, Decimal, str], ...]  # (days, factor, name), oldest step first
    default_elasticity: Decimal | None
    min_margin: Decimal
    max_markup: Decimal | None
    auto_band: Decimal
    approve_band: Decimal
    only_raise: bool
    drop_budget_factor: Decimal | None
    cooldown_seconds: int
    endings: tuple[Decimal, ...]  # ascending; empty: whole cents
    rounding: Rounding
    rule: str  # how a competitor-following target is named in a decision: "lowest/beat 0.01"


DEFAULT_PLAN = Strategy().plan()
