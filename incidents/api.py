"""Incidents API: single records for those allowed; public aggregates always suppressed."""

from datetime import date

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.params import reject_unknown_params
from inspections.scoping import sees_everything
from places.models import AdminUnit

from .aggregates import aggregate_table
from .models import IncidentKind
from .privacy import reads_single_records
from .selectors import CATEGORY_FIELDS, incident_list
from .serializers import IncidentSerializer, IncidentWriteSerializer, LinkSiteSerializer
from .services import incident_link_site, incident_record


def date_param(request, name: str) -> date | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {name: [_("expected a date YYYY-MM-DD, got '%(value)s'") % {"value": text}]}
        ) from None


def choice_param(request, name: str, choices, default=None):
    value = request.query_params.get(name, default)
    if value is not None and value not in choices:
        raise ValidationError(
            {
                name: [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": value, "allowed": ", ".join(choices)}
                ]
            }
        )
    return value


class ReadsSingleRecords(BasePermission):
    message = _("single incident records are for the coordinator and the area's leaders; use the aggregates")

    def has_permission(self, request, view):
        return reads_single_records(request.user)


class IncidentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Child injury incidents (no names or identifiers, ever)."""

    serializer_class = IncidentSerializer
    permission_classes = [IsAuthenticated, ReadsSingleRecords]
    filter_backends = []

    def get_permissions(self):
        if self.action == "aggregates":
            return [AllowAny()]
        return super().get_permissions()

    def get_queryset(self):
        request = self.request
        if self.action == "list":
            reject_unknown_params(request, {"from", "to", "kind", "commune", "page", "page_size"})
        commune = None
        if request.query_params.get("commune"):
            code = request.query_params["commune"]
            commune = AdminUnit.objects.filter(level="commune", code=code).order_by("-valid_from").first()
            if commune is None:
                raise ValidationError({"commune": [_("no commune with code '%(code)s'") % {"code": code}]})
        return incident_list(
            user=request.user,
            date_from=date_param(request, "from"),
            date_to=date_param(request, "to"),
            kind=choice_param(request, "kind", IncidentKind.values),
            commune=commune,
        )

    @extend_schema(
        request=IncidentWriteSerializer, responses={201: IncidentSerializer, 200: IncidentSerializer}
    )
    def create(self, request):
        """Record an incident; the same source and report number updates it (retries never duplicate)."""
        form = IncidentWriteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        location = Point(d["location"]["lon"], d["location"]["lat"], srid=4326) if d.get("location") else None
        recorded = incident_record(
            user=request.user,
            kind=d["kind"],
            day=d["date"],
            time_of_day=d.get("time"),
            location=location,
            commune_code=d.get("commune") or None,
            age_band=d["age_band"],
            sex=d["sex"],
            outcome=d["outcome"],
            circumstances=d["circumstances"],
            source=d["source"],
            reference=d["reference"],
            linked_site_id=d.get("linked_site"),
        )
        if not incident_list(user=request.user).filter(pk=recorded.incident.pk).exists():
            # Recorded outside the reader's own area: stored, but not shown back.
            return Response(
                {"id": recorded.incident.pk, "created": recorded.created},
                status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
            )
        return Response(
            IncidentSerializer(recorded.incident).data,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )

    @extend_schema(request=LinkSiteSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="link-site")
    def link_site(self, request, pk=None):
        """Correct the linked site by hand (null: back to the nearest matching site within 300 m)."""
        form = LinkSiteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        incident = incident_link_site(
            user=request.user, incident=self.get_object(), site_id=form.validated_data["linked_site"]
        )
        return Response(IncidentSerializer(incident).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.STR, enum=["commune", "district", "province"]),
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(CATEGORY_FIELDS)),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=IncidentKind.values),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def aggregates(self, request):
        """Counts per unit and category; small numbers hidden for everyone but the coordinator."""
        reject_unknown_params(request, {"level", "by", "from", "to", "kind"})
        table = aggregate_table(
            level=choice_param(request, "level", ["commune", "district", "province"], "commune"),
            by=choice_param(request, "by", list(CATEGORY_FIELDS), "kind"),
            date_from=date_param(request, "from"),
            date_to=date_param(request, "to"),
            kind=choice_param(request, "kind", IncidentKind.values),
            suppressed=not sees_everything(request.user),
        )
        return Response(table)

    def get_serializer_class(self):
        if self.request.method not in SAFE_METHODS and self.action == "create":
            return IncidentWriteSerializer
        return IncidentSerializer
