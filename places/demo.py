"""Synthetic but plausible demo data on the real Lai Châu geography, generated in PostGIS.

Everything is set-based SQL (INSERT ... SELECT), so one code path serves the demo
(scale 1: about 950 villages among 1,950 sites) and the benchmarks (scale 1000:
about 2 million sites). Rows are staged in a temporary table, then upserted into
places_site on the partial unique index (source, external_id).

Determinism: every random choice is a draw from md5(seed, external_id), and
points come from ST_GeneratePoints with a seed, so one (scale, seed) always yields
the same rows. md5 is used rather than random()/setseed() because the order in
which PostgreSQL visits rows is not fixed, and rather than hashtext() because its
values may change between PostgreSQL versions. The number of villages and schools
per commune does not depend on the seed, so another seed moves sites, it does not
renumber them.

Statistics (scale 1 only, since their children must add up to the village child
counts) go to UnitStatistic for the old communes (2020–2024) and, restated along
the 2025 crosswalk, for the new communes (2025, 2026). Real rows (another source)
are never overwritten.
"""

# ruff: noqa: S608 - the SQL is assembled from constant snippets of this module; values travel as parameters.

import json
import time
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from .kinds import KINDS
from .models import Site, UnitStatistic
from .reference import FIXTURES, OLD_VALID_TO
from .selectors import today

DEMO_SOURCE = "synthetic demo"
DEFAULT_SEED = 23  # Directive 23/CT-TTg
MAX_SCALE = 10_000
RIVERS_FILE = FIXTURES / "lai_chau_rivers_naturalearth.geojson"
OLD_YEARS = (2020, 2024)
NEW_YEARS = (2025, 2026)
# Thành phố Lai Châu (old district code): most playgrounds and construction sites are there.
CITY_DISTRICT = "105"

# Per scale 1.
RIVER_HOTSPOTS = 60
CITY_PLAYGROUNDS_PER_COMMUNE = 3
CITY_CONSTRUCTION_PER_WARD = 6
CITY_CONSTRUCTION_PER_COMMUNE = 5
ROUTE_CONSTRUCTION = 20
WALK_M = 500


def demo_prefix(scale: int) -> str:
    """external_id prefix of one scale: demo-s1-… is the demo, demo-s100-… a benchmark."""
    return f"demo-s{scale}-"


@dataclass
class DemoSummary:
    scale: int
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    statistics: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# ---------------------------------------------------------------- SQL snippets


def _hash(key: str) -> str:
    """96 hex digits per row: twelve independent 32-bit draws from the seed and a key."""
    k = f"(%(seed)s || ':' || {key})"
    return f"(md5({k}) || md5({k} || ':b') || md5({k} || ':c'))"


def _u(i: int, h: str = "h") -> str:
    """Draw i (0–11) of a row hash, uniform in [0, 1)."""
    return f"(('x' || substr({h}, {1 + 8 * i}, 8))::bit(32)::bigint / 4294967296.0::float8)"


def _pick(param: str, i: int, h: str = "h") -> str:
    """One element of the text array passed as parameter `param`, chosen by draw i."""
    arr = f"%({param})s::text[]"
    return f"({arr})[1 + floor({_u(i, h)} * cardinality({arr}))::int]"


def _point_seed(h: str, i: int) -> str:
    """A positive int4 seed for ST_GeneratePoints from draw i."""
    return f"(1 + ('x' || substr({h}, {1 + 8 * i}, 7))::bit(28)::int)"


def _offset(geom: str, min_m: str, span_m: str, i: int, h: str = "h") -> str:
    """A point min_m…min_m+span_m metres from `geom` in a random direction (draws i, i+1)."""
    distance = f"{min_m} + ({span_m}) * {_u(i, h)}"
    return f"ST_Project(({geom})::geography, {distance}, 2 * pi() * {_u(i + 1, h)})::geometry"


def _square(center: str, side_m: str, i: int, h: str = "h") -> str:
    """A square of side_m metres around `center`, turned by draw i, built in UTM 48N (metres)."""
    utm = f"ST_Transform({center}, 32648)"
    return f"ST_Transform(ST_Rotate(ST_Expand({utm}, ({side_m}) / 2.0), pi() / 2 * {_u(i, h)}, {utm}), 4326)"


def _lower_first(text: str) -> str:
    return f"(lower(left({text}, 1)) || substr({text}, 2))"


# ---------------------------------------------------------------- vocabularies

# Syllables of Thái, Mông and Dao village names of the province (Nà Khum, Huổi Luông, Pa Vây Sử …).
# fmt: off
SYLLABLES_A = ["Nà", "Nậm", "Huổi", "Pa", "Hua", "Phiêng", "Co", "Khoen", "Tà", "Sin", "Lả", "Noong", "Pá",
               "Hô", "Thẳm", "Chang", "Sì", "Lùng", "Bó", "Phìn", "Ma", "Sàng", "Tả", "Can"]
SYLLABLES_B = ["Khum", "Bum", "Cuổi", "Luông", "Ten", "Mạ", "Hăn", "Lĩnh", "Pục", "Chảy", "Lò", "Sáng", "Xe",
               "Dón", "Củm", "Pho", "Tấu", "Khon", "Kim", "Cang", "Chải", "Hồ", "Mu", "Vàng", "Pậu"]
# fmt: on

VOCABULARY = {
    "syl_a": SYLLABLES_A,
    "syl_b": SYLLABLES_B,
    "school_rural": [
        "Trường PTDTBT Tiểu học",
        "Trường Mầm non",
        "Trường PTDTBT THCS",
        "Trường PTDTBT TH và THCS",
    ],
    "school_urban": ["Trường Tiểu học", "Trường Mầm non", "Trường THCS", "Trường TH và THCS"],
    "school_level": ["primary", "preschool", "lower_secondary", "multi_level"],
    "river_place": ["Bến đò", "Bãi tắm tự phát", "Khúc cua", "Bãi bồi", "Bến thuyền"],
    "depth": ["under_0_5m", "0_5_to_1_5m", "over_1_5m", "unknown"],
    "depth_deep": ["0_5_to_1_5m", "over_1_5m", "over_1_5m", "unknown"],
    "operator": ["Hợp tác xã vận tải", "Hộ kinh doanh vận tải", "Tổ xe đưa đón học sinh"],
    "playground_name": ["Sân chơi thiếu nhi", "Khu vui chơi trẻ em"],
    "surface_public": ["rubber", "concrete", "grass", "sand"],
    "surface_school": ["concrete", "earth", "grass", "sand"],
    "city_work": [
        "Công trình nhà ở",
        "Công trình trụ sở cơ quan",
        "Công trình trường học",
        "Công trình chợ",
        "Công trình đường nội thị",
        "Công trình kè suối",
        "Công trình khu dân cư mới",
    ],
    "route_work": [
        "Công trình nâng cấp đường",
        "Công trình sửa chữa cầu",
        "Công trình kè taluy",
        "Công trình mở rộng đường",
    ],
    # Invented names: no real company is meant.
    "contractor": [
        "Công ty TNHH Xây dựng Minh Phát",
        "Công ty CP Xây dựng Hưng Thịnh",
        "Công ty TNHH Đầu tư Xây dựng An Bình",
        "Công ty CP Công trình Giao thông Tây Bắc",
        "Hợp tác xã Xây dựng Tân Tiến",
        "Công ty TNHH MTV Xây lắp Thành Công",
        "Công ty CP Xây dựng và Thương mại Phúc Lộc",
    ],
}

# ---------------------------------------------------------------- the steps

# Old communes with their demo parameters. Counts use a seed-free hash so that
# external ids stay put when the seed changes.
SQL_UNITS = f"""
CREATE TEMP TABLE demo_unit ON COMMIT DROP AS
WITH base AS MATERIALIZED (
    SELECT c.id, c.code, c.name, c.geom, d.code AS district_code,
           regexp_replace(c.name, '^(Xã|Phường|Thị trấn) ', '') AS short,
           CASE WHEN starts_with(c.name, 'Phường ') THEN 'ward'
                WHEN starts_with(c.name, 'Thị trấn ') THEN 'town' ELSE 'rural' END AS setting,
           ST_Area(c.geom::geography) / 1e6 AS km2,
           md5('unit:' || c.code) AS fixed_h,
           {_hash("'unit:' || c.code")} AS h
      FROM places_adminunit c JOIN places_adminunit d ON d.id = c.parent_id
     WHERE c.level = 'commune' AND c.valid_to = %(old_valid_to)s
), counted AS MATERIALIZED (
    SELECT b.*,
           (CASE b.setting WHEN 'ward' THEN 8 + floor(7 * {_u(0, "b.fixed_h")})
                           WHEN 'town' THEN 9 + floor(6 * {_u(0, "b.fixed_h")})
                           ELSE greatest(4, round(2 + 0.75 * sqrt(b.km2) + 5 * ({_u(0, "b.fixed_h")} - 0.5)))
            END)::int AS n_villages
      FROM base b
)
SELECT c.*,
       least(4, 1 + c.n_villages / 5) AS n_schools,
       CASE c.setting WHEN 'ward' THEN 3.5 + 0.6 * {_u(0)} WHEN 'town' THEN 3.9 + 0.6 * {_u(0)}
                      ELSE 4.3 + 0.9 * {_u(0)} END AS hh_size,
       CASE c.setting WHEN 'ward' THEN 0.23 + 0.05 * {_u(1)} WHEN 'town' THEN 0.28 + 0.05 * {_u(1)}
                      ELSE 0.33 + 0.07 * {_u(1)} END AS child_share,
       0.008 + 0.014 * {_u(2)} AS pop_growth,
       -0.004 + 0.012 * {_u(3)} AS child_growth,
       CASE c.setting WHEN 'ward' THEN 1 + 5 * {_u(4)} WHEN 'town' THEN 6 + 12 * {_u(4)}
                      ELSE 22 + 45 * {_u(4)} END AS poverty_2020,
       CASE c.setting WHEN 'ward' THEN 0.2 + 0.6 * {_u(5)} WHEN 'town' THEN 0.8 + 1.2 * {_u(5)}
                      ELSE 2.0 + 3.0 * {_u(5)} END AS poverty_decline,
       CASE c.setting WHEN 'ward' THEN 30 + 35 * {_u(6)} WHEN 'town' THEN 55 + 30 * {_u(6)}
                      ELSE 86 + 14 * {_u(6)} END AS ethnic_share,
       {_point_seed("c.h", 7)} AS village_seed,
       {_point_seed("c.h", 8)} AS construction_seed
  FROM counted c
"""

SQL_STAGE = """
CREATE TEMP TABLE demo_site (
    external_id text PRIMARY KEY,
    kind text NOT NULL,
    name text NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    attributes jsonb NOT NULL,
    commune_id bigint NOT NULL,
    unit_id bigint,        -- the old commune it was generated for
    code text,
    i int,
    h text
) ON COMMIT DROP
"""

# The Đà river clipped to the province, part by part, with where each part starts
# along the whole (metres), so that positions spread evenly along its length.
SQL_RIVER = """
CREATE TEMP TABLE demo_river ON COMMIT DROP AS
WITH clipped AS (
    SELECT r.name,
           ST_CollectionExtract(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON(r.gj), 4326), p.geom), 2) AS g
      FROM unnest(%(river_names)s::text[], %(river_geojson)s::text[]) AS r(name, gj)
      JOIN places_adminunit p ON p.level = 'province'
), parts AS (
    SELECT c.name, d.path, d.geom, ST_Length(d.geom::geography) AS len
      FROM clipped c CROSS JOIN LATERAL ST_Dump(c.g) d
     WHERE ST_Length(d.geom::geography) > 0
)
SELECT name, geom, len, sum(len) OVER (ORDER BY name, path) - len AS start_m, sum(len) OVER () AS total_m
  FROM parts
"""

# Where the coarse old polygons overlap, and only there, places_unit_at can send a
# point to a neighbour; asking it only for points in those slivers saves one call
# per village.
SQL_OVERLAPS = """
CREATE TEMP TABLE demo_overlap ON COMMIT DROP AS
SELECT d.geom
  FROM demo_unit a
  JOIN demo_unit b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
 CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d;
CREATE INDEX ON demo_overlap USING gist (geom);
"""

# A village must resolve, by places_unit_at, to the old commune it was drawn in
# and to that commune's successor: points in the slivers where the coarse
# polygons overlap may fail this and are dropped, so the children of a commune
# add up the same way on both structures.
SQL_VILLAGES = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH pts AS MATERIALIZED (
    SELECT u.id AS unit_id, u.code, u.setting, u.hh_size, u.child_share, u.n_villages * %(scale)s AS n,
           d.path[1] AS i, d.geom,
           %(prefix)s || 'village-' || u.code || '-' || lpad(d.path[1]::text, 6, '0') AS external_id
      FROM demo_unit u
     CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(u.geom, u.n_villages * %(scale)s, u.village_seed)) d
), drawn AS MATERIALIZED (
    SELECT p.*, {_hash("p.external_id")} AS h FROM pts p
), named AS MATERIALIZED (
    SELECT d.*,
           CASE WHEN d.setting = 'ward' OR (d.setting = 'town' AND d.i <= 0.4 * d.n)
                THEN 'Tổ dân phố số ' || d.i
                ELSE 'Bản ' || {_pick("syl_a", 0)} || ' ' || {_pick("syl_b", 1)} END AS base_name,
           (CASE d.setting WHEN 'ward' THEN 120 + floor(260 * {_u(2)})
                           WHEN 'town' THEN 60 + floor(180 * {_u(2)})
                           ELSE 25 + floor(125 * {_u(2)}) END)::int AS households
      FROM drawn d
), resolved AS MATERIALIZED (
    SELECT n.*, places_unit_at(n.geom, %(today)s, 'commune') AS commune_id,
           CASE WHEN EXISTS (SELECT 1 FROM demo_overlap o WHERE ST_Intersects(o.geom, n.geom))
                THEN places_unit_at(n.geom, %(old_valid_to)s, 'commune') ELSE n.unit_id END AS old_unit_id,
           row_number() OVER (PARTITION BY n.unit_id, n.base_name ORDER BY n.i) AS dup
      FROM named n
)
SELECT r.external_id, 'village',
       CASE WHEN r.dup > 1 THEN r.base_name || ' ' || r.dup ELSE r.base_name END,
       r.geom,
       jsonb_build_object(
           'child_count',
           round(r.households * r.hh_size * r.child_share * (0.85 + 0.3 * {_u(3, "r.h")}))::int,
           'households', r.households),
       r.commune_id, r.unit_id, r.code, r.i, r.h
  FROM resolved r
  JOIN places_crosswalklink l ON l.old_unit_id = r.unit_id
 WHERE r.old_unit_id = r.unit_id AND r.commune_id = l.new_unit_id
"""

# Schools stand 80–300 m from a village of their commune; which villages is a
# seeded choice, how many is not.
SQL_SCHOOLS = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH ranked AS MATERIALIZED (
    SELECT v.unit_id, v.code, v.geom AS village_geom, u.setting, u.short, u.n_schools,
           row_number() OVER (PARTITION BY v.unit_id ORDER BY substr(v.h, 73, 8)) AS k
      FROM demo_site v JOIN demo_unit u ON u.id = v.unit_id
     WHERE v.kind = 'village'
), keyed AS MATERIALIZED (
    SELECT r.*, %(prefix)s || 'school-' || r.code || '-' || lpad(r.k::text, 5, '0') AS external_id,
           1 + (r.k - 1) %% 4 AS level_ix
      FROM ranked r WHERE r.k <= r.n_schools * %(scale)s
), drawn AS MATERIALIZED (
    SELECT k.*, {_hash("k.external_id")} AS h FROM keyed k
), placed AS MATERIALIZED (
    SELECT d.*, {_offset("d.village_geom", "80", "220", 0)} AS geom,
           (%(school_level)s::text[])[d.level_ix] AS level
      FROM drawn d
), resolved AS MATERIALIZED (
    SELECT p.*, places_unit_at(p.geom, %(today)s, 'commune') AS commune_id FROM placed p
)
SELECT external_id, 'school',
       (CASE WHEN setting = 'rural' THEN %(school_rural)s::text[] ELSE %(school_urban)s::text[] END)[level_ix]
         || ' ' || short || CASE WHEN k > 4 THEN ' số ' || ((k - 1) / 4 + 1) ELSE '' END,
       geom,
       jsonb_build_object(
           'level', level,
           'pupils', (CASE level WHEN 'preschool' THEN 60 + 200 * {_u(2)}
                                 WHEN 'primary' THEN 150 + 500 * {_u(2)}
                                 WHEN 'lower_secondary' THEN 120 + 380 * {_u(2)}
                                 ELSE 250 + 550 * {_u(2)} END
                      * CASE WHEN setting = 'ward' THEN 1.5 ELSE 1 END)::int,
           'boarding', setting = 'rural' AND level <> 'preschool'),
       commune_id, unit_id, code, k, h
  FROM resolved
 WHERE commune_id IS NOT NULL
"""

SQL_SCHOOL_INDEX = """
CREATE INDEX demo_site_school_geom ON demo_site USING gist (geom) WHERE kind = 'school';
ANALYZE demo_site;
"""

# A route from some villages to the nearest school of the same (current) commune,
# bent at the middle by 8–25 % of its length. Villages within walk_m of it need
# none; walk_m shrinks with the scale as schools get denser, so that the share of
# villages with a route stays about the same.
SQL_ROUTES = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH candidates AS MATERIALIZED (
    SELECT v.name AS village_name, v.geom AS a, v.code, v.i, v.unit_id,
           (v.attributes ->> 'child_count')::int AS children, s.name AS school, s.geom AS b,
           ST_Distance(v.geom::geography, s.geom::geography) AS dist
      FROM demo_site v
     CROSS JOIN LATERAL (
        SELECT s.name, s.geom FROM demo_site s
         WHERE s.kind = 'school' AND s.commune_id = v.commune_id
         ORDER BY s.geom <-> v.geom LIMIT 1
     ) s
     WHERE v.kind = 'village' AND {_u(4, "v.h")} < 0.45
), keyed AS MATERIALIZED (
    SELECT c.*, %(prefix)s || 'route-' || c.code || '-' || lpad(c.i::text, 6, '0') AS external_id
      FROM candidates c WHERE c.dist >= %(walk_m)s
), drawn AS MATERIALIZED (
    SELECT k.*, {_hash("k.external_id")} AS h FROM keyed k
), shaped AS MATERIALIZED (
    SELECT d.*, ST_MakeLine(ARRAY[
               d.a,
               ST_Project(ST_LineInterpolatePoint(ST_MakeLine(d.a, d.b), 0.5)::geography,
                          d.dist * (0.08 + 0.17 * {_u(0)}),
                          ST_Azimuth(d.a::geography, d.b::geography)
                            + CASE WHEN {_u(1)} < 0.5 THEN pi() / 2 ELSE -pi() / 2 END)::geometry,
               d.b]) AS geom
      FROM drawn d
), typed AS MATERIALIZED (
    SELECT s.*,
           CASE WHEN EXISTS (SELECT 1 FROM demo_river r WHERE ST_Intersects(r.geom, s.geom)) THEN 'boat'
                WHEN s.dist > 4000 THEN CASE WHEN {_u(2)} < 0.5 THEN 'bus' ELSE 'minibus' END
                WHEN s.dist > 1500 THEN CASE WHEN {_u(2)} < 0.6 THEN 'minibus' ELSE 'motorbike' END
                ELSE CASE WHEN {_u(2)} < 0.6 THEN 'walking' ELSE 'motorbike' END END AS vehicle
      FROM shaped s
), resolved AS MATERIALIZED (
    SELECT t.*, places_unit_at(t.geom, %(today)s, 'commune') AS commune_id FROM typed t
)
SELECT r.external_id, 'school_route', 'Tuyến ' || r.village_name || ' – ' || r.school, r.geom,
       jsonb_strip_nulls(jsonb_build_object(
           'school', r.school,
           'vehicle_type', r.vehicle,
           'vehicle_operator', CASE WHEN r.vehicle = 'boat' THEN 'Đội thuyền ' || u.short
                                    WHEN r.vehicle <> 'walking'
                                    THEN {_pick("operator", 3, "r.h")} || ' ' || u.short END,
           'pupils', greatest(1, round(r.children * (0.2 + 0.4 * {_u(4, "r.h")})))::int)),
       r.commune_id, r.unit_id, r.code, r.i, r.h
  FROM resolved r JOIN demo_unit u ON u.id = r.unit_id
 WHERE r.commune_id IS NOT NULL
"""

_ON_RIVER = "ST_LineInterpolatePoint(r.geom, least(1.0, (a.at_m - r.start_m) / r.len))"

SQL_RIVER_HOTSPOTS = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, h)
WITH slots AS MATERIALIZED (
    SELECT n.i, %(prefix)s || 'hotspot-river-' || lpad(n.i::text, 6, '0') AS external_id,
           %(river_hotspots)s * %(scale)s AS n
      FROM generate_series(1, %(river_hotspots)s * %(scale)s) AS n(i)
), drawn AS MATERIALIZED (
    SELECT s.*, {_hash("s.external_id")} AS h FROM slots s
), along AS MATERIALIZED (
    SELECT d.*, (d.i - 1 + {_u(0)}) / d.n * (SELECT max(total_m) FROM demo_river) AS at_m FROM drawn d
), placed AS MATERIALIZED (
    SELECT a.*, r.name AS river,
           {_offset(_ON_RIVER, "10", "70", 1)} AS geom,
           CASE WHEN {_u(3)} < 0.35 THEN 'reservoir' ELSE 'river' END AS water_type
      FROM along a JOIN demo_river r ON a.at_m >= r.start_m AND a.at_m < r.start_m + r.len
), resolved AS MATERIALIZED (
    SELECT p.*, places_unit_at(p.geom, %(today)s, 'commune') AS commune_id FROM placed p
)
SELECT r.external_id, 'drowning_hotspot',
       CASE WHEN r.water_type = 'reservoir' THEN 'Lòng hồ thủy điện trên sông ' || r.river
            ELSE {_pick("river_place", 4, "r.h")} || ' sông ' || r.river END
         || ' (' || regexp_replace(c.name, '^(Xã|Phường) ', '') || ')',
       r.geom,
       jsonb_build_object('water_type', r.water_type, 'depth_class', {_pick("depth_deep", 5, "r.h")},
                          'fenced', false, 'warning_sign', {_u(6, "r.h")} < 0.4,
                          'rescue_equipment', {_u(7, "r.h")} < 0.15),
       r.commune_id, r.h
  FROM resolved r JOIN places_adminunit c ON c.id = r.commune_id
"""

# Water 100–600 m from a quarter of the villages; ponds and lakes often drawn as
# small polygons (a buffer on the spheroid, in metres).
SQL_VILLAGE_HOTSPOTS = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH chosen AS MATERIALIZED (
    SELECT v.name AS village_name, v.geom AS village_geom, v.unit_id, v.code, v.i,
           %(prefix)s || 'hotspot-' || v.code || '-' || lpad(v.i::text, 6, '0') AS external_id
      FROM demo_site v
     WHERE v.kind = 'village' AND {_u(5, "v.h")} < 0.25
), drawn AS MATERIALIZED (
    SELECT c.*, {_hash("c.external_id")} AS h FROM chosen c
), typed AS MATERIALIZED (
    SELECT d.*, {_offset("d.village_geom", "100", "500", 0)} AS pt,
           CASE WHEN {_u(2)} < 0.40 THEN 'stream' WHEN {_u(2)} < 0.62 THEN 'pond'
                WHEN {_u(2)} < 0.72 THEN 'canal' WHEN {_u(2)} < 0.82 THEN 'flooded_pit'
                WHEN {_u(2)} < 0.92 THEN 'well' ELSE 'lake' END AS water_type
      FROM drawn d
), shaped AS MATERIALIZED (
    SELECT t.*,
           CASE WHEN t.water_type = 'lake' OR (t.water_type = 'pond' AND {_u(3)} < 0.6)
                THEN ST_Buffer(t.pt::geography,
                               CASE WHEN t.water_type = 'lake' THEN 40 + 50 * {_u(4)}
                                    ELSE 12 + 28 * {_u(4)} END,
                               'quad_segs=4')::geometry
                ELSE t.pt END AS geom
      FROM typed t
), resolved AS MATERIALIZED (
    SELECT s.*, places_unit_at(s.geom, %(today)s, 'commune') AS commune_id FROM shaped s
)
SELECT external_id, 'drowning_hotspot',
       CASE water_type WHEN 'stream' THEN 'Suối gần ' WHEN 'pond' THEN 'Ao gần '
                       WHEN 'canal' THEN 'Mương gần ' WHEN 'flooded_pit' THEN 'Hố ngập nước gần '
                       WHEN 'well' THEN 'Giếng nước ' ELSE 'Hồ gần ' END
         || {_lower_first("village_name")},
       geom,
       jsonb_build_object(
           'water_type', water_type,
           'depth_class', CASE water_type WHEN 'well' THEN 'over_1_5m' WHEN 'stream' THEN {_pick("depth", 5)}
                                          ELSE {_pick("depth_deep", 5)} END,
           'fenced', {_u(6)} < CASE water_type WHEN 'well' THEN 0.5 WHEN 'pond' THEN 0.15 ELSE 0.05 END,
           'warning_sign', {_u(7)} < 0.25,
           'rescue_equipment', {_u(8)} < 0.05),
       commune_id, unit_id, code, i, h
  FROM resolved
 WHERE commune_id IS NOT NULL
"""

_EQUIPMENT = (
    f"to_jsonb(array_remove(ARRAY["
    f"CASE WHEN {_u(5)} < 0.8 THEN 'xích đu' END, CASE WHEN {_u(6)} < 0.6 THEN 'cầu trượt' END, "
    f"CASE WHEN {_u(7)} < 0.5 THEN 'bập bênh' END, CASE WHEN {_u(8)} < 0.3 THEN 'thang leo' END, "
    f"CASE WHEN {_u(9)} < 0.2 THEN 'nhà bóng' END]::text[], NULL))"
)

# Public playgrounds next to neighbourhoods of the city, and some at schools.
SQL_PLAYGROUNDS = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH public_ AS MATERIALIZED (
    SELECT v.name AS near_name, v.geom AS near_geom, v.unit_id, v.code, 'public' AS access,
           row_number() OVER (PARTITION BY v.unit_id ORDER BY substr(v.h, 81)) AS k
      FROM demo_site v JOIN demo_unit u ON u.id = v.unit_id
     WHERE v.kind = 'village' AND u.district_code = %(city_district)s
), at_school AS MATERIALIZED (
    SELECT s.name AS near_name, s.geom AS near_geom, s.unit_id, s.code, 'school' AS access, s.i AS k
      FROM demo_site s WHERE s.kind = 'school' AND {_u(6, "s.h")} < 0.04
), chosen AS MATERIALIZED (
    SELECT p.*, %(prefix)s || 'playground-' || p.code || '-' || lpad(p.k::text, 5, '0') AS external_id
      FROM public_ p WHERE p.k <= %(city_playgrounds)s * %(scale)s
    UNION ALL
    SELECT s.*, %(prefix)s || 'playground-school-' || s.code || '-' || lpad(s.k::text, 5, '0')
      FROM at_school s
), drawn AS MATERIALIZED (
    SELECT c.*, {_hash("c.external_id")} AS h FROM chosen c
), shaped AS MATERIALIZED (
    SELECT d.*,
           CASE WHEN d.access = 'public' AND {_u(2)} < 0.35
                THEN {_square(_offset("d.near_geom", "30", "120", 0), "20 + 25 * " + _u(3), 4)}
                WHEN d.access = 'public' THEN {_offset("d.near_geom", "30", "120", 0)}
                ELSE {_offset("d.near_geom", "15", "25", 0)} END AS geom
      FROM drawn d
), resolved AS MATERIALIZED (
    SELECT s.*, places_unit_at(s.geom, %(today)s, 'commune') AS commune_id FROM shaped s
)
SELECT external_id, 'playground',
       CASE WHEN access = 'school' THEN 'Sân chơi ' || {_lower_first("near_name")}
            ELSE {_pick("playground_name", 10)} || ' ' || {_lower_first("near_name")} END,
       geom,
       jsonb_build_object(
           'access', access,
           'surface', CASE WHEN access = 'school' THEN {_pick("surface_school", 11)}
                           ELSE {_pick("surface_public", 11)} END,
           'equipment', {_EQUIPMENT}),
       commune_id, unit_id, code, k, h
  FROM resolved
 WHERE commune_id IS NOT NULL
"""

_CONSTRUCTION_ATTRIBUTES = f"""
       jsonb_build_object(
           'permit_number', (1 + floor(480 * {_u(5)}))::int || '/GPXD',
           'contractor', {_pick("contractor", 6)},
           'start_date', to_char(date '2025-03-01' + floor(420 * {_u(7)})::int, 'YYYY-MM-DD'),
           'end_date', to_char(date '2025-03-01' + floor(420 * {_u(7)})::int + 60 + floor(480 * {_u(8)})::int,
                               'YYYY-MM-DD'),
           'fenced', {_u(9)} < 0.55)
"""

# City building sites (squares of 40–120 m or points) and road works on routes.
SQL_CONSTRUCTION = f"""
INSERT INTO demo_site (external_id, kind, name, geom, attributes, commune_id, unit_id, code, i, h)
WITH city AS MATERIALIZED (
    SELECT u.id AS unit_id, u.code, u.name AS unit_name, d.path[1] AS k, d.geom AS pt,
           %(prefix)s || 'construction-' || u.code || '-' || lpad(d.path[1]::text, 5, '0') AS external_id
      FROM demo_unit u
     CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(
           u.geom,
           %(scale)s * CASE WHEN u.setting = 'ward' THEN %(per_ward)s ELSE %(per_commune)s END,
           u.construction_seed)) d
     WHERE u.district_code = %(city_district)s
), city_drawn AS MATERIALIZED (
    SELECT c.*, {_hash("c.external_id")} AS h FROM city c
), city_shaped AS MATERIALIZED (
    SELECT c.*, {_pick("city_work", 0)} || ' ' || {_lower_first("c.unit_name")} AS name,
           CASE WHEN {_u(1)} < 0.65 THEN {_square("c.pt", "40 + 80 * " + _u(2), 3)} ELSE c.pt END AS geom
      FROM city_drawn c
), on_route AS MATERIALIZED (
    SELECT r.unit_id, r.code, r.i AS k, r.geom AS route, r.name AS route_name,
           %(prefix)s || 'construction-route-' || r.code || '-' || lpad(r.i::text, 6, '0') AS external_id
      FROM demo_site r WHERE r.kind = 'school_route'
     ORDER BY substr(r.h, 89, 8) LIMIT %(route_construction)s * %(scale)s
), route_drawn AS MATERIALIZED (
    SELECT o.*, {_hash("o.external_id")} AS h FROM on_route o
), route_shaped AS MATERIALIZED (
    SELECT o.*, {_pick("route_work", 0)} || ' (' || o.route_name || ')' AS name,
           {_offset("ST_LineInterpolatePoint(o.route, 0.2 + 0.6 * " + _u(10) + ")", "15", "25", 3)} AS pt
      FROM route_drawn o
), shaped AS MATERIALIZED (
    SELECT external_id, name, geom, unit_id, code, k, h FROM city_shaped
    UNION ALL
    SELECT external_id, name,
           CASE WHEN {_u(1)} < 0.5 THEN {_square("pt", "40 + 40 * " + _u(2), 11)} ELSE pt END,
           unit_id, code, k, h
      FROM route_shaped
), resolved AS MATERIALIZED (
    SELECT s.*, places_unit_at(s.geom, %(today)s, 'commune') AS commune_id FROM shaped s
)
SELECT external_id, 'construction_site', name, geom, {_CONSTRUCTION_ATTRIBUTES},
       commune_id, unit_id, code, k, h
  FROM resolved
 WHERE commune_id IS NOT NULL
"""

# Upsert on the partial unique index; a row that is already as generated is left
# alone, so a second run writes nothing (updated_at included).
SQL_UPSERT = """
WITH up AS (
    INSERT INTO places_site AS t (kind, name, description, geom, attributes, status, source, external_id,
                                  commune_id, created_at, updated_at)
    SELECT kind, name, '', geom, attributes, 'active', %(source)s, external_id, commune_id, now(), now()
      FROM demo_site
    ON CONFLICT (source, external_id) WHERE external_id <> '' DO UPDATE
       SET kind = EXCLUDED.kind, name = EXCLUDED.name, description = EXCLUDED.description,
           geom = EXCLUDED.geom, attributes = EXCLUDED.attributes, status = EXCLUDED.status,
           commune_id = EXCLUDED.commune_id,
           updated_at = EXCLUDED.updated_at
     WHERE (t.kind, t.name, t.description, t.attributes, t.status, t.commune_id, ST_AsEWKB(t.geom))
           IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.description, EXCLUDED.attributes,
                             EXCLUDED.status, EXCLUDED.commune_id, ST_AsEWKB(EXCLUDED.geom))
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""

# Per old commune: 2024 children = the sum over its villages, earlier years
# discounted by its growth; rates follow a declining (poverty) or flat trend.
SQL_UNIT_STATS = """
CREATE TEMP TABLE demo_unit_stat ON COMMIT DROP AS
SELECT u.id, u.setting, u.pop_growth, u.child_growth, u.poverty_2020, u.poverty_decline, u.ethnic_share,
       coalesce(v.children, 0) AS children_2024,
       round(coalesce(v.households, 0) * u.hh_size) AS population_2024
  FROM demo_unit u
  LEFT JOIN (
      SELECT unit_id, sum((attributes ->> 'child_count')::int) AS children,
             sum((attributes ->> 'households')::int) AS households
        FROM demo_site WHERE kind = 'village' GROUP BY unit_id
  ) v ON v.unit_id = u.id
"""

_POVERTY = "round(greatest(0.5, s.poverty_2020 - s.poverty_decline * (y - 2020))::numeric, 1)::float8"

# New communes: counts summed over their old communes along the crosswalk (the
# 2024 figures restated, the demo having no later census), rates weighted by the
# old communes' population.
SQL_STATS = f"""
WITH rows AS (
    SELECT s.id AS unit_id, y AS year, v.indicator, v.value
      FROM demo_unit_stat s
     CROSS JOIN generate_series(%(old_first)s, %(old_last)s) AS y
     CROSS JOIN LATERAL (VALUES
         ('population', round(s.population_2024 / power(1 + s.pop_growth, 2024 - y))::float8),
         ('children_0_15', round(s.children_2024 / power(1 + s.child_growth, 2024 - y))::float8),
         ('poverty_rate', {_POVERTY}),
         ('ethnic_minority_share', round(s.ethnic_share::numeric, 1)::float8),
         ('extremely_difficult', CASE WHEN s.setting = 'rural' AND s.poverty_2020 >= 45 THEN 1.0 ELSE 0.0 END)
     ) AS v(indicator, value)
    UNION ALL
    SELECT n.new_unit_id, n.year, v.indicator, v.value
      FROM (
        SELECT l.new_unit_id, y AS year,
               sum(s.population_2024) AS population, sum(s.children_2024) AS children,
               sum(s.population_2024 * {_POVERTY}) / nullif(sum(s.population_2024), 0) AS poverty,
               sum(s.population_2024 * s.ethnic_share) / nullif(sum(s.population_2024), 0) AS ethnic
          FROM places_crosswalklink l
          JOIN demo_unit_stat s ON s.id = l.old_unit_id
         CROSS JOIN generate_series(%(new_first)s, %(new_last)s) AS y
         GROUP BY l.new_unit_id, y
      ) n
     CROSS JOIN LATERAL (VALUES
         ('population', n.population::float8),
         ('children_0_15', n.children::float8),
         ('poverty_rate', round(n.poverty::numeric, 1)::float8),
         ('ethnic_minority_share', round(n.ethnic::numeric, 1)::float8)
     ) AS v(indicator, value)
     WHERE v.value IS NOT NULL
), up AS (
    INSERT INTO places_unitstatistic AS t (unit_id, year, indicator, value, source)
    SELECT unit_id, year, indicator, value, %(source)s FROM rows
    ON CONFLICT (unit_id, year, indicator) DO UPDATE SET value = EXCLUDED.value
     WHERE t.source = EXCLUDED.source AND t.value IS DISTINCT FROM EXCLUDED.value
    RETURNING 1
)
SELECT count(*) FROM up
"""

SQL_COUNTS = """
SELECT kind, count(*) FROM places_site WHERE source = %(source)s AND starts_with(external_id, %(prefix)s)
 GROUP BY kind
"""

TEMP_TABLES = ("demo_unit_stat", "demo_site", "demo_overlap", "demo_river", "demo_unit")


def _rivers() -> tuple[list[str], list[str]]:
    features = json.loads(RIVERS_FILE.read_text(encoding="utf-8"))["features"]
    names = [f["properties"].get("name_vi") or f["properties"].get("name") or "" for f in features]
    return names, [json.dumps(f["geometry"]) for f in features]


def _params(*, scale: int, seed: int, on: date) -> dict:
    river_names, river_geojson = _rivers()
    return {
        "scale": scale,
        "seed": str(seed),
        "prefix": demo_prefix(scale),
        "source": DEMO_SOURCE,
        "today": on,
        "old_valid_to": OLD_VALID_TO,
        "old_first": OLD_YEARS[0],
        "old_last": OLD_YEARS[1],
        "new_first": NEW_YEARS[0],
        "new_last": NEW_YEARS[1],
        "city_district": CITY_DISTRICT,
        "river_hotspots": RIVER_HOTSPOTS,
        "city_playgrounds": CITY_PLAYGROUNDS_PER_COMMUNE,
        "per_ward": CITY_CONSTRUCTION_PER_WARD,
        "per_commune": CITY_CONSTRUCTION_PER_COMMUNE,
        "route_construction": ROUTE_CONSTRUCTION,
        "walk_m": WALK_M / scale**0.5,
        "river_names": river_names,
        "river_geojson": river_geojson,
        **VOCABULARY,
    }


def _check_scale(scale) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(_("scale must be a whole number from 1 to %(max)s") % {"max": MAX_SCALE})
    return scale


@transaction.atomic
def demo_generate(*, scale: int = 1, seed: int = DEFAULT_SEED, statistics: bool | None = None) -> DemoSummary:
    """Create or refresh the demo sites of one scale (and, at scale 1, the synthetic statistics).

    Sites of this scale that the run no longer produces (another seed, changed
    rules) are deleted, so the stored set is exactly what (scale, seed) yields.
    """
    started = time.perf_counter()
    scale = _check_scale(scale)
    statistics = scale == 1 if statistics is None else statistics
    params = _params(scale=scale, seed=seed, on=today())
    summary = DemoSummary(scale=scale, seed=seed)
    with connection.cursor() as cur:
        # The window sorts over a million villages spill to disk with the default 4 MB.
        cur.execute("SET LOCAL work_mem = '256MB'")
        # Inside a test (or any outer transaction) ON COMMIT DROP has not fired yet.
        for table in TEMP_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        cur.execute(SQL_UNITS, params)
        if cur.rowcount < 1:
            raise ValueError(
                _("no communes of before 01/07/2025: load the reference data first (load_lai_chau)")
            )
        for sql in (
            SQL_STAGE,
            SQL_RIVER,
            SQL_OVERLAPS,
            SQL_VILLAGES,
            SQL_SCHOOLS,
            SQL_SCHOOL_INDEX,
            SQL_ROUTES,
            SQL_RIVER_HOTSPOTS,
            SQL_VILLAGE_HOTSPOTS,
            SQL_PLAYGROUNDS,
            SQL_CONSTRUCTION,
        ):
            cur.execute(sql, params)
        cur.execute(SQL_UPSERT, params)
        summary.inserted, summary.updated = cur.fetchone()
        stale = Site.objects.filter(
            pk__in=RawSQL(
                "SELECT s.id FROM places_site s WHERE s.source = %s AND starts_with(s.external_id, %s)"
                " AND NOT EXISTS (SELECT 1 FROM demo_site d WHERE d.external_id = s.external_id)",
                [DEMO_SOURCE, params["prefix"]],
            )
        )
        summary.removed = stale.delete()[1].get(Site._meta.label, 0)
        if statistics:
            cur.execute(SQL_UNIT_STATS, params)
            cur.execute(SQL_STATS, params)
            summary.statistics = cur.fetchone()[0]
        cur.execute(SQL_COUNTS, params)
        summary.counts = dict.fromkeys(KINDS, 0) | dict(cur.fetchall())
        for table in TEMP_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    summary.seconds = time.perf_counter() - started
    return summary


@transaction.atomic
def demo_purge(*, scale: int = 1) -> int:
    """Delete the demo sites of one scale (at scale 1 also the synthetic statistics); returns sites deleted.

    Through the ORM, so that whatever other apps hang on a site is handled by their on_delete rules.
    """
    scale = _check_scale(scale)
    deleted = Site.objects.filter(source=DEMO_SOURCE, external_id__startswith=demo_prefix(scale)).delete()[1]
    if scale == 1:
        UnitStatistic.objects.filter(source=DEMO_SOURCE).delete()
    return deleted.get(Site._meta.label, 0)
