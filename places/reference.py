"""Load the real Lai Châu administrative structures (fixtures/lai-chau/) into AdminUnit.

Two structures side by side:
- until 30/06/2025: province → 8 districts → 106 communes (polygons of about 2016);
- from 01/07/2025: province → 38 communes (Nghị quyết 1670/NQ-UBTVQH15), each the
  dissolve of the old communes the crosswalk lists.
Codes are the authority for hierarchy (PROVENANCE.md): a district's geometry is the
union of its communes by code, so Xã Sùng Phài (drawn inside Tam Đường) belongs to
Thành phố Lai Châu. The two communes merged away before 2025 (Nậm Loỏng, Ma Li Chải;
no GSO code) are absorbed into the neighbour of the same old district that shares
most of their outline. Idempotent: units are keyed by (code, valid_from).
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db.models import Union
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from .models import AdminLevel, AdminUnit, CrosswalkLink, StatIndicator, UnitStatistic

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "lai-chau"
OLD_VALID_TO = date(2025, 6, 30)
NEW_VALID_FROM = date(2025, 7, 1)
LEGAL_BASIS_2025 = "Nghị quyết 1670/NQ-UBTVQH15 (16/06/2025)"
DBKK_SOURCE = "Quyết định 113/QĐ-UBND ngày 16/01/2026 của UBND tỉnh Lai Châu"
DBKK_YEARS = range(2026, 2031)
GEOMETRY_OLD = "vietnam63 (Marc Choisy, MIT), c. 2016"


@dataclass
class LoadSummary:
    province: int
    districts: int
    communes_old: int
    communes_new: int
    crosswalk: int
    absorbed: dict[str, str]


def _multi(geom: GEOSGeometry) -> MultiPolygon:
    geom = GEOSGeometry(geom.json, srid=4326) if geom.srid is None else geom
    if geom.geom_type == "Polygon":
        return MultiPolygon(geom, srid=4326)
    return geom


def _read_features(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["features"]


def _geom(feature: dict) -> GEOSGeometry:
    return _multi(GEOSGeometry(json.dumps(feature["geometry"]), srid=4326))


def _upsert(*, code, valid_from, valid_to, **fields) -> AdminUnit:
    unit, _ = AdminUnit.objects.update_or_create(
        code=code, valid_from=valid_from, defaults={"valid_to": valid_to, **fields}
    )
    return unit


def _absorber(dissolved: GEOSGeometry, candidates: dict[str, GEOSGeometry]) -> str:
    """Code of the candidate sharing most of the dissolved polygon's outline.

    The outline is widened by ~100 m so that neighbours separated by a sliver still
    count as sharing it.
    """
    ring = dissolved.boundary.buffer(0.001)
    return max(candidates, key=lambda code: (candidates[code].intersection(ring).area, code))


@transaction.atomic
def load_lai_chau(fixtures: Path = FIXTURES) -> LoadSummary:
    codes = json.loads((fixtures / "lai_chau_admin_codes.json").read_text(encoding="utf-8"))
    province_feature = json.loads((fixtures / "lai_chau_province.geojson").read_text(encoding="utf-8"))[
        "features"
    ][0]
    province = _upsert(
        code=codes["province"]["gso_code"],
        valid_from=None,
        valid_to=None,
        name=codes["province"]["name"],
        name_en="Lai Chau Province",
        level=AdminLevel.PROVINCE,
        parent=None,
        geom=_geom(province_feature),
        geometry_source="Open Development Mekong / Open Development Vietnam, CC BY-SA 4.0",
    )

    # Old communes: names and hierarchy from the codes, polygons from vietnam63.
    features = json.loads((fixtures / "lai_chau_communes_pre2025.geojson").read_text(encoding="utf-8"))[
        "features"
    ]
    polygons = {f["properties"]["gso_code"]: _geom(f) for f in features if f["properties"]["gso_code"]}
    drawn_district = {f["properties"]["gso_code"]: f["properties"]["district_full_name"] for f in features}
    absorbed: dict[str, str] = {}
    for f in features:
        if f["properties"]["gso_code"]:
            continue
        dissolved = _geom(f)
        same_district = {
            code: geom
            for code, geom in polygons.items()
            if drawn_district[code] == f["properties"]["district_full_name"]
            and geom.distance(dissolved) < 0.002
        }
        target = _absorber(dissolved, same_district)
        polygons[target] = _multi(polygons[target].union(dissolved))
        absorbed[f["properties"]["full_name"]] = target

    districts: dict[str, AdminUnit] = {}
    old_communes: dict[str, AdminUnit] = {}
    for d in codes["districts_until_2025_06_30"]:
        communes_geom = [polygons[c["gso_code"]] for c in d["communes"]]
        union = communes_geom[0]
        for g in communes_geom[1:]:
            union = union.union(g)
        districts[d["gso_code"]] = _upsert(
            code=d["gso_code"],
            valid_from=None,
            valid_to=OLD_VALID_TO,
            name=d["full_name"],
            name_en=d["name_en"],
            level=AdminLevel.DISTRICT,
            parent=province,
            geom=_multi(union),
            geometry_source=f"union of its communes by GSO code; {GEOMETRY_OLD}",
        )
        for c in d["communes"]:
            notes = [GEOMETRY_OLD]
            notes += [
                f"absorbed {name} (merged away before 2025)"
                for name, code in absorbed.items()
                if code == c["gso_code"]
            ]
            old_communes[c["gso_code"]] = _upsert(
                code=c["gso_code"],
                valid_from=None,
                valid_to=OLD_VALID_TO,
                name=c["full_name"],
                name_en=c["name_en"],
                level=AdminLevel.COMMUNE,
                parent=districts[d["gso_code"]],
                geom=polygons[c["gso_code"]],
                geometry_source="; ".join(notes),
            )

    new_names = {c["gso_code"]: c for c in codes["communes_from_2025_07_01"]}
    crosswalk = 0
    for entry in codes["crosswalk_2025"]:
        info = new_names[entry["new_commune_code"]]
        parts = [old_communes[m["old_commune_code"]] for m in entry["merged_from"]]
        union = AdminUnit.objects.filter(pk__in=[p.pk for p in parts]).aggregate(u=Union("geom"))["u"]
        new = _upsert(
            code=info["gso_code"],
            valid_from=NEW_VALID_FROM,
            valid_to=None,
            name=info["full_name"],
            name_en=info["name_en"],
            level=AdminLevel.COMMUNE,
            parent=province,
            geom=_multi(union),
            geometry_source=f"dissolve of {len(parts)} old communes along the 2025 crosswalk; {GEOMETRY_OLD}",
        )
        for part in parts:
            CrosswalkLink.objects.update_or_create(
                old_unit=part,
                defaults={"new_unit": new, "effective": NEW_VALID_FROM, "legal_basis": LEGAL_BASIS_2025},
            )
            crosswalk += 1
        for year in DBKK_YEARS:
            UnitStatistic.objects.update_or_create(
                unit=new,
                year=year,
                indicator=StatIndicator.EXTREMELY_DIFFICULT,
                defaults={"value": 1.0 if info["xa_dbkk_2026_2030"] else 0.0, "source": DBKK_SOURCE},
            )

    return LoadSummary(
        province=1,
        districts=len(districts),
        communes_old=len(old_communes),
        communes_new=len(codes["crosswalk_2025"]),
        crosswalk=crosswalk,
        absorbed=absorbed,
    )
