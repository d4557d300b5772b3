"""Investment priority of communes for new play areas: a transparent weighted score.

score = Σ weight × normalised component, weights summing to 1, each component in 0–1
with 1 = most need:

| component | raw value | normalised |
|---|---|---|
| unserved | children (village child_count) beyond threshold_m of any playground | min–max |
| extremely_difficult | UnitStatistic 'extremely_difficult' (0/1; QĐ 113/QĐ-UBND) | the flag itself |
| poverty | UnitStatistic 'poverty_rate' (%) | min–max |
| incidents | child incidents of the last 5 years per 10,000 children 0–15 (statistic) | min–max |
| playgrounds | playgrounds per 1,000 children (villages) | INVERTED min–max: fewest → 1 |

Min–max over the communes that have a value; when all have the same value the
component cannot tell communes apart and is 0 for all. A missing raw value (no
statistic, no children) is None, contributes 0 and is listed in `missing`, never
silently zeroed. Ties in score are broken by commune code.

Incidents and privacy: a user who may read single records (incidents.privacy) gets the
exact counts; anyone else (the planner) the published commune totals of
incidents.aggregates.aggregate_table over the same 5 years, small counts suppressed. A
hidden total counts as HIDDEN_INCIDENTS (2.5, the middle of 1–4, the range a primary
suppression hides) for every commune where it is hidden, and its count and rate are
shown as the hidden symbol: the score then tells nothing the published table does not.

Statistics: with `year` the values of that year; without it, per indicator the latest
year (not after today's) that has any value; the years used are in `years`.
"""

import math
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max
from django.utils.translation import gettext as _

from incidents.aggregates import aggregate_table
from incidents.selectors import incident_counts
from incidents.suppression import DEFAULT_THRESHOLD
from places.models import AdminLevel, StatIndicator, UnitStatistic
from places.selectors import today

from .access import METHOD, CommuneAccess, Sources, check_threshold, commune_rows
from .exceptions import PlanningInvalid

DEFAULT_WEIGHTS: dict[str, float] = {
    "unserved": 0.35,
    "extremely_difficult": 0.25,
    "poverty": 0.15,
    "incidents": 0.15,
    "playgrounds": 0.10,
}
INCIDENT_YEARS = 5
HIDDEN_INCIDENTS = (1 + DEFAULT_THRESHOLD - 1) / 2


def clean_weights(weights: dict | None) -> dict[str, float]:
    """Defaults overridden name by name; each finite and ≥ 0, at least one > 0; scaled to sum 1."""
    merged = dict(DEFAULT_WEIGHTS)
    errors: dict[str, list[str]] = {}
    for name, raw in (weights or {}).items():
        key = f"weights.{name}"
        if name not in DEFAULT_WEIGHTS:
            errors[key] = [_("unknown weight (known: %(known)s)") % {"known": ", ".join(DEFAULT_WEIGHTS)}]
            continue
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        except (TypeError, ValueError):
            errors[key] = [_("expected a number, got '%(v)s'") % {"v": raw}]
            continue
        if not math.isfinite(value):
            errors[key] = [_("must be a finite number")]
        elif value < 0:
            errors[key] = [_("must be at least 0")]
        else:
            merged[name] = value
    if errors:
        raise PlanningInvalid(errors)
    total = sum(merged.values())
    if total <= 0:
        raise PlanningInvalid({"weights": [_("at least one weight must be greater than 0")]})
    return {name: value / total for name, value in merged.items()}


@dataclass
class Component:
    raw: float | None
    normalised: float | None
    weight: float
    contribution: float
    missing: bool
    hidden: bool = False  # raw value withheld (a suppressed incident count): raw is None


@dataclass
class PriorityRow:
    commune_id: int
    code: str
    name: str
    name_en: str
    components: dict[str, Component]
    score: float
    rank: int = 0
    missing: list[str] = field(default_factory=list)
    access: CommuneAccess | None = None
    incidents: int | None = 0  # None: hidden (suppressed count)
    children_0_15: float | None = None
    years: dict[str, int | None] = field(default_factory=dict)
    threshold_m: float = 1000
    method: str = METHOD


def _stat_years(year: int | None, indicators: list[str]) -> dict[str, int | None]:
    current = UnitStatistic.objects.filter(
        unit__level=AdminLevel.COMMUNE, unit__valid_to__isnull=True, unit__valid_from__isnull=False
    )
    if year is not None:
        return dict.fromkeys(indicators, year)
    latest = dict(
        current.filter(indicator__in=indicators, year__lte=today().year)
        .values("indicator")
        .annotate(y=Max("year"))
        .values_list("indicator", "y")
    )
    return {i: latest.get(i) for i in indicators}


def _stats(years: dict[str, int | None]) -> dict[tuple[int, str], float]:
    out: dict[tuple[int, str], float] = {}
    for indicator, year in years.items():
        if year is None:
            continue
        for unit_id, value in UnitStatistic.objects.filter(indicator=indicator, year=year).values_list(
            "unit_id", "value"
        ):
            out[(unit_id, indicator)] = value
    return out


def _minmax(values: dict[int, float | None], invert: bool = False) -> dict[int, float | None]:
    present = [v for v in values.values() if v is not None]
    lo, hi = (min(present), max(present)) if present else (0.0, 0.0)
    out: dict[int, float | None] = {}
    for key, v in values.items():
        if v is None:
            out[key] = None
        elif hi == lo:
            out[key] = 0.0
        else:
            n = (v - lo) / (hi - lo)
            out[key] = 1.0 - n if invert else n
    return out


def incident_period(until: date) -> tuple[date, date]:
    return date(until.year - INCIDENT_YEARS, until.month, min(until.day, 28)), until


def _incident_totals(until: date) -> dict[str, int]:
    start, until = incident_period(until)
    table = incident_counts(level=AdminLevel.COMMUNE, date_from=start, date_to=until)
    totals: dict[str, int] = {}
    for (code, _column), n in table.counts.items():
        totals[code] = totals.get(code, 0) + n
    return totals


def _published_incident_totals(until: date) -> dict[str, int | None]:
    """Per commune code the published 5-year total (None: hidden), as the incidents page shows it."""
    start, until = incident_period(until)
    table = aggregate_table(level=AdminLevel.COMMUNE, by="kind", date_from=start, date_to=until)
    return {row["code"]: row["total"] for row in table["rows"]}


def priority_rows(
    *,
    sources: Sources,
    weights: dict | None,
    threshold_m: float,
    year: int | None,
    communes: frozenset[int] | None = None,
    exact_incidents: bool = True,
) -> list[PriorityRow]:
    """communes: only these (min–max over them too); exact_incidents: see the module doc."""
    w = clean_weights(weights)
    threshold = check_threshold(threshold_m)
    access = commune_rows(sources, threshold)
    if communes is not None:
        access = [a for a in access if a.commune_id in communes]
    indicators = [StatIndicator.EXTREMELY_DIFFICULT, StatIndicator.POVERTY_RATE, StatIndicator.CHILDREN_0_15]
    years = _stat_years(year, [str(i) for i in indicators])
    stats = _stats(years)
    incidents: dict[str, int | None] = (
        _incident_totals(today()) if exact_incidents else _published_incident_totals(today())
    )
    hidden = {a.commune_id for a in access if a.code in incidents and incidents[a.code] is None}

    raw: dict[str, dict[int, float | None]] = {name: {} for name in DEFAULT_WEIGHTS}
    for a in access:
        uid = a.commune_id
        children_stat = stats.get((uid, "children_0_15"))
        raw["unserved"][uid] = float(a.children_unserved)
        raw["extremely_difficult"][uid] = stats.get((uid, "extremely_difficult"))
        raw["poverty"][uid] = stats.get((uid, "poverty_rate"))
        count = HIDDEN_INCIDENTS if uid in hidden else incidents.get(a.code, 0)
        raw["incidents"][uid] = count * 10_000 / children_stat if children_stat else None
        raw["playgrounds"][uid] = a.playgrounds_per_1000_children
    norm = {
        "unserved": _minmax(raw["unserved"]),
        "extremely_difficult": dict(raw["extremely_difficult"]),
        "poverty": _minmax(raw["poverty"]),
        "incidents": _minmax(raw["incidents"]),
        "playgrounds": _minmax(raw["playgrounds"], invert=True),
    }
    rows = []
    for a in access:
        uid = a.commune_id
        components = {}
        for name in DEFAULT_WEIGHTS:
            n = norm[name][uid]
            withheld = name == "incidents" and uid in hidden
            components[name] = Component(
                raw=None if withheld else raw[name][uid],
                normalised=n,
                weight=w[name],
                contribution=w[name] * n if n is not None else 0.0,
                missing=n is None,
                hidden=withheld,
            )
        rows.append(
            PriorityRow(
                commune_id=uid,
                code=a.code,
                name=a.name,
                name_en=a.name_en,
                components=components,
                score=sum(c.contribution for c in components.values()),
                missing=[name for name, c in components.items() if c.missing],
                access=a,
                incidents=None if uid in hidden else incidents.get(a.code, 0),
                children_0_15=stats.get((uid, "children_0_15")),
                years=years,
                threshold_m=threshold,
                method=a.method,
            )
        )
    # Round before comparing so float noise does not decide a tie; the code does.
    rows.sort(key=lambda r: (-round(r.score, 9), r.code))
    for i, r in enumerate(rows, start=1):
        r.rank = i
    return rows


def commune_priority(
    *,
    weights: dict[str, float] | None = None,
    threshold_m: float = 1000,
    year: int | None = None,
    sources: Sources | None = None,
    communes: frozenset[int] | None = None,
    exact_incidents: bool = True,
) -> list[PriorityRow]:
    """Today's communes ranked by need for new play areas (rank 1 = highest score).

    For a user, pass what planning.scope.planning_scope(user) allows (sources, communes,
    exact_incidents)."""
    return priority_rows(
        sources=sources or Sources(),
        weights=weights,
        threshold_m=threshold_m,
        year=year,
        communes=communes,
        exact_incidents=exact_incidents,
    )
