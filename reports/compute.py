"""The numbers of a report: every section for one scope (an agency, an area or the province) and one
period, counted in PostgreSQL (GROUP BY on stored keys, COUNT ... FILTER, EXISTS), never by looping over
rows in Python.

Definitions (stated in the report itself as well):
- sites registered: sites created in the period; active at the end: created by the end, status active;
- assignments: due in the period, cancelled ones left out; done: status done; done on time: done and an
  inspection of the assignment performed on or before its due date;
- coverage: maps.indicators (active hazard sites inspected within their kind's interval before the end);
- corrective actions: opened (created in the period), closed (reported done by the agency in the
  period), verified (by a later passing inspection in the period), overdue at the end of the period
  (opened by then, deadline passed, not verified by then; the end is today for a running period);
- incidents: incidents.aggregates.aggregate_table on the scope's row, small numbers hidden unless the
  report is exact;
- play-area access: planning.access.commune_access (1,000 m; straight line, or along the road and path
  network once one is loaded, as the note says) on the villages of the scope;
  new play areas: playgrounds registered in the period.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from incidents.aggregates import aggregate_table
from incidents.selectors import CATEGORY_FIELDS
from incidents.suppression import HIDDEN_LABEL, SuppressedSeries
from inspections.models import (
    ActionStatus,
    Agency,
    Answer,
    Assignment,
    AssignmentStatus,
    CorrectiveAction,
    Inspection,
    Result,
)
from inspections.models.checklists import Severity
from inspections.scoping import area_q
from maps.indicators import HAZARD_KINDS, INDICATORS, indicator_table, inspection_rules
from places.kinds import KIND_CHOICES
from places.models import AdminLevel, AdminUnit, CrosswalkLink, Site, SiteStatus
from planning.access import METHOD_LABELS, commune_access, distance_method

ACCESS_THRESHOLD_M = 1000
FAILED_ITEMS_LIMIT = 10
INCIDENT_BREAKDOWNS = ("kind", "age_band", "sex", "outcome")


def lazy_format(text, **params):
    """`text % params`, formatted when read (so that both() renders each language)."""
    return lazy(lambda: str(text) % {k: str(v) for k, v in params.items()}, str)()


def both(text) -> dict:
    """A label in both languages, frozen into the snapshot."""
    with translation.override("vi"):
        vi = str(text)
    with translation.override("en"):
        en = str(text)
    return {"vi": vi, "en": en}


def unit_label(unit) -> dict:
    return {"vi": unit.name, "en": unit.name_en or unit.name}


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> "Period":
        """The period of equal length that ends the day before this one starts."""
        end = self.date_from - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    @property
    def as_of(self) -> date:
        """The day 'overdue' is judged on: the end of the period, or today while it runs."""
        return min(self.date_to, timezone.localdate())


@dataclass(frozen=True)
class ReportScope:
    scope: str  # "agency" | "area" | "province"
    agency: Agency | None = None
    area: AdminUnit | None = None

    def site_q(self, prefix: str = "") -> Q:
        """Sites of the scope: the agency's (routed to it), the area's, or all."""
        if self.scope == "agency":
            return Q(**{f"{prefix}agency": self.agency})
        if self.scope == "area":
            return area_q(self.area, prefix=prefix)
        return Q()

    def record_q(self, prefix: str = "") -> Q:
        """Assignments, inspections, corrective actions (each with `agency` and `site`)."""
        if self.scope == "agency":
            return Q(**{f"{prefix}agency": self.agency})
        if self.scope == "area":
            return area_q(self.area, prefix=f"{prefix}site__")
        return Q()

    @property
    def territory(self) -> AdminUnit | None:
        """The area the place-based sections cover (None: the whole province)."""
        if self.scope == "area":
            return self.area
        if self.scope == "agency":
            return self.agency.area
        return None


def province() -> AdminUnit:
    return AdminUnit.objects.filter(level=AdminLevel.PROVINCE).order_by("code").first()


def territory_communes(territory: AdminUnit | None) -> list[AdminUnit]:
    """Today's communes covering a territory, found on stored keys: a district through the 2025
    crosswalk of its old communes, an old commune through its own link."""
    today = AdminUnit.objects.filter(
        level=AdminLevel.COMMUNE, valid_to__isnull=True, valid_from__isnull=False
    )
    if territory is None or territory.level == AdminLevel.PROVINCE:
        return list(today.order_by("code"))
    if territory.level == AdminLevel.COMMUNE and territory.valid_to is None:
        return [territory]
    if territory.level == AdminLevel.DISTRICT:
        links = CrosswalkLink.objects.filter(old_unit__parent=territory)
    else:
        links = CrosswalkLink.objects.filter(old_unit=territory)
    return list(today.filter(pk__in=links.values("new_unit")).order_by("code"))


# --- one table --------------------------------------------------------------------------------------------


def column(key: str, label, kind: str = "int") -> dict:
    return {"key": key, "label": both(label), "type": kind}


def table(key: str, title, columns: list[dict], rows: list[list], total: list | None = None, **extra) -> dict:
    out = {"key": key, "title": both(title), "columns": columns, "rows": rows, "total": total}
    out.update(extra)
    return out


def ratio(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 4)


def kind_labels() -> list[tuple[str, dict]]:
    return [(code, both(label)) for code, label in KIND_CHOICES]


def per_kind(rows, fields: tuple[str, ...], key: str = "kind") -> dict[str, dict]:
    found = {row[key]: row for row in rows}
    return {
        code: {f: (found.get(code) or {}).get(f, 0) or 0 for f in fields} for code, _label in KIND_CHOICES
    }


def in_period(field: str, period: Period) -> Q:
    return Q(**{f"{field}__date__gte": period.date_from, f"{field}__date__lte": period.date_to})


# --- sections ---------------------------------------------------------------------------------------------


def sites_section(scope: ReportScope, period: Period) -> dict:
    counts = (
        Site.objects.filter(scope.site_q())
        .values("kind")
        .annotate(
            new=Count("id", filter=in_period("created_at", period)),
            active=Count("id", filter=Q(created_at__date__lte=period.date_to, status=SiteStatus.ACTIVE)),
        )
        .order_by()
    )
    by_kind = per_kind(counts, ("new", "active"))
    rows = [[label, by_kind[code]["new"], by_kind[code]["active"]] for code, label in kind_labels()]
    total = [both(_("Total")), sum(r[1] for r in rows), sum(r[2] for r in rows)]
    return table(
        "sites",
        _("Sites by kind"),
        [
            column("kind", _("Kind of site"), "text"),
            column("registered", _("Registered in the period")),
            column("active", _("Active at the end of the period")),
        ],
        rows,
        total,
    )


def on_time_exists() -> Exists:
    return Exists(
        Inspection.objects.filter(assignment=OuterRef("pk"), performed_at__date__lte=OuterRef("due_date"))
    )


def inspections_section(scope: ReportScope, period: Period) -> dict:
    assignments = (
        Assignment.objects.filter(
            scope.record_q(), due_date__gte=period.date_from, due_date__lte=period.date_to
        )
        .exclude(status=AssignmentStatus.CANCELLED)
        .values("site__kind")
        .annotate(
            assigned=Count("id"),
            done=Count("id", filter=Q(status=AssignmentStatus.DONE)),
            on_time=Count("id", filter=Q(status=AssignmentStatus.DONE) & Q(on_time_exists())),
        )
        .order_by()
    )
    performed = (
        Inspection.objects.filter(scope.record_q(), in_period("performed_at", period))
        .values("site__kind")
        .annotate(n=Count("id"), failed=Count("id", filter=Q(result=Result.FAIL)))
        .order_by()
    )
    a = per_kind(assignments, ("assigned", "done", "on_time"), key="site__kind")
    p = per_kind(performed, ("n", "failed"), key="site__kind")
    rows = []
    for code, label in kind_labels():
        x, y = a[code], p[code]
        rows.append(
            [
                label,
                x["assigned"],
                x["done"],
                x["on_time"],
                ratio(x["on_time"], x["assigned"]),
                y["n"],
                y["failed"],
            ]
        )
    sums = [sum(r[i] for r in rows) for i in range(1, 4)]
    total = [
        both(_("Total")),
        *sums,
        ratio(sums[2], sums[0]),
        sum(r[5] for r in rows),
        sum(r[6] for r in rows),
    ]
    return table(
        "inspections",
        _("Inspections: assigned, done, done on time"),
        [
            column("kind", _("Kind of site"), "text"),
            column("assigned", _("Assignments due in the period")),
            column("done", _("Done")),
            column("on_time", _("Done on time")),
            column("on_time_share", _("Share done on time"), "pct"),
            column("inspections", _("Inspections performed")),
            column("failed", _("Inspections failed")),
        ],
        rows,
        total,
    )


def scope_level(scope: ReportScope) -> tuple[str, str]:
    """The level and unit code of the scope's own row in per-unit tables."""
    territory = scope.territory
    if territory is None or territory.level == AdminLevel.PROVINCE:
        return AdminLevel.PROVINCE, province().code
    if territory.level == AdminLevel.DISTRICT:
        return AdminLevel.DISTRICT, territory.code
    return AdminLevel.COMMUNE, territory.code


def _coverage_row(scope: ReportScope, period: Period, user, kind: str | None):
    level, code = scope_level(scope)
    rows = indicator_table(
        "coverage", level=level, date_to=period.date_to, user=user, kind=kind, agency=scope.agency
    )
    row = next((r for r in rows if r.code == code), None)
    parts = row.parts if row is not None else {}
    return parts.get("sites", 0), parts.get("inspected", 0), parts.get("passing", 0)


def coverage_section(scope: ReportScope, period: Period, user) -> dict:
    """Coverage as maps.indicators defines it (the same numbers as the coverage map): active sites of
    the hazard kinds inspected within their kind's interval before the end of the period."""
    labels = dict(kind_labels())
    rows = []
    for kind in HAZARD_KINDS:
        sites, inspected, passing = _coverage_row(scope, period, user, kind)
        rows.append([labels[kind], sites, inspected, passing, ratio(inspected, sites)])
    sites, inspected, passing = _coverage_row(scope, period, user, None)
    return table(
        "coverage",
        _("Inspection coverage by kind of site"),
        [
            column("kind", _("Kind of site"), "text"),
            column("sites", _("Active sites to inspect")),
            column("inspected", _("Inspected within the interval")),
            column("passing", _("Passing within the interval")),
            column("coverage", _("Coverage"), "pct"),
        ],
        rows,
        [both(_("Total")), sites, inspected, passing, ratio(inspected, sites)],
        note=both(INDICATORS["coverage"].formula),
        intervals={kind: rule.days for kind, rule in inspection_rules().items()},
    )


def failed_items_section(scope: ReportScope, period: Period) -> dict:
    counts = (
        Answer.objects.filter(
            scope.record_q("inspection__"),
            in_period("inspection__performed_at", period),
            value__in=["pass", "fail"],
        )
        .values("item__code", "item__question", "item__question_en", "item__template__site_kind")
        .annotate(answered=Count("id"), failures=Count("id", filter=Q(value="fail")))
        .filter(failures__gt=0)
        .order_by("-failures", "item__code", "item__question")[:FAILED_ITEMS_LIMIT]
    )
    kinds = dict(kind_labels())
    rows = [
        [
            rank,
            row["item__code"],
            {"vi": row["item__question"], "en": row["item__question_en"] or row["item__question"]},
            kinds.get(row["item__template__site_kind"], row["item__template__site_kind"]),
            row["failures"],
            row["answered"],
            ratio(row["failures"], row["answered"]),
        ]
        for rank, row in enumerate(counts, start=1)
    ]
    return table(
        "failed_items",
        _("Most often failed checklist items"),
        [
            column("rank", _("Rank")),
            column("code", _("Item"), "text"),
            column("question", _("Question"), "text"),
            column("kind", _("Kind of site"), "text"),
            column("failures", _("Times failed")),
            column("answered", _("Times answered")),
            column("failure_share", _("Share failed"), "pct"),
        ],
        rows,
        None,
    )


def actions_section(scope: ReportScope, period: Period) -> dict:
    as_of = period.as_of
    not_verified_by_then = Q(verified_at__isnull=True) | Q(verified_at__date__gt=as_of)
    counts = (
        CorrectiveAction.objects.filter(scope.record_q())
        .values("severity")
        .annotate(
            opened=Count("id", filter=in_period("created_at", period)),
            closed=Count("id", filter=in_period("reported_done_at", period)),
            verified=Count("id", filter=in_period("verified_at", period) & Q(status=ActionStatus.VERIFIED)),
            overdue=Count(
                "id", filter=Q(created_at__date__lte=as_of, deadline__lt=as_of) & not_verified_by_then
            ),
        )
        .order_by()
    )
    found = {row["severity"]: row for row in counts}
    fields = ("opened", "closed", "verified", "overdue")
    rows = []
    for value, label in reversed(Severity.choices):
        row = found.get(value, {})
        rows.append([both(label), *(row.get(f, 0) for f in fields)])
    total = [both(_("Total")), *(sum(r[i] for r in rows) for i in range(1, 5))]
    return table(
        "actions",
        _("Corrective actions"),
        [
            column("severity", _("Severity"), "text"),
            column("opened", _("Opened")),
            column("closed", _("Closed (reported done)")),
            column("verified", _("Verified")),
            column("overdue", _("Overdue at the end of the period")),
        ],
        rows,
        total,
        as_of=as_of.isoformat(),
    )


def incidents_tables(scope: ReportScope, period: Period, *, suppressed: bool) -> list[dict]:
    """Incidents by kind, age band, sex and outcome: the scope's row of the public aggregate tables
    (each protected on its own by incidents.suppression when `suppressed`)."""
    level, code = scope_level(scope)
    titles = {
        "kind": _("Incidents by kind"),
        "age_band": _("Incidents by age band"),
        "sex": _("Incidents by sex"),
        "outcome": _("Incidents by outcome"),
    }
    headers = {"kind": _("Kind"), "age_band": _("Age band"), "sex": _("Sex"), "outcome": _("Outcome")}
    out = []
    for by in INCIDENT_BREAKDOWNS:
        published = aggregate_table(
            level=level, by=by, date_from=period.date_from, date_to=period.date_to, suppressed=suppressed
        )
        row = next(r for r in published["rows"] if r["code"] == code)
        rows = [[both(column_label(by, c["value"])), row["cells"][c["value"]]] for c in published["columns"]]
        out.append(
            table(
                f"incidents_{by}",
                titles[by],
                [column(by, headers[by], "text"), column("incidents", _("Incidents"))],
                rows,
                [both(_("Total")), row["total"]],
            )
        )
    if scope.scope == "agency" and scope.territory is None:
        out[0]["note"] = both(_("A provincial department reports the incidents of the whole province."))
    return harmonise_totals(out)


def harmonise_totals(tables: list[dict]) -> list[dict]:
    """The four breakdowns count the same incidents, so they share one total. Each is protected on its
    own (incidents.suppression); put side by side in one report, a total hidden in one table must not
    be readable in another, neither printed nor as the sum of a table whose cells are all shown. So when
    any table hides the total, every table hides it, and a table that would still give it away by its
    sum also hides its non-zero cells. (Joint protection of several cuts belongs in
    incidents.suppression; this rule keeps the report itself from undoing a single table's protection.)
    """
    if all(t["total"][1] is not None for t in tables):
        return tables
    for t in tables:
        t["total"][1] = None
        if all(row[1] is not None for row in t["rows"]):
            for row in t["rows"]:
                if row[1]:
                    row[1] = None
    return tables


def column_label(by: str, value: str):
    return dict(CATEGORY_FIELDS[by].choices)[value]


def hidden_footnote() -> dict:
    """The explanation of the hidden symbol, in the words of incidents.suppression, in both languages."""
    series = SuppressedSeries(keys=(), values={}, total=None)
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = series.footnote()
    return out


def commune_incident_totals(period: Period, *, suppressed: bool) -> dict[str, int | None]:
    """Incidents per today's commune in the period: the row totals of the public commune table."""
    t = aggregate_table(
        level=AdminLevel.COMMUNE,
        by="kind",
        date_from=period.date_from,
        date_to=period.date_to,
        suppressed=suppressed,
    )
    return {row["code"]: row["total"] for row in t["rows"]}


def access_section(scope: ReportScope, period: Period, communes: list[AdminUnit]) -> dict:
    territory = scope.territory
    villages = Site.objects.filter(area_q(territory)) if territory is not None else None
    access = {row.code: row for row in commune_access(threshold_m=ACCESS_THRESHOLD_M, villages=villages)}
    new_playgrounds = dict(
        Site.objects.filter(scope.site_q(), in_period("created_at", period), kind="playground")
        .values("commune__code")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("commune__code", "n")
    )
    rows = []
    for unit in communes:
        a = access.get(unit.code)
        villages_n, children, served = (a.villages, a.children, a.children_served) if a else (0, 0, 0)
        rows.append(
            [
                unit.code,
                unit_label(unit),
                villages_n,
                children,
                served,
                children - served,
                ratio(served, children),
                a.playgrounds if a else 0,
                new_playgrounds.get(unit.code, 0),
            ]
        )
    sums = [sum(r[i] for r in rows) for i in (2, 3, 4, 5)]
    total = [
        "",
        both(_("Total")),
        *sums,
        ratio(sums[2], sums[1]),
        sum(r[7] for r in rows),
        sum(r[8] for r in rows),
    ]
    return table(
        "play_access",
        _("Play-area access and new play areas"),
        [
            column("code", _("Code"), "text"),
            column("commune", _("Commune"), "text"),
            column("villages", _("Villages")),
            column("children", _("Children in villages")),
            column("served", lazy_format(_("Children within %(m)s m of a play area"), m=ACCESS_THRESHOLD_M)),
            column("unserved", _("Children out of reach")),
            column("share_served", _("Share within reach"), "pct"),
            column("playgrounds", _("Play areas")),
            column("new_playgrounds", _("New play areas in the period")),
        ],
        rows,
        total,
        note=both(
            lazy_format(
                _("Distance to a play area (%(method)s); within reach: %(m)s m or less."),
                m=ACCESS_THRESHOLD_M,
                method=METHOD_LABELS[distance_method()],
            )
        ),
    )


def map_section(
    scope: ReportScope, period: Period, communes: list[AdminUnit], user, *, suppressed: bool
) -> dict:
    """Coverage and incidents per commune with the communes' outlines (SVG paths in UTM 48N metres,
    simplified to 150 m), drawn as two static choropleths in HTML and PDF without any tile server."""
    ids = [u.pk for u in communes]
    coverage = {
        r.code: r
        for r in indicator_table(
            "coverage", level=AdminLevel.COMMUNE, date_to=period.date_to, user=user, agency=scope.agency
        )
    }
    incidents = commune_incident_totals(period, suppressed=suppressed)
    with connection.cursor() as cur:
        cur.execute(
            "WITH g AS (SELECT id, ST_SimplifyPreserveTopology(ST_Transform(geom, 32648), 150) AS geom"
            "  FROM places_adminunit WHERE id = ANY(%s))"
            " SELECT id, ST_AsSVG(geom, 0, 0),"
            "  (SELECT ARRAY[ST_XMin(e), -ST_YMax(e), ST_XMax(e) - ST_XMin(e), ST_YMax(e) - ST_YMin(e)]"
            "     FROM (SELECT ST_Extent(geom)::geometry AS e FROM g) x)"
            " FROM g",
            [ids],
        )
        fetched = cur.fetchall()
    paths = {uid: path for uid, path, _box in fetched}
    view_box = [round(v) for v in fetched[0][2]] if fetched else [0, 0, 1, 1]
    rows = []
    for unit in communes:
        parts = coverage[unit.code].parts if unit.code in coverage else {}
        sites, inspected = parts.get("sites", 0), parts.get("inspected", 0)
        rows.append(
            [
                unit.code,
                unit_label(unit),
                sites,
                inspected,
                ratio(inspected, sites),
                incidents.get(unit.code, 0),
            ]
        )
    return table(
        "map",
        _("Map: coverage and incidents by commune"),
        [
            column("code", _("Code"), "text"),
            column("commune", _("Commune"), "text"),
            column("sites", _("Active sites to inspect")),
            column("inspected", _("Inspected within the interval")),
            column("coverage", _("Coverage"), "pct"),
            column("incidents", _("Incidents")),
        ],
        rows,
        None,
        paths={u.code: paths.get(u.pk, "") for u in communes},
        view_box=view_box,
    )


# --- the whole report ---------------------------------------------------------------------------------------


def headline(tables: dict[str, dict]) -> dict[str, int | float | None]:
    """The few numbers compared with the previous period, read from the sections' totals."""
    sites, insp, cov, act = (tables[k]["total"] for k in ("sites", "inspections", "coverage", "actions"))
    return {
        "sites_registered": sites[1],
        "assigned": insp[1],
        "done": insp[2],
        "done_on_time": insp[3],
        "inspections": insp[5],
        "coverage": cov[4],
        "actions_opened": act[1],
        "actions_verified": act[3],
        "actions_overdue": act[4],
        "incidents": tables["incidents_kind"]["total"][1],
    }


HEADLINE_LABELS = {
    "sites_registered": _("Sites registered"),
    "assigned": _("Assignments due"),
    "done": _("Assignments done"),
    "done_on_time": _("Assignments done on time"),
    "inspections": _("Inspections performed"),
    "coverage": _("Coverage"),
    "actions_opened": _("Corrective actions opened"),
    "actions_verified": _("Corrective actions verified"),
    "actions_overdue": _("Corrective actions overdue"),
    "incidents": _("Incidents"),
}


def period_tables(scope: ReportScope, period: Period, user, *, suppressed: bool) -> dict[str, dict]:
    out = {
        "sites": sites_section(scope, period),
        "inspections": inspections_section(scope, period),
        "coverage": coverage_section(scope, period, user),
        "actions": actions_section(scope, period),
    }
    for t in incidents_tables(scope, period, suppressed=suppressed):
        out[t["key"]] = t
    return out


def comparison_section(current: dict, previous: dict, period: Period) -> dict:
    before = previous
    prev = period.previous()
    rows = []
    for key, label in HEADLINE_LABELS.items():
        now, then = current[key], before[key]
        change = None if now is None or then is None else round(now - then, 4)
        rows.append([both(label), then, now, change])
    kinds = {key: ("pct" if key == "coverage" else "int") for key in HEADLINE_LABELS}
    return table(
        "comparison",
        _("Comparison with the previous period"),
        [
            column("indicator", _("Indicator"), "text"),
            column("previous", _("Previous period")),
            column("current", _("This period")),
            column("change", _("Change"), "delta"),
        ],
        rows,
        None,
        row_types=[kinds[k] for k in HEADLINE_LABELS],
        previous={"from": prev.date_from.isoformat(), "to": prev.date_to.isoformat()},
    )


SECTIONS = [
    ("sites", _("Sites by kind"), ["sites"]),
    ("inspections", _("Inspections"), ["inspections"]),
    ("coverage", _("Inspection coverage"), ["coverage"]),
    ("failed_items", _("Most often failed checklist items"), ["failed_items"]),
    ("actions", _("Corrective actions"), ["actions"]),
    ("incidents", _("Child injury incidents"), [f"incidents_{by}" for by in INCIDENT_BREAKDOWNS]),
    ("play_access", _("Play-area access and new play areas"), ["play_access"]),
    ("map", _("Map of coverage and incidents"), ["map"]),
    ("comparison", _("Comparison with the previous period"), ["comparison"]),
]


def compute_report(scope: ReportScope, period: Period, *, user=None, suppressed: bool = True) -> dict:
    """Every section of the report, as plain JSON-ready data with labels in both languages.

    `user` is the reader whose site scope the coverage indicators use (maps.indicators)."""
    tables = period_tables(scope, period, user, suppressed=suppressed)
    previous = period_tables(scope, period.previous(), user, suppressed=suppressed)
    communes = territory_communes(scope.territory)
    tables["failed_items"] = failed_items_section(scope, period)
    tables["play_access"] = access_section(scope, period, communes)
    tables["map"] = map_section(scope, period, communes, user, suppressed=suppressed)
    tables["comparison"] = comparison_section(headline(tables), headline(previous), period)
    sections = [
        {"key": key, "title": both(title), "tables": [tables[t] for t in names]}
        for key, title, names in SECTIONS
    ]
    return {
        "sections": sections,
        "hidden_label": HIDDEN_LABEL if suppressed else None,
        "footnote": hidden_footnote() if suppressed else None,
    }
