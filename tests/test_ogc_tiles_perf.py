"""Low-zoom tiles from the precomputed cells (ogc migration 0002) against the live computation.

Constructed data with known counts: the clustered tiles from ogc_sitecell must be the same
bytes as the tiles clustered from the sites themselves, after inserts, updates (kind, status,
move), deletes and bulk statements; the incrementally kept cells must equal a full rebuild;
every site is counted once; readers with an agency or area scope keep the row-by-row path.
"""

import math
from collections import Counter

import mapbox_vector_tile
import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspections.models import Agency, Profile, Role
from ogc import tiles
from ogc.collections import ACTIVE, COLLECTIONS, EVERY, site_scope
from places.models import AdminUnit, Site
from places.selectors import site_list
from places.services import site_create

KINDS = ["village", "school", "drowning_hotspot"]
PER_COMMUNE = 6
# z8 tiles around the province (it lies in x 200–201, y 110–112) and a few coarser/finer ones.
Z8 = [(8, x, y) for x in range(199, 203) for y in range(109, 114)]
OTHERS = [(0, 0, 0), (4, 12, 6), (6, 50, 27), (7, 100, 55), (9, 401, 222), (9, 402, 222), (10, 805, 446)]

INSERT_SQL = """
WITH communes AS (
  SELECT id, geom FROM places_adminunit WHERE level = 'commune' AND valid_from = '2025-07-01'
), points AS (
  SELECT c.id AS commune_id, (ST_Dump(ST_GeneratePoints(c.geom, %s, 17))).geom AS g FROM communes c
), numbered AS (
  SELECT commune_id, g, row_number() OVER (ORDER BY commune_id, ST_X(g), ST_Y(g)) AS n FROM points
)
INSERT INTO places_site (kind, name, description, geom, attributes, status, source, external_id,
                         created_at, updated_at, commune_id)
SELECT CASE n %% 10 WHEN 0 THEN 'construction_site' WHEN 5 THEN 'school_route'
            ELSE (ARRAY['village', 'school', 'drowning_hotspot'])[1 + n %% 3] END,
       'Điểm ' || n, '',
       CASE n %% 10 WHEN 0 THEN ST_Buffer(g, 0.001, 2)
                    WHEN 5 THEN ST_MakeLine(g, ST_Translate(g, 0.01, 0.004)) ELSE g END,
       '{}', CASE WHEN n %% 7 = 0 THEN 'closed' ELSE 'active' END, 'test', '', now(), now(), commune_id
FROM numbered
"""


def kind_of(n: int) -> str:
    """The kind INSERT_SQL gives its n-th site."""
    return {0: "construction_site", 5: "school_route"}.get(n % 10, KINDS[n % 3])


def edge_lon(x, z=8):
    return x / 2**z * 360 - 180


def edge_lat(y, z=8):
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**z))))


@pytest.fixture
def many(lai_chau):
    """38 communes × 6 generated sites (every 7th closed; some polygons and lines), plus sites
    exactly on z8 tile edges and a stack of five at one point."""
    with connection.cursor() as cur:
        cur.execute(INSERT_SQL, [PER_COMMUNE])
    province = AdminUnit.objects.filter(level="province").first().geom

    def inside(points):
        return next(p for p in points if province.contains(Point(*p, srid=4326)))

    x_edge, y_edge = edge_lon(201), edge_lat(112)
    on_x = inside((x_edge, 21.5 + i / 100) for i in range(200))
    on_y = inside((102 + i / 100, y_edge) for i in range(200))
    edge = []
    for i, (lon, lat) in enumerate([on_x, on_y, on_x]):
        edge.append(site_create(kind="school", name=f"Trường biên {i}", geom=Point(lon, lat, srid=4326)))
    stack = [
        site_create(
            kind="village",
            name=f"Bản chồng {i}",
            geom=Point(103.3, 22.4, srid=4326),
            attributes={"child_count": 9},
        )
        for i in range(5)
    ]
    return {"edge": edge, "stack": stack}


def cells_table():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT zoom, cx, cy, kind, status, n, sx, sy, sid FROM ogc_sitecell ORDER BY 1, 2, 3, 4, 5"
        )
        return cur.fetchall()


def rebuilt_table():
    with connection.cursor() as cur:
        cur.execute("SELECT ogc_rebuild_site_cells()")
    return cells_table()


def render(sql_params) -> bytes:
    _version, row = tiles._run(*sql_params, False)
    return bytes(row[0] or b"")


def cluster_counts(tile: bytes, layer: str) -> Counter:
    counts: Counter = Counter()
    for f in mapbox_vector_tile.decode(tile).get(layer, {"features": []})["features"]:
        counts[f["properties"]["kind"]] += f["properties"]["count"]
    return counts


def check_same(addresses=Z8 + OTHERS) -> dict:
    """Cells == live for both precomputed scopes and two layers; returns z8 totals per scope."""
    totals = {}
    for scope in (ACTIVE, EVERY):
        for layer in ("sites", "sites-village"):
            collection = COLLECTIONS[layer]
            total: Counter = Counter()
            for z, x, y in addresses:
                from_cells = render(tiles._clustered_cells(collection, scope, z, x, y))
                live = render(tiles._clustered_live(collection, None, scope, z, x, y))
                assert from_cells == live, (scope, layer, z, x, y)
                if z == 8:
                    total += cluster_counts(from_cells, layer)
            totals[scope, layer] = total
    return totals


def expected(status=None, kind=None) -> Counter:
    qs = Site.objects.all()
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return Counter(qs.values_list("kind", flat=True))


def counts_table() -> dict:
    with connection.cursor() as cur:
        cur.execute("SELECT kind, status, n FROM ogc_sitecount WHERE n <> 0")
        return {(kind, status): n for kind, status, n in cur.fetchall()}


def check_all():
    """The incremental cells and counts equal a rebuild and the table; tiles equal live; z8
    counts every site once."""
    live = Counter(Site.objects.values_list("kind", "status"))
    assert counts_table() == dict(live)
    kept = cells_table()
    assert kept == rebuilt_table()
    assert counts_table() == dict(live)
    totals = check_same()
    assert totals[ACTIVE, "sites"] == expected(status="active")
    assert totals[EVERY, "sites"] == expected()
    assert totals[ACTIVE, "sites-village"] == expected(status="active", kind="village")
    assert totals[EVERY, "sites-village"] == expected(kind="village")


def test_known_counts_and_every_site_once(many):
    n = 38 * PER_COMMUNE
    kinds = Counter(kind_of(i) for i in range(1, n + 1))
    closed = Counter(kind_of(i) for i in range(1, n + 1) if i % 7 == 0)
    kinds["school"] += 3
    kinds["village"] += 5
    totals = check_same()
    assert totals[EVERY, "sites"] == kinds
    assert totals[ACTIVE, "sites"] == kinds - closed
    assert sum(totals[ACTIVE, "sites"].values()) == n + 8 - sum(closed.values())
    # The five stacked villages: one cluster of five, without an id; a lone site keeps its id.
    stack = many["stack"][0]
    z, x, y = 10, *tiles_of(stack.geom, 10)
    features = mapbox_vector_tile.decode(
        render(tiles._clustered_cells(COLLECTIONS["sites"], ACTIVE, z, x, y))
    )
    clusters = features["sites"]["features"]
    assert any(f["properties"]["count"] == 5 and "id" not in f["properties"] for f in clusters)
    alone = [f for f in clusters if f["properties"]["count"] == 1]
    ids = set(Site.objects.values_list("id", flat=True))
    assert alone and all(f["properties"]["id"] in ids for f in alone)


def tiles_of(point, z):
    n = 2**z
    x = int((point.x + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * n)
    return x, y


def test_cells_follow_single_and_bulk_writes(many):
    check_all()
    village = Site.objects.filter(kind="village", status="active").order_by("id").first()
    village.kind = "school"  # kind change
    village.save()
    school = Site.objects.filter(kind="school", status="active").order_by("id").last()
    school.status = "closed"  # status change
    school.save()
    moved = many["stack"][0]
    moved.geom = Point(102.9, 22.0, srid=4326)  # move to another tile
    moved.save()
    many["stack"][1].delete()
    check_all()
    before = cells_table()
    Site.objects.update(name="đổi tên")  # a rename changes no cell
    assert cells_table() == before
    with connection.cursor() as cur:
        cur.execute("UPDATE places_site SET geom = ST_Translate(geom, 0.013, -0.007) WHERE id % 5 = 0")
        cur.execute("UPDATE places_site SET status = 'closed' WHERE id % 4 = 1 AND status = 'active'")
        cur.execute(
            "UPDATE places_site SET kind = 'village' WHERE id % 6 = 2 AND GeometryType(geom) = 'POINT'"
        )
        cur.execute("DELETE FROM places_site WHERE id % 11 = 3")
    check_all()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM places_site")
    assert cells_table() == []
    assert counts_table() == {}
    assert check_same()[EVERY, "sites"] == Counter()


def test_sites_beyond_web_mercator_do_not_break_writes(many):
    before = cells_table()
    commune = AdminUnit.objects.filter(level="commune").first()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO places_site (kind, name, description, geom, attributes, status, source,"
            " external_id, created_at, updated_at, commune_id) VALUES ('village', 'Cực Nam', '',"
            " ST_SetSRID(ST_MakePoint(0, -90), 4326), '{}', 'active', 'test', '', now(), now(), %s)",
            [commune.id],
        )
    # Never in any tile (live or precomputed), and no error in the trigger; but counted.
    assert cells_table() == before
    assert counts_table() == dict(Counter(Site.objects.values_list("kind", "status")))


def test_scope_decides_the_path(many, user, django_user_model):
    agency = Agency.objects.first()
    district = AdminUnit.objects.filter(level="district").first()

    def person(name, **profile):
        account = django_user_model.objects.create_user(name, password="x")
        if profile:
            Profile.objects.create(user=account, **profile)
        return account

    assert site_scope(AnonymousUser()) == ACTIVE
    assert site_scope(person("noprofile")) == ACTIVE
    assert site_scope(user) == EVERY  # coordinator
    assert site_scope(person("planner", role=Role.PLANNER)) == EVERY
    assert site_scope(django_user_model.objects.create_superuser("root1", password="x")) == EVERY
    assert site_scope(person("insp", role=Role.INSPECTOR, agency=agency)) is None
    assert site_scope(person("lead", role=Role.AREA_LEADER, area=district)) is None


def test_tiles_over_http_scoped_and_in_one_statement(
    many, client, settings, django_user_model, django_assert_num_queries
):
    settings.OGC_TILE_CACHE_SECONDS = 0
    z, x, y = 8, 201, 111
    url = f"/tiles/sites/{z}/{x}/{y}.pbf"
    with django_assert_num_queries(1):
        public = client.get(url)
    assert public.status_code == 200
    assert public.content == render(tiles._clustered_live(COLLECTIONS["sites"], None, ACTIVE, z, x, y))
    # With the cache on: a miss is the version and the tile, a hit only the version.
    settings.OGC_TILE_CACHE_SECONDS = 60
    url = f"/tiles/sites/{z}/{x}/{y + 1}.pbf"
    with django_assert_num_queries(2):
        assert client.get(url)["X-Tile-Cache"] == "miss"
    with django_assert_num_queries(1):
        assert client.get(url)["X-Tile-Cache"] == "hit"
    # An inspector sees his agency's sites: rendered from the rows, scoped, each counted once.
    agency = Site.objects.exclude(agency=None).values_list("agency", flat=True).first()
    inspector = django_user_model.objects.create_user("insp2", password="x")
    Profile.objects.create(user=inspector, role=Role.INSPECTOR, agency_id=agency)
    client.force_login(inspector)
    theirs = Counter(site_list(user=inspector).values_list("kind", flat=True))
    assert 0 < sum(theirs.values()) < Site.objects.count()
    total: Counter = Counter()
    for z, x, y in Z8:
        mine = client.get(f"/tiles/sites/{z}/{x}/{y}.pbf")
        assert mine.status_code == 200 and mine["Cache-Control"].startswith("private")
        total += cluster_counts(mine.content, "sites")
    assert total == theirs


def test_items_number_matched_from_the_counts(many, client, user, django_user_model):
    """numberMatched without a box or time filter comes from ogc_sitecount for readers who see
    all (active) sites, and equals the count of their rows; scoped readers count their rows."""

    def items(url):
        response = client.get(url, HTTP_ACCEPT="application/geo+json")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    active = Site.objects.filter(status="active")
    page = items("/ogcapi/collections/sites/items?limit=7&offset=3")
    assert page["numberMatched"] == active.count() and page["numberReturned"] == 7
    ids = list(active.order_by("id").values_list("id", flat=True))
    assert [f["id"] for f in page["features"]] == ids[3:10]
    village = items("/ogcapi/collections/sites-village/items?limit=2")
    assert village["numberMatched"] == active.filter(kind="village").count()
    last = items(f"/ogcapi/collections/sites/items?limit=5&offset={active.count() - 2}")
    assert last["numberReturned"] == 2 and not any(link["rel"] == "next" for link in last["links"])
    # No count over places_site: the sum of ogc_sitecount's rows.
    with CaptureQueriesContext(connection) as queries:
        items("/ogcapi/collections/sites/items?limit=3")
    sqls = [q["sql"] for q in queries]
    assert any("ogc_sitecount" in sql for sql in sqls)
    assert len(sqls) == 2 and "ogc_sitecount" in sqls[0], sqls  # the count, then the page
    assert sqls[1].lstrip().startswith("WITH page AS") and "__count" not in sqls[1]
    # After a write the counts follow at once.
    Site.objects.filter(pk=active.order_by("id").first().pk).update(status="closed")
    assert items("/ogcapi/collections/sites/items?limit=1")["numberMatched"] == active.count()
    # A time filter counts the rows (the counts table knows no dates).
    day = Site.objects.order_by("updated_at").values_list("updated_at", flat=True).first()
    stamp = day.isoformat().replace("+00:00", "Z")
    timed = items(f"/ogcapi/collections/sites/items?limit=1&datetime=../{stamp}")
    assert timed["numberMatched"] == active.filter(updated_at__lte=day).count()
    # A coordinator sees closed sites too; an inspector only his agency's (row count).
    client.force_login(user)
    assert items("/ogcapi/collections/sites/items?limit=1")["numberMatched"] == Site.objects.count()
    agency = Site.objects.exclude(agency=None).values_list("agency", flat=True).first()
    inspector = django_user_model.objects.create_user("insp3", password="x")
    Profile.objects.create(user=inspector, role=Role.INSPECTOR, agency_id=agency)
    client.force_login(inspector)
    theirs = site_list(user=inspector).count()
    assert items("/ogcapi/collections/sites/items?limit=1")["numberMatched"] == theirs
