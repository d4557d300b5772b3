"""Indicators per administrative unit and period, computed in PostGIS from stored keys.

Public interface (stable: maps, the indicator API and reports import it)
=========================================================================

    indicator_table(indicator, *, level, date_from=None, date_to=None, user=None,
                    kind=None, agency=None, area=None, restate=True) -> list[UnitValue]

    indicator:  a key of INDICATORS (below).
    level:      "commune", "district" or "province".
    date_from, date_to: the period (dates, both included). date_to defaults to today,
                date_from to one year before date_to. Point-in-time indicators (coverage,
                overdue, open actions) are evaluated on date_to; counts of incidents over
                the whole period.
    user:       the reader. Sites come through places.selectors.site_list(user) (role,
                agency and area scoping); incident numbers are suppressed
                (incidents.suppression, counts 1-4 and what would reveal them) for anyone
                who does not see everything. user=None is the public.
    kind:       site kind (places.kinds) for the site indicators and the risk index;
                incident kind (incidents.models.IncidentKind) for the incident indicators.
    agency:     an inspections.Agency or its code: only its sites / assignments /
                corrective actions (incident indicators ignore it: incidents have no agency).
    area:       an AdminUnit or a GSO code (a code of both structures means today's unit):
                only the units inside it — the unit itself, its children, units linked to it
                by the crosswalk (today's communes that took over one of a district's old
                communes), else more than half of the unit's area inside it. Suppression is
                still applied to the whole level first, so a sub-table cannot reveal what the
                full table hides.
    restate:    a period ending before 01/07/2025 is shown on today's 38 communes
                (restated through places.CrosswalkLink) when True, on the 106 communes
                of the time when False. A period reaching 01/07/2025 or later always
                uses today's communes. The district level always means the 8 districts
                that existed until 30/06/2025 (the only districts there are); later data
                reach them through the crosswalk.

    Returns one UnitValue per unit of the level in display order (by code):
        unit_id, code, name, name_en, level, parent_code
        value        float | None   None = no data (e.g. no site to inspect) or hidden
        numerator    float | None   what value is a share / rate of (e.g. inspected sites)
        denominator  float | None   (e.g. active sites, children 0-15)
        parts        dict           the breakdown (see each indicator's `parts`)
        suppressed   bool           value hidden to protect children's privacy

    INDICATORS: dict[name, Indicator(name, label, unit, formula, parts, source, higher_is_worse)]
        coverage             %; parts sites, inspected, passing (numerator inspected, denominator sites)
        overdue_assignments  count; parts open, overdue (open = planned/assigned/in progress, due ≥ from)
        open_actions         count; parts low, medium, high, critical (created and not verified by date_to)
        overdue_actions      count; parts by severity (open and deadline < date_to)
        incidents            count; parts fatal, hospitalised, minor (None where hidden)
        fatal_incidents      count; parts as incidents
        incident_rate        per 10,000 children 0–15; parts incidents, children
        risk                 0–100; parts uninspected_share, incident_rate, rate_component,
                             overdue_action_load, hazard_sites (formula in INDICATORS["risk"].formula)
    HAZARD_KINDS (the kinds inspected: construction_site, drowning_hotspot, school_route, playground),
    LEVELS, NEW_STRUCTURE (date 2025-07-01), inspection_rules(), risk_weights(),
    unit_structure(level, date_to, restate) -> "old" | "new", period(date_from, date_to),
    IndicatorError (a core.exceptions.DomainError, 400, messages keyed by parameter),
    coverage_query(...) (the coverage SQL, also run by bench/indicators.py),
    coverage_query_joined(...) (the former coverage SQL without the stored state: bench and
    tests compare against it), privacy_footnote().

Risk index: 100 × (w1·U + w2·R + w3·A) / (w1 + w2 + w3), default w = 0.4, 0.4, 0.2, where
U = share of active hazard sites without a passing inspection within their interval,
R = the unit's incident rate ÷ the highest rate among the units shown (a hidden count enters as
2.5, the middle of 1–4, never as itself), A = min(1, Σ severity rank of overdue corrective
actions (low 1 … critical 4) ÷ (4 × hazard sites)). A component without data (no hazard site,
no child count) is left out and the weights of the others renormalised.

Settings (optional):
    CHILDSAFE_INSPECTION_INTERVALS  {site kind: days} or {kind: {"days": n, "season": (start MM-DD,
                                    due MM-DD)}} overriding DEFAULT_INSPECTION_RULES.
    CHILDSAFE_RISK_WEIGHTS          {"uninspected": w, "incidents": w, "overdue_actions": w}.

Every count is a GROUP BY on stored keys: sites.commune_id (today's commune),
incidents.commune_id / current_commune_id. Showing sites on the old units goes through the
crosswalk key first (a new commune with one predecessor, or whose predecessors lie in one
district, needs no geometry); only a site in a new commune made of several old ones is
placed by distance to those few predecessors' polygons (ST_Distance, 0 inside).

Coverage reads maps_site_inspection_state (maps/migrations/0001_site_inspection_state.py): per
site its keys (commune, kind, status, agency) and the time of its latest and latest passing
inspection, kept by triggers on places_site and inspections_inspection. A site whose latest
(passing) inspection is before the end of the period is decided by that time alone; a site
inspected after the end of the period (a past period) is probed by index for an inspection in
its window. Exact for every period; a period ending today is one scan of the state table
(readers who see every active site: the public, province-wide roles) or of the scoped sites
joined to it (agency staff, area leaders, and the old units, which need the site's point).
bench/indicators.py: 10^6 sites and inspections at 10,000 units.
"""

# ruff: noqa: S608 - SQL assembled from constant snippets of this module; values travel as parameters.

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from incidents.models import IncidentKind, Outcome
from incidents.suppression import HIDDEN_LABEL, suppress_table
from inspections.models import Agency
from inspections.models.assignments import OPEN_ASSIGNMENT_STATUSES
from inspections.models.checklists import SEVERITY_RANK, Severity
from inspections.scoping import sees_everything
from places.kinds import KINDS
from places.models import AdminLevel, AdminUnit, Site, SiteStatus
from places.selectors import site_list, today

NEW_STRUCTURE = date(2025, 7, 1)
LEVELS = ("province", "district", "commune")
# Kinds that are hazards to inspect (they have a checklist); schools and villages are not.
HAZARD_KINDS = ("construction_site", "drowning_hotspot", "school_route", "playground")
# work_mem for coverage_query_joined (its per-site grouping of 10^6 rows spills with 4 MB).
COVERAGE_WORK_MEM = "64MB"


class IndicatorError(DomainError):
    """A refused indicator request: {"parameter": ["what is wrong"]}."""

    status = 400


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    unit: str
    formula: str
    parts: tuple[str, ...]
    source: str  # "sites" or "incidents": what `kind` filters
    higher_is_worse: bool = True


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in [
        Indicator(
            "coverage",
            gettext_lazy("Inspection coverage"),
            "%",
            gettext_lazy(
                "100 × active sites with an inspection within their kind's interval before the end "
                "of the period ÷ active sites to inspect"
            ),
            ("sites", "inspected", "passing"),
            "sites",
            higher_is_worse=False,
        ),
        Indicator(
            "overdue_assignments",
            gettext_lazy("Overdue assignments"),
            gettext_lazy("assignments"),
            gettext_lazy("open assignments whose due date is before the end of the period"),
            ("open", "overdue"),
            "sites",
        ),
        Indicator(
            "open_actions",
            gettext_lazy("Open corrective actions"),
            gettext_lazy("actions"),
            gettext_lazy("corrective actions opened and not verified at the end of the period"),
            tuple(Severity.values),
            "sites",
        ),
        Indicator(
            "overdue_actions",
            gettext_lazy("Overdue corrective actions"),
            gettext_lazy("actions"),
            gettext_lazy("open corrective actions past their deadline at the end of the period"),
            tuple(Severity.values),
            "sites",
        ),
        Indicator(
            "incidents",
            gettext_lazy("Incidents"),
            gettext_lazy("children"),
            gettext_lazy("children hurt or killed in accidents during the period"),
            tuple(Outcome.values),
            "incidents",
        ),
        Indicator(
            "fatal_incidents",
            gettext_lazy("Fatal incidents"),
            gettext_lazy("children"),
            gettext_lazy("children killed in accidents during the period"),
            tuple(Outcome.values),
            "incidents",
        ),
        Indicator(
            "incident_rate",
            gettext_lazy("Incident rate"),
            gettext_lazy("per 10,000 children"),
            gettext_lazy("10,000 × incidents during the period ÷ children aged 0–15"),
            ("incidents", "children"),
            "incidents",
        ),
        Indicator(
            "risk",
            gettext_lazy("Risk index"),
            "0–100",
            gettext_lazy(
                "100 × (w1 × share of hazard sites without a passing inspection within their interval "
                "+ w2 × incident rate ÷ the highest rate among the units + w3 × min(1, overdue "
                "corrective actions weighted by severity (low 1 … critical 4) ÷ (4 × hazard sites))) "
                "÷ (w1 + w2 + w3)"
            ),
            ("uninspected_share", "incident_rate", "rate_component", "overdue_action_load", "hazard_sites"),
            "sites",
        ),
    ]
}


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionRule:
    """How often a kind must be inspected: within `days` before the date; and, with a season
    (start "MM-DD", due "MM-DD"), from the due day of a year on only an inspection since that
    year's start counts (e.g. drowning spots checked in spring, before each summer)."""

    days: int
    season: tuple[str, str] | None = None

    def window_start(self, on: date) -> date:
        start = on - timedelta(days=self.days)
        if self.season:
            season_start = date.fromisoformat(f"{on.year}-{self.season[0]}")
            season_due = date.fromisoformat(f"{on.year}-{self.season[1]}")
            if on >= season_due:
                start = max(start, season_start)
        return start


DEFAULT_INSPECTION_RULES: dict[str, InspectionRule] = {
    "construction_site": InspectionRule(days=92),  # every 3 months while works go on
    "drowning_hotspot": InspectionRule(days=365, season=("03-01", "06-01")),  # yearly, before summer
    "school_route": InspectionRule(days=183),  # each school half-year
    "playground": InspectionRule(days=365),
}


def inspection_rules() -> dict[str, InspectionRule]:
    """DEFAULT_INSPECTION_RULES with settings.CHILDSAFE_INSPECTION_INTERVALS applied."""
    rules = dict(DEFAULT_INSPECTION_RULES)
    for kind, rule in (getattr(settings, "CHILDSAFE_INSPECTION_INTERVALS", None) or {}).items():
        if isinstance(rule, int):
            rules[kind] = InspectionRule(days=rule)
        else:
            season = rule.get("season")
            rules[kind] = InspectionRule(days=int(rule["days"]), season=tuple(season) if season else None)
    return rules


DEFAULT_RISK_WEIGHTS = {"uninspected": 0.4, "incidents": 0.4, "overdue_actions": 0.2}


def risk_weights() -> dict[str, float]:
    weights = dict(DEFAULT_RISK_WEIGHTS)
    weights.update(getattr(settings, "CHILDSAFE_RISK_WEIGHTS", None) or {})
    return weights


# --- results -------------------------------------------------------------------------------------


@dataclass
class UnitValue:
    unit_id: int
    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    parts: dict = field(default_factory=dict)
    suppressed: bool = False

    def as_dict(self) -> dict:
        return {
            "unit_id": self.unit_id,
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "level": self.level,
            "parent_code": self.parent_code,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "parts": self.parts,
            "suppressed": self.suppressed,
        }


def privacy_footnote() -> str:
    return _(
        "%(label)s: hidden to protect children's privacy (fewer than 5, or hidden so that "
        "such a small number cannot be worked out from the totals)."
    ) % {"label": HIDDEN_LABEL}


# --- units and periods ---------------------------------------------------------------------------


def period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    date_to = date_to or today()
    date_from = date_from or (date_to - timedelta(days=365))
    if date_from > date_to:
        raise IndicatorError({"from": [_("the period starts after it ends")]})
    return date_from, date_to


def unit_structure(level: str, date_to: date, restate: bool) -> str:
    """ "old" (the units until 30/06/2025) or "new" (today's): see the module docstring."""
    if level == AdminLevel.DISTRICT:
        return "old"
    if level == AdminLevel.COMMUNE and not restate and date_to < NEW_STRUCTURE:
        return "old"
    return "new"


def _units_sql(level: str, structure: str) -> str:
    """The units of the level and structure: id, code, name, name_en, parent code."""
    if level == AdminLevel.PROVINCE:
        cond = "u.level = 'province'"
    elif level == AdminLevel.DISTRICT:
        cond = "u.level = 'district'"
    elif structure == "old":
        cond = "u.level = 'commune' AND u.valid_to IS NOT NULL AND u.valid_to < DATE '2025-07-01'"
    else:
        cond = "u.level = 'commune' AND u.valid_from >= DATE '2025-07-01'"
    return f"""
        SELECT u.id, u.code, u.name, u.name_en, p.code AS parent_code
          FROM places_adminunit u LEFT JOIN places_adminunit p ON p.id = u.parent_id
         WHERE {cond}"""


def unit_of_commune_sql(level: str, structure: str, commune_col: str, point_sql: str) -> str:
    """SQL giving the unit id of a row keyed by today's commune (`commune_col`), for the level.

    New structure: the key itself (or the province). Old structure: the crosswalk target; only
    a new commune with several candidate targets is resolved by the nearest predecessor polygon
    to `point_sql` (NULL if there is no point).
    """
    if level == AdminLevel.PROVINCE:
        return "(SELECT id FROM places_adminunit WHERE level = 'province' ORDER BY id LIMIT 1)"
    if structure == "new":
        return commune_col
    tgt = "o.id" if level == AdminLevel.COMMUNE else "o.parent_id"
    # count(*) OVER () after the GROUP BY: how many distinct targets the new commune has.
    return f"""(SELECT x.target_id FROM (
                  SELECT {tgt} AS target_id, min(ST_Distance(o.geom, {point_sql})) AS d, count(*) OVER () AS n
                    FROM places_crosswalklink l JOIN places_adminunit o ON o.id = l.old_unit_id
                   WHERE l.new_unit_id = {commune_col} GROUP BY {tgt}) x
                 WHERE x.n = 1 OR {point_sql} IS NOT NULL
                 ORDER BY CASE WHEN x.n = 1 THEN 0 ELSE x.d END, x.target_id LIMIT 1)"""


def _resolve_area(area) -> AdminUnit | None:
    if area is None or isinstance(area, AdminUnit):
        return area
    # A code used by both structures (03388) means today's unit.
    unit = AdminUnit.objects.filter(code=str(area)).order_by(F("valid_from").desc(nulls_last=True)).first()
    if unit is None:
        raise IndicatorError({"area": [_("no unit with code '%(code)s'") % {"code": area}]})
    return unit


def _resolve_agency(agency) -> Agency | None:
    if agency is None or isinstance(agency, Agency):
        return agency
    found = Agency.objects.filter(code=str(agency)).first()
    if found is None:
        raise IndicatorError({"agency": [_("no agency with code '%(code)s'") % {"code": agency}]})
    return found


def _check_kind(indicator: Indicator, kind: str | None) -> None:
    if kind is None:
        return
    allowed = list(IncidentKind.values) if indicator.source == "incidents" else list(KINDS)
    if kind not in allowed:
        raise IndicatorError(
            {
                "kind": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": kind, "allowed": ", ".join(allowed)}
                ]
            }
        )


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


# --- site-based numbers --------------------------------------------------------------------------


def _scoped_sites_sql(
    user, *, kind: str | None, agency: Agency | None, active_only: bool
) -> tuple[str, list]:
    qs = site_list(user=user)
    if active_only:
        qs = qs.filter(status=SiteStatus.ACTIVE)
    qs = qs.filter(kind=kind) if kind else qs.filter(kind__in=HAZARD_KINDS)
    if agency is not None:
        qs = qs.filter(agency=agency)
    sql, params = qs.order_by().values("id", "commune_id", "geom", "kind").query.sql_with_params()
    return sql, list(params)


STATE_TABLE = "maps_site_inspection_state"


def coverage_query(
    sites_sql: str,
    sites_params: list,
    unit_sql: str,
    windows: dict[str, datetime],
    end: datetime,
    inspections_table: str = "inspections_inspection",
) -> tuple[str, list]:
    """SQL and params giving per unit: sites, inspected within their kind's window, passing.

    `sites_sql` yields (id, commune_id, geom, kind, last_at, last_pass_at): the site with the
    time of its latest inspection and latest passing inspection (maps_site_inspection_state,
    kept by triggers: see maps/migrations/0001_site_inspection_state.py); `unit_sql` is an
    expression over `k` (a site); `windows` maps each kind to the start of its window, `end`
    (exclusive) is the end of the period. No join over all sites: a site whose latest inspection
    is before `end` is decided by the stored times alone (inside the window or not); only a site
    inspected at or after `end` (a past period) needs an index probe into its inspections for
    one inside [window start, end). Exact for every period.
    """
    cases = " ".join("WHEN %s THEN %s::timestamptz" for _k in windows)
    case_params = [x for kind, since in windows.items() for x in (kind, since)]
    # Two parts added up per unit: the sites decided by their stored times (a plain scan, which
    # runs in parallel), and the sites inspected at or after `end` (found through the index on
    # last_at: none for a period ending today), each probed once for its inspections in
    # [since, end) by the index (site_id, performed_at DESC) INCLUDE (result).
    sql = f"""
        WITH k AS NOT MATERIALIZED (
                SELECT s.*, CASE s.kind {cases} END AS since FROM ({sites_sql}) s)
        SELECT unit_id, sum(n)::bigint, sum(inspected)::bigint, sum(passing)::bigint FROM (
            SELECT {unit_sql} AS unit_id, count(*) AS n,
                   count(*) FILTER (WHERE k.last_at >= k.since) AS inspected,
                   count(*) FILTER (WHERE k.last_pass_at >= k.since) AS passing
              FROM k
             WHERE k.since IS NOT NULL AND (k.last_at IS NULL OR k.last_at < %s)
             GROUP BY 1
            UNION ALL
            SELECT {unit_sql}, count(*), count(*) FILTER (WHERE a.site_id IS NOT NULL),
                   count(*) FILTER (WHERE a.passed)
              FROM k LEFT JOIN LATERAL (
                    SELECT i.site_id, bool_or(i.result = 'pass') AS passed
                      FROM {inspections_table} i
                     WHERE i.site_id = k.id AND i.performed_at >= k.since AND i.performed_at < %s
                     GROUP BY i.site_id) a ON true
             WHERE k.since IS NOT NULL AND k.last_at >= %s
             GROUP BY 1) parts
         GROUP BY 1"""
    return sql, [*case_params, *sites_params, end, end, end]


def coverage_query_joined(
    sites_sql: str,
    sites_params: list,
    unit_sql: str,
    windows: dict[str, datetime],
    end: datetime,
    inspections_table: str = "inspections_inspection",
) -> tuple[str, list]:
    """The coverage SQL without the stored state: the inspections inside the widest window
    hash-joined to the sites, grouped per site then per unit (what coverage_query replaced;
    kept for bench/indicators.py, which compares both and the naive spatial join).
    `sites_sql` yields (id, commune_id, geom, kind)."""
    cases = " ".join("WHEN %s THEN %s::timestamptz" for _k in windows)
    case_params = [x for kind, since in windows.items() for x in (kind, since)]
    sql = f"""
        WITH k AS NOT MATERIALIZED (
                SELECT s.*, CASE s.kind {cases} END AS since FROM ({sites_sql}) s),
             tot AS (SELECT {unit_sql} AS unit_id, count(*) AS sites
                       FROM k WHERE k.since IS NOT NULL GROUP BY 1),
             per_site AS (
                SELECT {unit_sql} AS unit_id, k.id, bool_or(i.result = 'pass') AS passed
                  FROM k JOIN {inspections_table} i ON i.site_id = k.id
                 WHERE i.performed_at >= k.since AND i.performed_at < %s AND i.performed_at >= %s
                 GROUP BY 1, 2),
             cov AS (SELECT unit_id, count(*) AS inspected, count(*) FILTER (WHERE passed) AS passing
                       FROM per_site GROUP BY 1)
        SELECT tot.unit_id, tot.sites, coalesce(cov.inspected, 0), coalesce(cov.passing, 0)
          FROM tot LEFT JOIN cov ON cov.unit_id = tot.unit_id"""
    return sql, [*case_params, *sites_params, end, min(windows.values())]


def _sees_all_active_sites(user) -> bool:
    """True when the user's site scope, restricted to active sites, is every active site (the
    public, province-wide roles): the coverage can then read the state table alone. Decided by
    comparing the scoped query with the unscoped one, so any scoping rule added later falls back
    to the general path rather than being bypassed."""
    active = SiteStatus.ACTIVE
    try:
        scoped = str(site_list(user=user).filter(status=active).query)
        return scoped in (
            str(Site.objects.filter(status=active).query),
            str(Site.objects.filter(status=active).filter(status=active).query),
        )
    except EmptyResultSet:
        return False


def _coverage_sites_sql(
    user, *, level: str, structure: str, kind: str | None, agency: Agency | None
) -> tuple[str, list]:
    """Active sites to inspect in the user's scope with their stored latest inspection times:
    (id, commune_id, geom, kind, last_at, last_pass_at)."""
    kinds = [kind] if kind else list(HAZARD_KINDS)
    needs_geom = structure == "old" and level != AdminLevel.PROVINCE
    if not needs_geom and _sees_all_active_sites(user):
        agency_cond = "AND st.agency_id = %s" if agency is not None else ""
        sql = f"""
            SELECT st.site_id AS id, st.commune_id, NULL::geometry AS geom, st.kind,
                   st.last_at, st.last_pass_at
              FROM {STATE_TABLE} st
             WHERE st.status = %s AND st.kind = ANY(%s) {agency_cond}"""
        return sql, [str(SiteStatus.ACTIVE), kinds, *([agency.pk] if agency is not None else [])]
    sites_sql, params = _scoped_sites_sql(user, kind=kind, agency=agency, active_only=True)
    # A site without a state row (never expected) is probed: 'infinity' sends it to the index.
    sql = f"""
        SELECT s.*, CASE WHEN st.site_id IS NULL THEN 'infinity' ELSE st.last_at END AS last_at,
               CASE WHEN st.site_id IS NULL THEN 'infinity' ELSE st.last_pass_at END AS last_pass_at
          FROM ({sites_sql}) s LEFT JOIN {STATE_TABLE} st ON st.site_id = s.id"""
    return sql, params


def _coverage_counts(user, *, level, structure, date_to, kind, agency) -> dict[int, tuple[int, int, int]]:
    rules = inspection_rules()
    windows = {k: _local_start(rule.window_start(date_to)) for k, rule in rules.items() if kind in (None, k)}
    if not windows:
        return {}
    sites_sql, params = _coverage_sites_sql(user, level=level, structure=structure, kind=kind, agency=agency)
    unit_sql = unit_of_commune_sql(level, structure, "k.commune_id", "ST_PointOnSurface(k.geom)")
    sql, all_params = coverage_query(
        sites_sql, params, unit_sql, windows, _local_start(date_to + timedelta(days=1))
    )
    rows = _fetch(sql, all_params)
    return {unit: (sites, inspected, passing) for unit, sites, inspected, passing in rows if unit is not None}


def _assignment_counts(
    user, *, level, structure, date_from, date_to, kind, agency
) -> dict[int, tuple[int, int]]:
    sites_sql, params = _scoped_sites_sql(user, kind=kind, agency=None, active_only=False)
    unit_sql = unit_of_commune_sql(level, structure, "s.commune_id", "ST_PointOnSurface(s.geom)")
    agency_cond = "AND a.agency_id = %s" if agency is not None else ""
    sql = f"""
        WITH s AS ({sites_sql})
        SELECT {unit_sql} AS unit_id, count(*) AS open,
               count(*) FILTER (WHERE a.due_date < %s) AS overdue
          FROM s JOIN inspections_assignment a ON a.site_id = s.id
         WHERE a.status = ANY(%s) AND a.due_date >= %s {agency_cond}
         GROUP BY 1"""
    extra = [agency.pk] if agency is not None else []
    rows = _fetch(sql, [*params, date_to, [str(v) for v in OPEN_ASSIGNMENT_STATUSES], date_from, *extra])
    return {unit: (n_open, overdue) for unit, n_open, overdue in rows if unit is not None}


def _action_counts(user, *, level, structure, date_to, kind, agency) -> dict[int, dict]:
    """Per unit and severity: (open, overdue) at the end of date_to.

    Open at a moment = created by then and not verified by then (verified_at), so past
    periods are answered from the record, not from today's status.
    """
    sites_sql, params = _scoped_sites_sql(user, kind=kind, agency=None, active_only=False)
    unit_sql = unit_of_commune_sql(level, structure, "s.commune_id", "ST_PointOnSurface(s.geom)")
    agency_cond = "AND a.agency_id = %s" if agency is not None else ""
    sql = f"""
        WITH s AS ({sites_sql})
        SELECT {unit_sql} AS unit_id, a.severity, count(*) AS open,
               count(*) FILTER (WHERE a.deadline < %s) AS overdue
          FROM s JOIN inspections_correctiveaction a ON a.site_id = s.id
         WHERE a.created_at < %s AND (a.verified_at IS NULL OR a.verified_at >= %s) {agency_cond}
         GROUP BY 1, 2"""
    end = _local_start(date_to + timedelta(days=1))
    extra = [agency.pk] if agency is not None else []
    out: dict[int, dict] = {}
    for unit, severity, n_open, overdue in _fetch(sql, [*params, date_to, end, end, *extra]):
        if unit is not None:
            out.setdefault(unit, {})[severity] = (n_open, overdue)
    return out


# --- incidents -----------------------------------------------------------------------------------


def incident_counts_sql(level: str, structure: str) -> str:
    """Per unit and outcome, from the stored commune keys (as recorded / today's)."""
    if level == AdminLevel.PROVINCE or structure == "new":
        unit_sql = unit_of_commune_sql(level, structure, "i.current_commune_id", "i.location")
    else:
        via = unit_of_commune_sql(level, structure, "i.current_commune_id", "i.location")
        own = "i.commune_id" if level == AdminLevel.COMMUNE else "c.parent_id"
        unit_sql = f"CASE WHEN c.valid_to IS NOT NULL THEN {own} ELSE {via} END"
    return f"""
        SELECT {unit_sql} AS unit_id, i.outcome, count(*)
          FROM incidents_incident i JOIN places_adminunit c ON c.id = i.commune_id
         WHERE i.date BETWEEN %s AND %s AND (%s::text IS NULL OR i.kind = %s)
         GROUP BY 1, 2"""


def _incident_cells(*, level, structure, date_from, date_to, kind) -> dict[tuple[int, str], int]:
    rows = _fetch(incident_counts_sql(level, structure), [date_from, date_to, kind, kind])
    return {(unit, outcome): n for unit, outcome, n in rows if unit is not None}


def _children_sql(level: str, structure: str) -> str:
    """Children 0-15 per unit: the unit's own figure for the latest year up to the period's
    year (else the earliest), or the sum over its parts (predecessors of a new commune,
    communes of a district, districts of the province)."""
    own = """
        SELECT DISTINCT ON (unit_id) unit_id, value FROM places_unitstatistic
         WHERE indicator = 'children_0_15'
         ORDER BY unit_id, year > %(year)s, CASE WHEN year <= %(year)s THEN -year ELSE year END"""
    if level == AdminLevel.PROVINCE:
        parts = (
            "SELECT p.id AS unit_id, c.id AS part_id FROM places_adminunit p"
            " JOIN places_adminunit c ON c.level = 'commune' AND c.valid_to IS NOT NULL"
            " WHERE p.level = 'province'"
        )
    elif level == AdminLevel.DISTRICT:
        parts = (
            "SELECT parent_id AS unit_id, id AS part_id FROM places_adminunit"
            " WHERE level = 'commune' AND valid_to IS NOT NULL"
        )
    elif structure == "new":
        parts = "SELECT new_unit_id AS unit_id, old_unit_id AS part_id FROM places_crosswalklink"
    else:
        parts = "SELECT NULL::bigint AS unit_id, NULL::bigint AS part_id WHERE false"
    return f"""
        WITH own AS ({own}), parts AS ({parts}),
             summed AS (SELECT p.unit_id, sum(o.value) AS value
                          FROM parts p JOIN own o ON o.unit_id = p.part_id GROUP BY p.unit_id)
        SELECT u.id, coalesce(own.value, summed.value)
          FROM ({_units_sql(level, structure)}) u
          LEFT JOIN own ON own.unit_id = u.id LEFT JOIN summed ON summed.unit_id = u.id"""


def _children(level: str, structure: str, year: int) -> dict[int, float | None]:
    return dict(_fetch(_children_sql(level, structure), {"year": year}))


# --- the table -----------------------------------------------------------------------------------


def _inside(area: AdminUnit, level: str, structure: str) -> set[int]:
    """Units of the level inside `area`: the area itself, its descendants, units linked to it by
    the crosswalk (a new commune that took over one of the area's old communes, an old commune
    now part of the area), or, for anything else, more than half of the unit's area inside it."""
    sql = f"""
        SELECT u.id FROM ({_units_sql(level, structure)}) u JOIN places_adminunit g ON g.id = u.id
         WHERE u.id = %(area)s OR g.parent_id = %(area)s
            OR EXISTS (SELECT 1 FROM places_crosswalklink l JOIN places_adminunit o ON o.id = l.old_unit_id
                        WHERE (l.new_unit_id = u.id AND (o.id = %(area)s OR o.parent_id = %(area)s))
                           OR (l.old_unit_id = u.id AND l.new_unit_id = %(area)s))
            OR (g.level <> 'province' AND ST_Intersects(g.geom, %(geom)s::geometry)
                AND ST_Area(ST_Intersection(g.geom, %(geom)s::geometry)) > 0.5 * ST_Area(g.geom))"""
    return {row[0] for row in _fetch(sql, {"area": area.pk, "geom": area.geom.ewkb})}


def _incident_table(units, cells, suppressed: bool) -> dict[int, dict]:
    """Per unit: {outcome: n or None, "total": n or None, "hidden": bool}."""
    outcomes = list(Outcome.values)
    ids = [u[0] for u in units]
    counts = {(uid, o): cells.get((uid, o), 0) for uid in ids for o in outcomes}
    if not suppressed:
        return {
            uid: {
                **{o: counts[(uid, o)] for o in outcomes},
                "total": sum(counts[(uid, o)] for o in outcomes),
                "hidden": False,
            }
            for uid in ids
        }
    table = suppress_table(counts, rows=ids, cols=outcomes)
    return {
        uid: {
            **{o: table.cells[(uid, o)] for o in outcomes},
            "total": table.row_totals[uid],
            "hidden": table.row_totals[uid] is None or any(table.cells[(uid, o)] is None for o in outcomes),
        }
        for uid in ids
    }


def _risk(values: dict, weights: dict) -> float | None:
    parts = [
        (weights["uninspected"], values["uninspected_share"]),
        (weights["incidents"], values["rate_component"]),
        (weights["overdue_actions"], values["overdue_action_load"]),
    ]
    known = [(w, v) for w, v in parts if v is not None]
    if not known or sum(w for w, _v in known) == 0:
        return None
    return round(100 * sum(w * v for w, v in known) / sum(w for w, _v in known), 1)


def indicator_table(
    indicator: str,
    *,
    level: str,
    date_from: date | None = None,
    date_to: date | None = None,
    user=None,
    kind: str | None = None,
    agency=None,
    area=None,
    restate: bool = True,
) -> list[UnitValue]:
    """One value per unit of `level` for `indicator` over the period: see the module docstring."""
    if indicator not in INDICATORS:
        raise IndicatorError(
            {
                "indicator": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": indicator, "allowed": ", ".join(INDICATORS)}
                ]
            }
        )
    if level not in LEVELS:
        raise IndicatorError(
            {
                "level": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": level, "allowed": ", ".join(LEVELS)}
                ]
            }
        )
    spec = INDICATORS[indicator]
    _check_kind(spec, kind)
    date_from, date_to = period(date_from, date_to)
    agency = _resolve_agency(agency)
    area = _resolve_area(area)
    structure = unit_structure(level, date_to, restate)
    units = _fetch(_units_sql(level, structure) + " ORDER BY u.code, u.id", [])
    rows = {
        uid: UnitValue(unit_id=uid, code=code, name=name, name_en=name_en, level=level, parent_code=parent)
        for uid, code, name, name_en, parent in units
    }
    common = {"level": level, "structure": structure}

    if indicator == "coverage":
        for uid, (sites, inspected, passing) in _coverage_counts(
            user, date_to=date_to, kind=kind, agency=agency, **common
        ).items():
            if uid in rows and sites:
                r = rows[uid]
                r.numerator, r.denominator = inspected, sites
                r.value = round(100 * inspected / sites, 1)
                r.parts = {"sites": sites, "inspected": inspected, "passing": passing}
    elif indicator == "overdue_assignments":
        counts = _assignment_counts(
            user, date_from=date_from, date_to=date_to, kind=kind, agency=agency, **common
        )
        for uid, r in rows.items():
            n_open, overdue = counts.get(uid, (0, 0))
            r.value, r.parts = overdue, {"open": n_open, "overdue": overdue}
    elif indicator in ("open_actions", "overdue_actions"):
        counts = _action_counts(user, date_to=date_to, kind=kind, agency=agency, **common)
        pick = 0 if indicator == "open_actions" else 1
        for uid, r in rows.items():
            by_sev = counts.get(uid, {})
            r.parts = {sev: by_sev.get(sev, (0, 0))[pick] for sev in Severity.values}
            r.value = sum(r.parts.values())
    else:
        suppressed = not sees_everything(user)
        cells = _incident_cells(
            date_from=date_from, date_to=date_to, kind=kind if spec.source == "incidents" else None, **common
        )
        table = _incident_table(units, cells, suppressed)
        children = _children(level, structure, date_to.year)
        if indicator in ("incidents", "fatal_incidents", "incident_rate"):
            for uid, r in rows.items():
                t = table[uid]
                r.parts = {o: t[o] for o in Outcome.values}
                if indicator == "incidents":
                    r.value, r.suppressed = t["total"], t["total"] is None
                elif indicator == "fatal_incidents":
                    r.value, r.suppressed = t["fatal"], t["fatal"] is None
                else:
                    kids = children.get(uid)
                    r.parts = {"incidents": t["total"], "children": kids}
                    r.numerator, r.denominator = t["total"], kids
                    r.suppressed = t["total"] is None
                    if t["total"] is not None and kids:
                        r.value = round(10_000 * t["total"] / kids, 2)
        else:  # risk
            weights = risk_weights()
            cov = _coverage_counts(user, date_to=date_to, kind=kind, agency=agency, **common)
            acts = _action_counts(user, date_to=date_to, kind=kind, agency=agency, **common)
            rates = {}
            for uid in rows:
                kids, total = children.get(uid), table[uid]["total"]
                # A hidden count enters the index as 2.5 (the middle of 1-4), never as itself.
                imputed = total is None
                n = 2.5 if imputed else total
                rates[uid] = (10_000 * n / kids if kids else None, imputed)
            top = max((rate for rate, _i in rates.values() if rate), default=0)
            for uid, r in rows.items():
                sites, _inspected, passing = cov.get(uid, (0, 0, 0))
                load = sum(SEVERITY_RANK[sev] * pair[1] for sev, pair in acts.get(uid, {}).items())
                rate, imputed = rates[uid]
                values = {
                    "hazard_sites": sites,
                    "uninspected_share": round(1 - passing / sites, 4) if sites else None,
                    "incident_rate": None if imputed else (round(rate, 2) if rate is not None else None),
                    "rate_component": round(rate / top, 4)
                    if rate is not None and top
                    else (0.0 if rate is not None else None),
                    "overdue_action_load": round(min(1.0, load / (4 * sites)), 4) if sites else None,
                }
                r.parts = values
                r.value = _risk(values, weights)
                r.suppressed = imputed and suppressed

    out = list(rows.values())
    if area is not None:
        keep = _inside(area, level, structure)
        out = [r for r in out if r.unit_id in keep]
    return out
