"""Synthetic demo incidents on the demo sites (places.demo, scale 1): about 250 records
shaped like the Vietnamese statistics, made through incidents.services.incident_record so
that communes and linked sites are resolved exactly as for real reports.

Shape (per default plan, seed 23):
- drowning (129): 114 within 15–120 m of a demo drowning hotspot (a few hotspots draw
  many), 15 with the commune only; three quarters in May–August; boys 10–14 are the
  largest group and die most often (75 % of their drownings are fatal, 45 % otherwise);
- traffic (65): 60 on school routes, 80–98 % of the way to the school, on school days
  and at school hours (06:15–07:20, 16:30–17:40), mostly 10–17 years; 5 commune only;
- construction_site (12) near demo construction sites, fall (12) near construction sites
  and playgrounds;
- burn (8), animal (6), other (6): commune only (they happen at home or on the way);
- suggested hotspots for the clustering step (SUGGESTED_CLUSTERS): four groups of
  drowning incidents, of 2, 2, 3 and 3, each within 500 m and 3 years of one another,
  around an unmapped stream near a demo village with no registered drowning hotspot
  (of any source) within 1,500 m, so at least a kilometre from any hotspot. They are
  references demo-0239 … demo-0248;
- one near miss (NEAR_MISS): two drownings within 500 m of each other, away from any
  hotspot as well, but 4–5 years apart, which a 500 m / 3 years rule must not group
  (demo-0249, demo-0250).

Dates run from 2021 to 2026, on both sides of the 01/07/2025 reform, never on or after
today (a date that would be is moved back by whole years). Records with only a commune
carry the code of the commune in force on their date (old before 01/07/2025, new after).
The circumstances are generic Vietnamese phrases: no names, no numbers.

Determinism: every draw comes from random.Random(seed), sites are visited in
external_id order; one seed on one set of demo sites always yields the same rows.
Idempotency: the records are keyed by reference demo-0001 … under one source; a record
already as generated is left alone, and demo records no longer produced are deleted.
"""

import calendar
import math
import random
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection, transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from places.demo import DEMO_SOURCE as SITE_DEMO_SOURCE
from places.demo import demo_prefix
from places.models import AdminUnit, Site
from places.reference import OLD_VALID_TO
from places.selectors import today, unit_ids_at

from .models import AgeBand, Incident, IncidentKind, Outcome, Sex
from .services import incident_record

DEMO_SOURCE = "Dữ liệu minh họa (synthetic demo)"
DEFAULT_SEED = 23
FIRST_YEAR, LAST_YEAR = 2021, 2026
SITE_PREFIX = demo_prefix(1)

# (kind, where, how many): where is the kind of demo site the incidents are placed near,
# or "commune" for records that give only the commune.
PLAN = [
    (IncidentKind.DROWNING, "drowning_hotspot", 114),
    (IncidentKind.DROWNING, "commune", 15),
    (IncidentKind.TRAFFIC, "school_route", 60),
    (IncidentKind.TRAFFIC, "commune", 5),
    (IncidentKind.CONSTRUCTION_SITE, "construction_site", 12),
    (IncidentKind.FALL, "construction_site", 6),
    (IncidentKind.FALL, "playground", 6),
    (IncidentKind.BURN, "commune", 8),
    (IncidentKind.ANIMAL, "commune", 6),
    (IncidentKind.OTHER, "commune", 6),
]
PLANNED = sum(n for _kind, _where, n in PLAN)
CLUSTER_SIZES = (2, 2, 3, 3)
# A cluster lies around a demo village with no drowning hotspot within this distance.
CLEAR_OF_HOTSPOTS_M = 1500


def reference(number: int) -> str:
    return f"demo-{number:04d}"


def _ranges() -> tuple[list[list[str]], list[str]]:
    clusters, number = [], PLANNED
    for size in CLUSTER_SIZES:
        clusters.append([reference(number + i + 1) for i in range(size)])
        number += size
    return clusters, [reference(number + 1), reference(number + 2)]


# The groups the hotspot clustering should suggest, and the pair it should not.
SUGGESTED_CLUSTERS, NEAR_MISS = _ranges()
TOTAL = PLANNED + sum(CLUSTER_SIZES) + len(NEAR_MISS)

SUMMER = (5, 6, 6, 7, 7, 8)  # June and July weigh double
NOT_SUMMER = (1, 2, 3, 4, 9, 10, 11, 12)
SCHOOL_MONTHS = (1, 2, 3, 4, 5, 9, 10, 11, 12)
ALL_MONTHS = tuple(range(1, 13))

BANDS = [AgeBand.AGE_0_4, AgeBand.AGE_5_9, AgeBand.AGE_10_14, AgeBand.AGE_15_17]
AGE_WEIGHTS = {
    IncidentKind.DROWNING: (15, 30, 40, 15),
    IncidentKind.TRAFFIC: (5, 20, 45, 30),
    IncidentKind.CONSTRUCTION_SITE: (15, 40, 35, 10),
    IncidentKind.FALL: (30, 40, 25, 5),
    IncidentKind.BURN: (60, 25, 10, 5),
    IncidentKind.ANIMAL: (20, 45, 30, 5),
    IncidentKind.OTHER: (35, 35, 20, 10),
}
MALE_SHARE = {IncidentKind.DROWNING: 0.68, IncidentKind.TRAFFIC: 0.62}
FATAL_SHARE = {
    IncidentKind.DROWNING: 0.45,
    IncidentKind.TRAFFIC: 0.15,
    IncidentKind.CONSTRUCTION_SITE: 0.15,
    IncidentKind.FALL: 0.05,
    IncidentKind.BURN: 0.04,
    IncidentKind.ANIMAL: 0.0,
    IncidentKind.OTHER: 0.08,
}
FATAL_DROWNING_BOYS_10_14 = 0.75
HOSPITALISED_SHARE = 0.6  # of the non-fatal

# Generic phrases only: no names, no ages or numbers (incidents.privacy checks them anyway).
CIRCUMSTANCES = {
    IncidentKind.DROWNING: [
        "Trẻ tắm suối cùng bạn",
        "Trẻ đi tắm sông cùng nhóm bạn sau giờ học",
        "Trẻ chơi gần ao, trượt chân ngã xuống nước",
        "Trẻ đi bắt cá ở suối, bị nước cuốn",
        "Trẻ theo bạn ra bến sông chơi, không có người lớn đi cùng",
        "Trẻ nhỏ chơi một mình gần giếng nước không có nắp đậy",
        "Trẻ tắm ở hố nước ngập sau mưa lớn",
        "Trẻ đi thuyền qua sông không mặc áo phao",
    ],
    IncidentKind.TRAFFIC: [
        "Va chạm xe máy trên đường đi học",
        "Trẻ đi bộ sang đường gần cổng trường bị xe máy va quệt",
        "Trẻ ngồi sau xe máy không đội mũ bảo hiểm, xe bị ngã trên đường dốc",
        "Trẻ đi xe đạp đến trường va chạm với ô tô tải",
        "Xe đưa đón phanh gấp trên đèo, trẻ bị ngã trong xe",
    ],
    IncidentKind.CONSTRUCTION_SITE: [
        "Trẻ vào công trình không có rào chắn, ngã xuống hố móng",
        "Trẻ chơi trên đống vật liệu xây dựng bị đổ vào người",
        "Trẻ vào công trình chơi, bị vật liệu rơi trúng",
        "Trẻ rơi xuống hố vôi tại công trình",
    ],
    IncidentKind.FALL: [
        "Trẻ leo lên giàn giáo công trình bị ngã",
        "Trẻ chơi ở khu vui chơi, ngã từ cầu trượt",
        "Trẻ trèo cây gần nhà bị ngã",
        "Trẻ ngã từ lan can tầng hai",
    ],
    IncidentKind.BURN: [
        "Trẻ bị bỏng do nước sôi trong bếp",
        "Trẻ bị bỏng khi chơi gần bếp củi",
    ],
    IncidentKind.ANIMAL: [
        "Trẻ bị chó cắn trên đường đi học về",
        "Trẻ bị trâu húc khi đi chăn trâu",
    ],
    IncidentKind.OTHER: [
        "Trẻ bị điện giật khi chơi gần ổ cắm",
        "Trẻ bị ngộ độc do ăn phải quả rừng",
    ],
}


@dataclass
class _Spec:
    number: int
    kind: str
    day: date
    time_of_day: time | None
    age_band: str
    sex: str
    outcome: str
    circumstances: str
    point: Point  # where it happened (kept out of the record when commune_only)
    base: Point  # the site itself: used when the offset point leaves the communes of either structure
    commune_only: bool = False
    commune_code: str | None = None


# --- drawing --------------------------------------------------------------------------------


def _past(day: date) -> date:
    """The same day of an earlier year when `day` is today or later (29 February becomes the 28th)."""
    limit = today()
    while day >= limit:
        day = day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)
    return day


def _day(rng: random.Random, months: tuple[int, ...], *, school_day: bool = False) -> date:
    year, month = rng.randint(FIRST_YEAR, LAST_YEAR), rng.choice(months)
    day = _past(date(year, month, rng.randint(1, calendar.monthrange(year, month)[1])))
    if school_day and day.weekday() == 6:
        day -= timedelta(days=1)  # Saturday classes, but no school on Sunday
    return day


def _time(rng: random.Random, kind: str) -> time | None:
    if kind == IncidentKind.TRAFFIC:
        start = rng.choice((6 * 60 + 15, 16 * 60 + 30))
        minutes = start + rng.randint(0, 70)
    elif kind == IncidentKind.DROWNING:
        if rng.random() < 0.4:
            return None
        minutes = rng.choice((10, 11, 12, 14, 15, 15, 16, 16, 17, 17, 18)) * 60 + rng.randint(0, 59)
    else:
        if rng.random() < 0.6:
            return None
        minutes = rng.randint(7 * 60, 20 * 60)
    return time(minutes // 60, minutes % 60)


def _child(rng: random.Random, kind: str) -> tuple[str, str, str]:
    band = rng.choices(BANDS, AGE_WEIGHTS[kind])[0]
    r = rng.random()
    male = MALE_SHARE.get(kind, 0.55)
    sex = Sex.MALE if r < male else (Sex.FEMALE if r < 0.96 else Sex.UNKNOWN)
    fatal = FATAL_SHARE[kind]
    if kind == IncidentKind.DROWNING and band == AgeBand.AGE_10_14 and sex == Sex.MALE:
        fatal = FATAL_DROWNING_BOYS_10_14
    if rng.random() < fatal:
        outcome = Outcome.FATAL
    else:
        outcome = Outcome.HOSPITALISED if rng.random() < HOSPITALISED_SHARE else Outcome.MINOR
    return str(band), str(sex), str(outcome)


def _offset(point: Point, rng: random.Random, low_m: float, high_m: float) -> Point:
    """A point low_m…high_m metres from `point` in a random direction (flat-earth: fine at this scale)."""
    distance, bearing = rng.uniform(low_m, high_m), rng.uniform(0, 2 * math.pi)
    dy = distance * math.cos(bearing) / 111_320
    dx = distance * math.sin(bearing) / (111_320 * math.cos(math.radians(point.y)))
    return Point(round(point.x + dx, 7), round(point.y + dy, 7), srid=4326)


def _anchor(geom: GEOSGeometry) -> Point:
    point = geom.point_on_surface if geom.geom_type != "Point" else geom
    return Point(round(point.x, 7), round(point.y, 7), srid=4326)


def _sites(kind: str) -> list[tuple[str, GEOSGeometry]]:
    return list(
        Site.objects.filter(
            kind=kind, source=SITE_DEMO_SOURCE, external_id__startswith=SITE_PREFIX, status="active"
        )
        .order_by("external_id")
        .values_list("external_id", "geom")
    )


def _clear_villages() -> list[tuple[str, Point, int]]:
    """Demo villages with no active drowning hotspot of any source within CLEAR_OF_HOTSPOTS_M."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT v.external_id, ST_X(v.geom), ST_Y(v.geom), v.commune_id
                 FROM places_site v
                WHERE v.kind = 'village' AND v.source = %s AND starts_with(v.external_id, %s)
                  AND NOT EXISTS (
                      SELECT 1 FROM places_site h
                       WHERE h.kind = 'drowning_hotspot' AND h.status = 'active'
                         AND ST_DWithin(h.geom::geography, v.geom::geography, %s))
                ORDER BY v.external_id""",
            [SITE_DEMO_SOURCE, SITE_PREFIX, CLEAR_OF_HOTSPOTS_M],
        )
        return [(ext, Point(x, y, srid=4326), commune) for ext, x, y, commune in cur.fetchall()]


def _phrase(rng: random.Random, kind: str) -> str:
    return rng.choice(CIRCUMSTANCES[kind]) if rng.random() < 0.85 else ""


def _plan(rng: random.Random) -> list[_Spec]:
    sites = {where: _sites(where) for _k, where, _n in PLAN if where != "commune"}
    villages = _sites("village")
    missing = [where for where, found in {**sites, "village": villages}.items() if not found]
    if missing:
        raise ValueError(
            _("no demo sites of kind %(kinds)s: generate the demo sites first (manage.py generate_demo)")
            % {"kinds": ", ".join(missing)}
        )
    # Some hotspots draw many incidents (a river bend, a swimming place), most few or none.
    hotspot_weights = [rng.choice((0, 1, 1, 2, 4, 8)) for _site in sites["drowning_hotspot"]]
    specs: list[_Spec] = []
    for kind, where, count in PLAN:
        for _i in range(count):
            number = len(specs) + 1
            if kind == IncidentKind.DROWNING:
                day = _day(rng, SUMMER if rng.random() < 0.75 else NOT_SUMMER)
            elif kind == IncidentKind.TRAFFIC:
                day = _day(rng, SCHOOL_MONTHS, school_day=True)
            else:
                day = _day(rng, ALL_MONTHS)
            time_of_day = _time(rng, kind)
            band, sex, outcome = _child(rng, kind)
            circumstances = _phrase(rng, kind)
            if where == "commune":
                base = _anchor(rng.choice(villages)[1])
                point = base
            elif where == "drowning_hotspot":
                base = _anchor(rng.choices(sites[where], hotspot_weights)[0][1])
                point = _offset(base, rng, 15, 120)
            elif where == "school_route":
                route = rng.choice(sites[where])[1]
                base = _anchor(route.interpolate_normalized(rng.uniform(0.8, 0.98)))
                point = _offset(base, rng, 0, 15)
            elif where == "playground":
                base = _anchor(rng.choice(sites[where])[1])
                point = _offset(base, rng, 0, 30)
            else:
                base = _anchor(rng.choice(sites[where])[1])
                point = _offset(base, rng, 5, 40)
            specs.append(
                _Spec(
                    number,
                    str(kind),
                    day,
                    time_of_day,
                    band,
                    sex,
                    outcome,
                    circumstances,
                    point,
                    base,
                    commune_only=where == "commune",
                )
            )
    specs.extend(_clusters(rng, first=len(specs) + 1))
    return specs


def _drowning(rng: random.Random, number: int, day: date, point: Point, base: Point) -> _Spec:
    band, sex, outcome = _child(rng, IncidentKind.DROWNING)
    return _Spec(
        number,
        str(IncidentKind.DROWNING),
        day,
        _time(rng, IncidentKind.DROWNING),
        band,
        sex,
        outcome,
        rng.choice(CIRCUMSTANCES[IncidentKind.DROWNING][:4]),
        point,
        base,
    )


def _summer_day(rng: random.Random, year: int) -> date:
    month = rng.choice((5, 6, 7, 8))
    return _past(date(year, month, rng.randint(1, calendar.monthrange(year, month)[1])))


def _clusters(rng: random.Random, *, first: int) -> list[_Spec]:
    """Drownings around unmapped water near villages far from any hotspot (see the module docstring)."""
    candidates = _clear_villages()
    rng.shuffle(candidates)
    chosen: list[tuple[str, Point, int]] = []
    for candidate in candidates:
        far = all(candidate[1].distance(c[1]) * 111_320 > 10_000 for c in chosen)
        if candidate[2] not in {c[2] for c in chosen} and far:
            chosen.append(candidate)
        if len(chosen) == len(CLUSTER_SIZES) + 1:
            break
    if len(chosen) < len(CLUSTER_SIZES) + 1:
        raise ValueError(_("too few demo villages away from drowning hotspots to place the demo clusters"))
    specs, number = [], first
    for size, (_ext, village, _commune) in zip(CLUSTER_SIZES, chosen, strict=False):
        centre = _offset(village, rng, 150, 300)  # a stream or pond the map does not have yet
        start = rng.randint(FIRST_YEAR + 1, LAST_YEAR - 2)
        for i in range(size):
            # Within 3 years: the same season of the first, second and third year.
            day = _summer_day(rng, start + i)
            specs.append(_drowning(rng, number, day, _offset(centre, rng, 0, 120), village))
            number += 1
    # The near miss: close in space, far apart in time.
    village = chosen[-1][1]
    centre = _offset(village, rng, 150, 300)
    for year in (FIRST_YEAR, LAST_YEAR):  # 2021 and 2026 (or 2025 when that summer is still to come)
        specs.append(_drowning(rng, number, _summer_day(rng, year), _offset(centre, rng, 0, 120), village))
        number += 1
    return specs


# --- placing ---------------------------------------------------------------------------------


def _resolve(specs: list[_Spec]) -> None:
    """Keep every point inside a commune of both structures (else the site itself); give the
    commune-only records the code of the commune in force on their date."""
    old_day, new_day = OLD_VALID_TO, today()

    def inside(points: list[Point]) -> list[bool]:
        old, new = unit_ids_at(geoms=points, on=old_day), unit_ids_at(geoms=points, on=new_day)
        return [a is not None and b is not None for a, b in zip(old, new, strict=True)]

    located = [s for s in specs if not s.commune_only]
    for spec, ok in zip(located, inside([s.point for s in located]), strict=True):
        if not ok:
            spec.point = spec.base
    for spec, ok in zip(located, inside([s.point for s in located]), strict=True):
        if not ok:
            spec.commune_only = True  # the site itself is in a gap of the old polygons: keep the commune only
    for when, select in ((old_day, lambda s: s.day <= old_day), (new_day, lambda s: s.day > old_day)):
        group = [s for s in specs if s.commune_only and select(s)]
        ids = unit_ids_at(geoms=[s.point for s in group], on=when)
        codes = dict(AdminUnit.objects.filter(pk__in=[i for i in ids if i]).values_list("id", "code"))
        for spec, unit_id in zip(group, ids, strict=True):
            spec.commune_code = codes.get(unit_id)


def _same(incident: Incident, spec: _Spec) -> bool:
    location = incident.location
    if spec.commune_only:
        where_same = location is None and incident.commune.code == spec.commune_code
    else:
        where_same = location is not None and location.equals_exact(spec.point, 1e-9)
    return (
        where_same
        and incident.synthetic
        and (incident.kind, incident.date, incident.time, incident.age_band, incident.sex, incident.outcome)
        == (spec.kind, spec.day, spec.time_of_day, spec.age_band, spec.sex, spec.outcome)
        and incident.circumstances == spec.circumstances
    )


@transaction.atomic
def incident_demo_generate(*, seed: int = DEFAULT_SEED) -> dict:
    """Create or refresh the demo incidents; returns counts (created, updated, unchanged, removed …)."""
    rng = random.Random(seed)
    specs = _plan(rng)
    _resolve(specs)
    existing = {
        i.reference: i
        for i in Incident.objects.filter(source=DEMO_SOURCE, synthetic=True).select_related("commune")
    }
    summary = {
        "seed": seed,
        "total": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "skipped": 0,
    }
    references = []
    for spec in specs:
        ref = reference(spec.number)
        if spec.commune_only and not spec.commune_code:
            summary["skipped"] += 1  # never with the Lai Châu reference data: villages lie in both structures
            continue
        references.append(ref)
        stored = existing.get(ref)
        if stored is not None and _same(stored, spec):
            summary["unchanged"] += 1
            continue
        recorded = incident_record(
            kind=spec.kind,
            day=spec.day,
            time_of_day=spec.time_of_day,
            location=None if spec.commune_only else spec.point,
            commune_code=spec.commune_code if spec.commune_only else None,
            age_band=spec.age_band,
            sex=spec.sex,
            outcome=spec.outcome,
            circumstances=spec.circumstances,
            source=DEMO_SOURCE,
            reference=ref,
            synthetic=True,
        )
        summary["created" if recorded.created else "updated"] += 1
    stale = Incident.objects.filter(source=DEMO_SOURCE, synthetic=True).exclude(reference__in=references)
    summary["removed"] = stale.delete()[1].get(Incident._meta.label, 0)
    summary["total"] = len(references)
    demo = Incident.objects.filter(source=DEMO_SOURCE, synthetic=True)
    summary["by_kind"] = dict(demo.values_list("kind").annotate(n=Count("id")).order_by("kind"))
    summary["without_location"] = demo.filter(location__isnull=True).count()
    summary["suggested_clusters"] = SUGGESTED_CLUSTERS
    summary["near_miss"] = NEAR_MISS
    return summary


@transaction.atomic
def incident_demo_purge() -> int:
    """Delete the demo incidents; returns how many."""
    deleted = Incident.objects.filter(source=DEMO_SOURCE, synthetic=True).delete()[1]
    return deleted.get(Incident._meta.label, 0)
