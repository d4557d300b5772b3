"""Incidents API: single records for those allowed; public aggregates always suppressed."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.params import bool_param, choice_param, date_param, float_param, reject_unknown_params
from core.serializers import to_point
from inspections.scoping import profile_of, sees_everything
from places.models import AdminUnit

from .aggregates import aggregate_table
from .hotspots import hotspot_confirm, incident_clusters, routes_near_water_for, suggested_hotspots
from .models import IncidentKind
from .privacy import reads_single_records
from .selectors import CATEGORY_FIELDS, incident_list
from .serializers import (
    HotspotConfirmSerializer,
    IncidentSerializer,
    IncidentWriteSerializer,
    LinkSiteSerializer,
)
from .services import incident_link_site, incident_record


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
        if self.action == "routes_near_water":
            return [IsAuthenticated()]
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
        location = to_point(d.get("location"))
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

    def _cluster_params(self, source) -> dict:
        """Clustering parameters from the query or the body; bad values are 400s naming them."""
        params = {}
        for name, cast in (("eps_m", float), ("min_incidents", int), ("years", float)):
            if source.get(name) not in (None, ""):
                try:
                    params[name] = cast(source.get(name))
                except (TypeError, ValueError):
                    raise ValidationError(
                        {name: [_("expected a number, got '%(v)s'") % {"v": source.get(name)}]}
                    ) from None
        if source.get("kind"):
            params["kinds"] = [k for k in str(source.get("kind")).split(",") if k]
        return params

    def _reader_area(self):
        profile = profile_of(self.request.user)
        return None if sees_everything(self.request.user) or profile is None else profile.area

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "eps_m", OpenApiTypes.NUMBER, description="cluster radius in metres (default 500)"
            ),
            OpenApiParameter("min_incidents", OpenApiTypes.INT, description="default 2"),
            OpenApiParameter("years", OpenApiTypes.NUMBER, description="time window in years (default 3)"),
            OpenApiParameter("kind", OpenApiTypes.STR, description="incident kinds, comma-separated"),
            OpenApiParameter("suggested", OpenApiTypes.BOOL, description="only clusters with no site nearby"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def hotspots(self, request):
        """Clusters of incidents in space and time (ST_ClusterDBSCAN in metres) in the reader's area."""
        reject_unknown_params(request, {"eps_m", "min_incidents", "years", "kind", "suggested"})
        params = self._cluster_params(request.query_params)
        finder = suggested_hotspots if bool_param(request, "suggested") else incident_clusters
        return Response([c.as_dict() for c in finder(area=self._reader_area(), **params)])

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT}
    )
    @action(detail=False, methods=["post"], url_path=r"hotspots/(?P<cluster_id>c[0-9a-f]+)/confirm")
    def confirm_hotspot(self, request, cluster_id=None):
        """One click: the suggested hotspot becomes a site, routed to its agency; its incidents are linked."""
        form = HotspotConfirmSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        site = hotspot_confirm(
            user=request.user,
            cluster_id=cluster_id,
            name=data["name"],
            water_type=data["water_type"],
            shape=data["shape"],
            force=data["force"],
            **self._cluster_params(data),
        )
        return Response(
            {
                "site": site.pk,
                "name": site.name,
                "kind": site.kind,
                "agency": site.agency.code if site.agency else None,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[OpenApiParameter("distance_m", OpenApiTypes.NUMBER, description="default 100")],
        responses={200: {"type": "array", "items": {"type": "object"}}},
    )
    @action(detail=False, methods=["get"], url_path="routes-near-water", permission_classes=[IsAuthenticated])
    def routes_near_water(self, request):
        """School routes passing within the distance of a drowning hotspot, or crossing one."""
        reject_unknown_params(request, {"distance_m"})
        distance = float_param(request, "distance_m", 100.0, minimum=1, maximum=5000)
        return Response(routes_near_water_for(user=request.user, distance_m=distance))

    def get_serializer_class(self):
        if self.request.method not in SAFE_METHODS and self.action == "create":
            return IncidentWriteSerializer
        return IncidentSerializer
