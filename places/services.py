"""Writes of sites: validate per kind, resolve the commune once, store."""

from django.contrib.gis.geos import GEOSGeometry
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Site, SiteStatus
from .selectors import unit_ids_at
from .validation import SiteInvalid, clean_attributes, clean_geometry, clean_kind


def _commune_id(geom: GEOSGeometry) -> int:
    commune_id = unit_ids_at(geoms=[geom])[0]
    if commune_id is None:
        raise SiteInvalid({"geometry": [_("outside the province")]})
    return commune_id


@transaction.atomic
def site_create(
    *,
    user=None,
    kind: str,
    name: str,
    geom: GEOSGeometry,
    attributes: dict | None = None,
    description: str = "",
    status: str = SiteStatus.ACTIVE,
    source: str = "manual",
    external_id: str = "",
    make_valid: bool = False,
) -> Site:
    kind = clean_kind(kind)
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = [_("required")]
    try:
        geom = clean_geometry(kind, geom, make_valid=make_valid)
        commune_id = _commune_id(geom)
    except SiteInvalid as exc:
        errors.update(exc.errors)
    try:
        attributes = clean_attributes(kind, attributes)
    except SiteInvalid as exc:
        errors.update(exc.errors)
    if status not in SiteStatus.values:
        errors["status"] = [_("unknown status '%(status)s'") % {"status": status}]
    if errors:
        raise SiteInvalid(errors)
    site = Site(
        kind=kind,
        name=name.strip(),
        geom=geom,
        attributes=attributes,
        description=description,
        status=status,
        source=source,
        external_id=external_id,
        commune_id=commune_id,
        created_by=user,
        updated_by=user,
    )
    site.save()
    # The database's routing trigger (inspections) fills in the agency.
    site.refresh_from_db(fields=["agency"])
    return site


@transaction.atomic
def site_update(*, site: Site, user=None, make_valid: bool = False, **changes) -> Site:
    """Change some fields of a site; geometry and kind changes re-resolve the commune."""
    allowed = {"kind", "name", "geom", "attributes", "description", "status", "source", "external_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise SiteInvalid({name: [_("cannot be changed")] for name in sorted(unknown)})
    kind = clean_kind(changes.get("kind", site.kind))
    errors: dict[str, list[str]] = {}
    if "name" in changes and not (changes["name"] or "").strip():
        errors["name"] = [_("required")]
    geom = changes.get("geom", site.geom)
    if "geom" in changes or kind != site.kind:
        try:
            geom = clean_geometry(kind, geom, make_valid=make_valid)
            site.commune_id = _commune_id(geom)
        except SiteInvalid as exc:
            errors.update(exc.errors)
    attributes = changes.get("attributes", site.attributes)
    try:
        attributes = clean_attributes(kind, attributes)
    except SiteInvalid as exc:
        errors.update(exc.errors)
    status = changes.get("status", site.status)
    if status not in SiteStatus.values:
        errors["status"] = [_("unknown status '%(status)s'") % {"status": status}]
    if errors:
        raise SiteInvalid(errors)
    site.kind, site.geom, site.attributes, site.status = kind, geom, attributes, status
    for name in ("name", "description", "source", "external_id"):
        if name in changes:
            setattr(site, name, (changes[name] or "").strip())
    site.updated_by = user
    site.save()
    site.refresh_from_db(fields=["length_m", "agency"])
    return site


def site_delete(*, site: Site, user=None) -> None:
    site.delete()
