"""Query parameters of the places API: each bad value is a 400 naming its parameter."""

import math

import django_filters
from django.contrib.gis.geos import Point, Polygon
from django.db.models import Q
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework_gis.filters import InBBoxFilter

from .kinds import KINDS
from .models import AdminLevel, AdminUnit, Site, SiteStatus
from .selectors import today


def parse_lonlat_list(param: str, text: str, count: int) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationError(
            {
                param: [
                    _("expected %(count)s comma-separated numbers, got '%(text)s'")
                    % {"count": count, "text": text}
                ]
            }
        )
    for lon, lat in zip(values[0::2], values[1::2], strict=True):
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError(
                {param: [_("longitude must be within −180…180 and latitude within −90…90")]}
            )
    return values


class StrictBBoxFilter(InBBoxFilter):
    """drf-gis InBBoxFilter on `bbox=min_lon,min_lat,max_lon,max_lat`, with range checks."""

    bbox_param = "bbox"

    def get_filter_bbox(self, request):
        text = request.query_params.get(self.bbox_param)
        if text is None:
            return None
        xmin, ymin, xmax, ymax = parse_lonlat_list(self.bbox_param, text, 4)
        if xmin >= xmax or ymin >= ymax:
            raise ValidationError(
                {self.bbox_param: [_("min must be below max: min_lon,min_lat,max_lon,max_lat")]}
            )
        return Polygon.from_bbox((xmin, ymin, xmax, ymax))


class CommaChoiceFilter(django_filters.CharFilter):
    """`kind=school,village`: every item must be a known choice."""

    def __init__(self, *args, choices=(), **kwargs):
        self.allowed = tuple(choices)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in self.allowed]
        if bad:
            raise ValidationError(
                {
                    self.field_name: [
                        _("unknown value(s) %(bad)s (expected: %(allowed)s)")
                        % {"bad": ", ".join(bad), "allowed": ", ".join(self.allowed)}
                    ]
                }
            )
        return qs.filter(**{f"{self.field_name}__in": items})


class SiteFilter(django_filters.FilterSet):
    kind = CommaChoiceFilter(field_name="kind", choices=KINDS.keys(), help_text="Kinds, comma-separated")
    status = django_filters.ChoiceFilter(choices=SiteStatus.choices)
    commune = django_filters.CharFilter(
        method="filter_commune", help_text="GSO code of a commune in force today"
    )
    district = django_filters.CharFilter(
        method="filter_district",
        help_text="GSO code of a district (structure until 30/06/2025): sites inside it",
    )
    agency = django_filters.CharFilter(method="filter_agency", help_text="Code of the responsible agency")
    q = django_filters.CharFilter(
        method="filter_text", help_text="Text in the name, description or external id"
    )
    source = django_filters.CharFilter()

    class Meta:
        model = Site
        fields = ["kind", "status", "commune", "district", "agency", "q", "source"]

    def filter_commune(self, qs, name, value):
        codes = [c.strip() for c in value.split(",") if c.strip()]
        units = list(AdminUnit.objects.valid_on(today()).filter(level=AdminLevel.COMMUNE, code__in=codes))
        missing = set(codes) - {u.code for u in units}
        if missing:
            raise ValidationError(
                {
                    "commune": [
                        _("no commune in force today with code(s) %(codes)s")
                        % {"codes": ", ".join(sorted(missing))}
                    ]
                }
            )
        return qs.filter(commune__in=units)

    def filter_district(self, qs, name, value):
        district = AdminUnit.objects.filter(level=AdminLevel.DISTRICT, code=value.strip()).first()
        if district is None:
            raise ValidationError({"district": [_("no district with code '%(code)s'") % {"code": value}]})
        # Districts were abolished on 01/07/2025; sites store today's commune, so the
        # old district is matched spatially (index-backed) on its boundary.
        return qs.filter(geom__intersects=district.geom)

    def filter_agency(self, qs, name, value):
        from inspections.models import Agency  # inspections builds on places

        agency = Agency.objects.filter(code=value.strip()).first()
        if agency is None:
            raise ValidationError({"agency": [_("no agency with code '%(code)s'") % {"code": value}]})
        return qs.filter(agency=agency)

    def filter_text(self, qs, name, value):
        value = value.strip()
        return qs.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(external_id__icontains=value)
        )


class AdminUnitFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=AdminLevel.choices)
    parent = django_filters.CharFilter(method="filter_parent", help_text="GSO code of the parent unit")
    valid_on = django_filters.CharFilter(
        method="filter_valid_on", help_text="YYYY-MM-DD: units in force that day"
    )
    code = django_filters.CharFilter()

    class Meta:
        model = AdminUnit
        fields = ["level", "parent", "valid_on", "code"]

    def filter_parent(self, qs, name, value):
        if not AdminUnit.objects.filter(code=value).exists():
            raise ValidationError({"parent": [_("no unit with code '%(code)s'") % {"code": value}]})
        return qs.filter(parent__code=value)

    def filter_valid_on(self, qs, name, value):
        try:
            day = parse_date(value)
        except ValueError:  # well formed but impossible, e.g. 2025-02-30
            day = None
        if day is None:
            raise ValidationError(
                {"valid_on": [_("expected a date YYYY-MM-DD, got '%(value)s'") % {"value": value}]}
            )
        return qs.valid_on(day)


def parse_near(request) -> Point | None:
    text = request.query_params.get("near")
    if text is None:
        return None
    lon, lat = parse_lonlat_list("near", text, 2)
    return Point(lon, lat, srid=4326)
