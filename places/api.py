"""Thin API views of places: parse and check input, call a selector or service, serialise."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.gis.db.models.functions import GeometryDistance, Transform
from django.db.models import F
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework_gis.fields import GeometryField

from core.functions import Multi, SimplifyPreserveTopology
from core.params import choice_param, int_param, reject_unknown_params
from core.parsers import NestingSafeJSONParser
from inspections.scoping import can_edit_sites

from .exporter import EXPORT_FORMATS, ExportError, export_sites
from .filters import AdminUnitFilter, SiteFilter, StrictBBoxFilter, parse_near
from .geojson import site_features_json
from .importer import ImportFileError, import_sites
from .models import AdminLevel, AdminUnit, Site
from .selectors import admin_unit_list, site_list
from .serializers import AdminUnitSerializer, SiteSerializer
from .services import site_create, site_delete, site_update
from .validation import SiteInvalid

MAX_PAGE_SIZE = 10_000
DEFAULT_PAGE_SIZE = 500


@extend_schema_field({"type": "object", "description": "GeoJSON MultiPolygon, simplified when asked"})
class BoundaryField(GeometryField):
    pass


class SimplifiedAdminUnitSerializer(AdminUnitSerializer):
    geom = BoundaryField(source="geom_out", read_only=True)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "simplify", OpenApiTypes.INT, description="Simplify boundaries to this tolerance in metres"
        ),
    ]
)
class AdminUnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Administrative units of both structures as GeoJSON; filter by level, parent, valid_on."""

    serializer_class = SimplifiedAdminUnitSerializer
    filterset_class = AdminUnitFilter
    pagination_class = None
    lookup_field = "pk"
    allowed_params = {"level", "parent", "valid_on", "code", "simplify"}

    def get_queryset(self):
        qs = admin_unit_list()
        tolerance = int_param(self.request, "simplify", 0, minimum=0, maximum=50_000)
        if not tolerance:
            return qs.annotate(geom_out=F("geom"))
        # Metres in UTM 48N, never degrees.
        return qs.annotate(
            geom_out=Transform(
                Multi(SimplifyPreserveTopology(Transform("geom", settings.METRIC_SRID), tolerance)), 4326
            )
        )

    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, self.allowed_params)
        # django-filter reads an empty level as "no filter"; the schema (an enum) says it is wrong.
        choice_param(request, "level", AdminLevel.values)
        return super().list(request, *args, **kwargs)


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    source = serializers.CharField(max_length=100, required=False)
    dry_run = serializers.BooleanField(required=False, default=False)
    make_valid = serializers.BooleanField(required=False, default=False)
    kind = serializers.CharField(required=False, help_text="Kind for files without a kind column")


# The members of a GeoJSON Feature we read; anything else is a mistake to report, not drop.
FEATURE_MEMBERS = {"type", "id", "geometry", "properties", "bbox"}


def feature_data(data, serializer):
    """The request body as the site serializer reads it; unknown names are refused.

    drf-gis reads a Feature only when it has "properties", and ignores names it does not know:
    a PATCH of {"type": "Feature", "geometry": …} or a misspelt property used to answer 200 and
    change nothing. Read-only properties (as a GET returns them) are accepted and ignored.
    """
    if not isinstance(data, dict):
        return data  # a form post (QueryDict) or a non-object: the serializer reports it
    known = set(serializer.fields) | {"geom"}
    if "properties" in data or "geometry" in data or data.get("type") == "Feature":
        errors = {
            name: [_("unknown member of a GeoJSON Feature (expected type, geometry, properties)")]
            for name in sorted(set(data) - FEATURE_MEMBERS, key=str)
        }
        props = data.get("properties", {})
        if isinstance(props, dict):
            for name in sorted(set(props) - known - {"id"}, key=str):
                errors[f"properties.{name}"] = [
                    _("unknown property (expected: %(names)s)")
                    % {"names": ", ".join(sorted(serializer.fields))}
                ]
        if errors:
            raise ValidationError(errors)
        return {**data, "properties": props}
    unknown = sorted(set(data) - known - {"id", "type"}, key=str)
    if unknown:
        raise ValidationError(
            {
                name: [_("unknown field (send a GeoJSON Feature with type, geometry, properties)")]
                for name in unknown
            }
        )
    return data


class CanEditSites(BasePermission):
    """Reads for everyone (scoped by the selectors); writes for agency staff and the coordinator."""

    message = _("your role does not allow editing sites")

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or can_edit_sites(request.user)


class SiteViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Mapped sites as GeoJSON. The list is built in PostGIS; writes need login."""

    serializer_class = SiteSerializer
    permission_classes = [CanEditSites]
    parser_classes = [NestingSafeJSONParser, FormParser, MultiPartParser]
    filterset_class = SiteFilter
    filter_backends = [StrictBBoxFilter, *viewsets.GenericViewSet.filter_backends]
    bbox_filter_field = "geom"
    bbox_filter_include_overlapping = True
    list_params = {
        "agency",
        "kind",
        "status",
        "commune",
        "district",
        "q",
        "source",
        "bbox",
        "near",
        "page",
        "page_size",
    }

    def get_queryset(self):
        return site_list(user=self.request.user).select_related("commune")

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", OpenApiTypes.STR, description="min_lon,min_lat,max_lon,max_lat"),
            OpenApiParameter("near", OpenApiTypes.STR, description="lon,lat: nearest first, with distance_m"),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT, description=f"1…{MAX_PAGE_SIZE}"),
        ],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT},
        operation_id="v1_sites_list",
    )
    def list(self, request, *args, **kwargs):
        reject_unknown_params(request, self.list_params)
        page = int_param(request, "page", 1, minimum=1)
        page_size = int_param(request, "page_size", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        near = parse_near(request)
        qs = self.filter_queryset(self.get_queryset())
        # GeometryDistance is the index-backed <-> operator: nearest first.
        qs = qs.order_by(GeometryDistance("geom", near), "id") if near is not None else qs.order_by("id")
        count = qs.count()
        pages = max(1, -(-count // page_size))
        if page > pages:
            raise ValidationError(
                {
                    "page": [
                        _("page %(page)s is past the last page (%(pages)s)") % {"page": page, "pages": pages}
                    ]
                }
            )
        ids = list(qs.values_list("id", flat=True)[(page - 1) * page_size : page * page_size])
        features = site_features_json(ids, near=near)

        def link(n):
            if n < 1 or n > pages:
                return "null"
            query = request.GET.copy()
            query["page"] = n
            return '"' + request.build_absolute_uri(request.path + "?" + query.urlencode()) + '"'

        body = (
            f'{{"type":"FeatureCollection","count":{count},"next":{link(page + 1)},'
            f'"previous":{link(page - 1)},"features":{features}}}'
        )
        return HttpResponse(body, content_type="application/geo+json")

    def _write(self, serializer, site=None):
        data = dict(serializer.validated_data)
        make_valid = data.pop("make_valid", False)
        try:
            if site is None:
                return site_create(user=self.request.user, make_valid=make_valid, **data)
            return site_update(site=site, user=self.request.user, make_valid=make_valid, **data)
        except SiteInvalid as exc:
            raise ValidationError(exc.errors) from exc

    @staticmethod
    def _check(serializer) -> None:
        # Name the GeoJSON member ("geometry"), as the services do, not the model field.
        if not serializer.is_valid():
            errors = dict(serializer.errors)
            if "geom" in errors:
                errors["geometry"] = errors.pop("geom")
            raise ValidationError(errors)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=feature_data(request.data, self.get_serializer()))
        self._check(serializer)
        site = self._write(serializer)
        return Response(self.get_serializer(site).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        site = self.get_object()
        data = feature_data(request.data, self.get_serializer())
        serializer = self.get_serializer(site, data=data, partial=kwargs.get("partial", False))
        self._check(serializer)
        site = self._write(serializer, site)
        return Response(self.get_serializer(site).data)

    def perform_destroy(self, instance):
        site_delete(site=instance, user=self.request.user)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer}, responses={200: OpenApiTypes.OBJECT}
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        permission_classes=[CanEditSites],
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request):
        """Upload GeoJSON, GeoPackage, zipped Shapefile or CSV; every rejected row is listed."""
        form = ImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        suffix = Path(upload.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            try:
                report = import_sites(
                    path=path,
                    filename=upload.name,
                    source=form.validated_data.get("source") or f"upload:{upload.name}",
                    user=request.user,
                    dry_run=form.validated_data["dry_run"],
                    make_valid=form.validated_data["make_valid"],
                    default_kind=form.validated_data.get("kind"),
                )
            except ImportFileError as exc:
                raise ValidationError({"file": [str(exc)]}) from exc
        return Response(report.to_dict())

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=[*EXPORT_FORMATS])],
        responses={
            (200, "application/geo+json"): OpenApiTypes.OBJECT,
            (200, "application/geopackage+sqlite3"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        """The filtered site set as GeoJSON, GeoPackage or CSV (same filters as the list)."""
        reject_unknown_params(request, (self.list_params - {"page", "page_size", "near"}) | {"format"})
        fmt = request.query_params.get("format", "geojson")
        if fmt not in EXPORT_FORMATS:
            raise ValidationError(
                {
                    "format": [
                        _("unknown format '%(fmt)s' (expected: %(allowed)s)")
                        % {"fmt": fmt, "allowed": ", ".join(EXPORT_FORMATS)}
                    ]
                }
            )
        qs = self.filter_queryset(self.get_queryset()).order_by("id")
        try:
            content, content_type, filename = export_sites(qs, fmt)
        except ExportError as exc:
            # ogr2ogr missing or failing is the server's problem, not the request's.
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


__all__ = ["AdminUnitViewSet", "SiteViewSet", "AdminUnit", "Site"]
