"""Administrative units of both structures, the crosswalk, statistics, and point → unit."""

from datetime import date

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import translation

from places.models import AdminLevel, AdminUnit, CrosswalkLink, UnitStatistic
from places.reference import load_lai_chau
from places.selectors import unit_at, unit_ids_at
from places.statistics import StatFileError, statistics_import_csv, statistics_wide

OLD = date(2025, 6, 30)
NEW = date(2025, 7, 1)


def test_both_structures_have_the_right_counts(lai_chau):
    assert AdminUnit.objects.valid_on(OLD).filter(level=AdminLevel.DISTRICT).count() == 8
    assert AdminUnit.objects.valid_on(OLD).filter(level=AdminLevel.COMMUNE).count() == 106
    assert AdminUnit.objects.valid_on(NEW).filter(level=AdminLevel.COMMUNE).count() == 38
    assert AdminUnit.objects.valid_on(NEW).filter(level=AdminLevel.DISTRICT).count() == 0
    assert AdminUnit.objects.valid_on(NEW).filter(level=AdminLevel.PROVINCE).count() == 1


def test_every_old_commune_maps_to_exactly_one_new_one(lai_chau):
    old = AdminUnit.objects.valid_on(OLD).filter(level=AdminLevel.COMMUNE)
    links = CrosswalkLink.objects.filter(old_unit__in=old)
    assert links.count() == 106
    assert set(links.values_list("old_unit", flat=True)) == set(old.values_list("id", flat=True))
    assert links.values("new_unit").distinct().count() == 38
    assert not CrosswalkLink.objects.exclude(new_unit__valid_from=NEW).exists()


def test_new_commune_area_equals_sum_of_its_parts(lai_chau):
    with connection.cursor() as cur:
        cur.execute(
            """SELECT n.code, ST_Area(n.geom::geography) / sum(ST_Area(o.geom::geography))
                 FROM places_adminunit n
                 JOIN places_crosswalklink c ON c.new_unit_id = n.id
                 JOIN places_adminunit o ON o.id = c.old_unit_id
                GROUP BY n.id"""
        )
        ratios = dict(cur.fetchall())
    assert len(ratios) == 38
    off = {code: r for code, r in ratios.items() if abs(r - 1) > 0.005}
    assert not off, off


def test_codes_decide_hierarchy_sung_phai_belongs_to_lai_chau_city(lai_chau):
    sung_phai = AdminUnit.objects.valid_on(OLD).get(code="03403")
    assert sung_phai.parent.code == "105"
    city = AdminUnit.objects.get(code="105")
    # The city's geometry is derived from its communes, so it contains Sùng Phài.
    assert city.geom.buffer(0.0001).contains(sung_phai.geom.point_on_surface)


def test_dissolved_communes_are_absorbed_not_lost(lai_chau):
    summary = load_lai_chau()  # idempotent re-run reports what it did
    assert summary.absorbed == {"Xã Ma Li Chải": "03562", "Xã Nậm Loỏng": "03386"}
    assert "absorbed Xã Nậm Loỏng" in AdminUnit.objects.valid_on(OLD).get(code="03386").geometry_source


def test_loading_twice_changes_nothing(lai_chau):
    before = (AdminUnit.objects.count(), CrosswalkLink.objects.count(), UnitStatistic.objects.count())
    ids = set(AdminUnit.objects.values_list("id", flat=True))
    load_lai_chau()
    assert (AdminUnit.objects.count(), CrosswalkLink.objects.count(), UnitStatistic.objects.count()) == before
    assert set(AdminUnit.objects.values_list("id", flat=True)) == ids


def test_real_extremely_difficult_flags(lai_chau):
    flags = UnitStatistic.objects.filter(indicator="extremely_difficult", year=2026, unit__valid_from=NEW)
    assert flags.count() == 38
    assert flags.filter(value=1).count() == 32
    assert {s.source for s in flags} == {"Quyết định 113/QĐ-UBND ngày 16/01/2026 của UBND tỉnh Lai Châu"}


# --- point → unit -------------------------------------------------------------------------------------


def test_point_inside_a_commune(lai_chau):
    commune = AdminUnit.objects.valid_on(NEW).get(code="03388")
    point = commune.geom.point_on_surface
    assert unit_at(geom=point, on=NEW) == commune
    old = unit_at(geom=point, on=OLD)
    assert old.valid_to == OLD and CrosswalkLink.objects.get(old_unit=old).new_unit == commune
    # The district answer is the commune's parent: levels never disagree.
    assert unit_at(geom=point, on=OLD, level=AdminLevel.DISTRICT) == old.parent
    assert unit_at(geom=point, on=NEW, level=AdminLevel.PROVINCE).code == "12"


def test_point_outside_the_province_is_none(lai_chau):
    hanoi = Point(105.85, 21.03, srid=4326)
    assert unit_at(geom=hanoi, on=NEW) is None
    assert unit_ids_at(geoms=[hanoi, Point(0, 0, srid=4326)], on=OLD) == [None, None]


def _sql_points(sql: str) -> list[Point]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return [Point(x, y, srid=4326) for x, y in cur.fetchall()]


def test_points_in_overlaps_get_exactly_one_commune(lai_chau):
    """Neighbouring old communes overlap (slivers): each point there still gets one unit."""
    points = _sql_points(
        """SELECT ST_X(p), ST_Y(p) FROM (
             SELECT ST_PointOnSurface(ST_Intersection(a.geom, b.geom)) p
               FROM places_adminunit a JOIN places_adminunit b
                 ON a.id < b.id AND a.level = 'commune' AND b.level = 'commune'
                AND a.valid_to IS NOT NULL AND b.valid_to IS NOT NULL
                AND ST_Overlaps(a.geom, b.geom)
                AND ST_Area(ST_Intersection(a.geom, b.geom)) > 0) s
            WHERE NOT ST_IsEmpty(p) LIMIT 50"""
    )
    assert len(points) >= 5, "the reference polygons are known to overlap"
    ids = unit_ids_at(geoms=points, on=OLD)
    assert all(ids)
    # The same answer every time (deterministic rule), and a unit that covers the point.
    assert unit_ids_at(geoms=points, on=OLD) == ids
    for point, unit_id in zip(points, ids, strict=True):
        assert AdminUnit.objects.get(pk=unit_id).geom.covers(point)


def test_points_in_gaps_go_to_the_nearest_commune(lai_chau):
    """Points in the province outline that no commune polygon covers (gaps) get the nearest one."""
    points = _sql_points(
        """WITH u AS (SELECT ST_Union(geom) g FROM places_adminunit
                       WHERE level = 'commune' AND valid_from = '2025-07-01'),
                gaps AS (SELECT (ST_Dump(ST_Difference(p.geom, u.g))).geom g
                           FROM places_adminunit p, u WHERE p.level = 'province')
           SELECT ST_X(pt), ST_Y(pt) FROM (SELECT ST_PointOnSurface(g) pt FROM gaps
                                          ORDER BY ST_Area(g) DESC LIMIT 30) s"""
    )
    assert len(points) >= 10
    ids = unit_ids_at(geoms=points, on=NEW)
    assert all(ids)
    communes = AdminUnit.objects.valid_on(NEW).filter(level=AdminLevel.COMMUNE)
    for point, unit_id in zip(points, ids, strict=True):
        assert not any(c.geom.covers(point) for c in communes)
        nearest = min(communes, key=lambda c: c.geom.distance(point))
        # The rule measures on the spheroid; allow the degree-based nearest to differ only on near ties.
        chosen = AdminUnit.objects.get(pk=unit_id)
        assert chosen == nearest or abs(chosen.geom.distance(point) - nearest.geom.distance(point)) < 1e-3


def test_point_on_a_shared_border_gets_one_commune(lai_chau):
    points = _sql_points(
        """SELECT ST_X(p), ST_Y(p) FROM (
             SELECT ST_LineInterpolatePoint((ST_Dump(ST_Boundary(geom))).geom, 0.37) p
               FROM places_adminunit WHERE level = 'commune' AND valid_from = '2025-07-01') s"""
    )
    ids = unit_ids_at(geoms=points, on=NEW)
    # Points on the outer border of the province may fall just outside it; inner borders always resolve.
    assert sum(1 for i in ids if i) >= len(points) * 0.6
    assert len(ids) == len(points)


def test_every_random_point_in_the_province_gets_exactly_one_commune(lai_chau):
    with connection.cursor() as cur:
        cur.execute(
            """SELECT count(*), count(places_unit_at(g, '2025-07-01')), count(places_unit_at(g, '2025-06-30'))
                 FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 2000, 7))).geom g
                         FROM places_adminunit WHERE level = 'province') s"""
        )
        total, new, old = cur.fetchone()
    assert total == new == old == 2000


# --- statistics ---------------------------------------------------------------------------------------


def test_statistics_csv_import_with_per_row_errors(lai_chau):
    data = (
        "gso_code,year,population,children_0_15,poverty_rate,source\n"
        "03388,2024,12000,3500,8.5,Cục Thống kê\n"  # old Phường Quyết Tiến
        "03388,2026,40000,11000,6.1,Cục Thống kê\n"  # new Phường Đoàn Kết
        "99999,2024,1,1,1,x\n"
        "03388,2024,abc,1,1,x\n"
        "03388,2024,1,1,140,x\n"
        "03388,20x4,1,1,1,x\n"
    ).encode()
    report = statistics_import_csv(data=data)
    assert report.stored == 6  # two rows, three indicators each
    assert [(r["row"], r["field"]) for r in report.rejected] == [
        (4, "gso_code"),
        (5, "population"),
        (6, "poverty_rate"),
        (7, "year"),
    ]
    old = AdminUnit.objects.valid_on(OLD).get(code="03388")
    new = AdminUnit.objects.valid_on(NEW).get(code="03388")
    assert statistics_wide(year=2024)[old.id]["children_0_15"] == 3500
    assert statistics_wide(year=2026)[new.id]["population"] == 40000
    assert statistics_wide(year=2026)[new.id]["extremely_difficult"] == 0


@translation.override("en")
def test_statistics_csv_file_errors(lai_chau):
    with pytest.raises(StatFileError, match="missing column"):
        statistics_import_csv(data=b"code,year\n1,2")
    with pytest.raises(StatFileError, match="unknown column"):
        statistics_import_csv(data=b"gso_code,year,source,pop\n")
    with pytest.raises(StatFileError, match="UTF-8"):
        statistics_import_csv(data="gso_code,year,source,population\n03388,2024,Sở,1".encode("utf-16"))
