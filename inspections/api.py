"""Thin API views of inspections: parse input, call one selector or service, serialise."""

from urllib.parse import unquote

from django.db.models import F
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.params import bool_param, choice_param, int_param, reject_unknown_params
from core.serializers import to_point
from places.filters import SiteFilter
from places.models import AdminUnit
from places.selectors import site_list

from .errors import NotAllowed
from .models import ActionStatus, AssignmentStatus, ChecklistTemplate
from .selectors import action_list, assignment_list, inspection_list
from .serializers import (
    AgencySerializer,
    AssignmentCreateSerializer,
    AssignmentSerializer,
    AssignmentUpdateSerializer,
    ChecklistTemplateSerializer,
    CorrectiveActionSerializer,
    HistorySerializer,
    InspectionSerializer,
    InspectionSubmitSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    ReportDoneSerializer,
)
from .services import (
    AnswerIn,
    agencies_in_force,
    assignment_create,
    assignment_update,
    corrective_action_report_done,
    inspection_photo_add,
    inspection_submit,
)

CLIENT_USER_HEADER = OpenApiParameter(
    "X-Client-User",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="who saved this send on the phone (offline queue), percent-encoded; "
    "another logged-in user gets a 403",
)


def check_sender(request) -> None:
    """A phone's queued send names the user who saved it (X-Client-User); on a phone shared by two
    inspectors it must not be stored under whoever happens to be logged in now."""
    # Percent-encoded by the phone: user names may hold letters a header cannot carry.
    saved_by = unquote(request.headers.get("X-Client-User", ""))
    if saved_by and saved_by != request.user.get_username():
        raise NotAllowed(
            {
                "client_user": [
                    _("saved on this phone by %(saved)s, but %(current)s is logged in: nothing was stored")
                    % {"saved": saved_by, "current": request.user.get_username()}
                ]
            }
        )


def area_param(request):
    """`area=<GSO code>`: a commune in force today, or a district / commune of before 01/07/2025."""
    code = request.query_params.get("area")
    if code is None:
        return None
    unit = (
        AdminUnit.objects.filter(code=code, level__in=["district", "commune"])
        .order_by(F("valid_to").desc(nulls_first=True))
        .first()
    )
    if unit is None:
        raise ValidationError({"area": [_("no district or commune with code '%(code)s'") % {"code": code}]})
    return unit


class AgencyViewSet(viewsets.ReadOnlyModelViewSet):
    """Agencies in force today (or all with ?all=true): who answers for what."""

    serializer_class = AgencySerializer
    permission_classes = [AllowAny]
    pagination_class = None

    def get_queryset(self):
        from .models import Agency

        reject_unknown_params(self.request, {"all"})
        qs = Agency.objects.select_related("area")
        return qs if bool_param(self.request, "all") else agencies_in_force().select_related("area")


class ChecklistViewSet(viewsets.ReadOnlyModelViewSet):
    """Checklist templates with their items; the current version per kind unless ?all=true."""

    serializer_class = ChecklistTemplateSerializer
    permission_classes = [AllowAny]
    pagination_class = None

    def get_queryset(self):
        reject_unknown_params(self.request, {"all", "site_kind"})
        qs = ChecklistTemplate.objects.prefetch_related("items")
        if not bool_param(self.request, "all"):
            qs = qs.filter(is_current=True)
        kind = self.request.query_params.get("site_kind")
        if kind:
            qs = qs.filter(site_kind=kind)
        return qs


class HistoryMixin:
    @extend_schema(responses=HistorySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, *args, **kwargs):
        """Who changed what and when."""
        obj = self.get_object()
        records = obj.history.select_related("history_user").order_by("-history_date", "-history_id")
        return Response(HistorySerializer(records, many=True).data)


class AssignmentViewSet(
    HistoryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Assignments of sites to inspect, scoped to the user's agency or area."""

    serializer_class = AssignmentSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        request = self.request
        if self.action == "list":
            reject_unknown_params(request, {"mine", "overdue", "status", "site", "page", "page_size"})
        return assignment_list(
            user=request.user,
            mine=bool_param(request, "mine"),
            overdue=bool_param(request, "overdue"),
            status=choice_param(request, "status", AssignmentStatus.values),
            site_id=int_param(request, "site", 0, minimum=1) or None
            if "site" in request.query_params
            else None,
        ).order_by("due_date", "id")

    @extend_schema(request=AssignmentCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    def create(self, request):
        """Assign sites (ids, or every active site of your agency matching a filter) with a due date."""
        form = AssignmentCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "filter" in data:
            query = {k: v for k, v in data["filter"].items() if v}
            filterset = SiteFilter(data=query, queryset=site_list(user=request.user).filter(status="active"))
            try:
                if not filterset.is_valid():
                    raise ValidationError(filterset.errors)
                sites = filterset.qs
            except ValidationError as exc:
                raise ValidationError({"filter": exc.detail}) from exc
        else:
            sites = data["sites"]
        result = assignment_create(
            manager=request.user,
            sites=sites,
            inspector=data.get("inspector"),
            due_date=data["due_date"],
            priority=data["priority"],
            round_name=data["round_name"],
            note=data["note"],
        )
        return Response(
            {
                "created": AssignmentSerializer(result.created, many=True).data,
                "skipped_already_open": result.skipped_open,
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=AssignmentUpdateSerializer, responses=AssignmentSerializer)
    def partial_update(self, request, pk=None):
        assignment = self.get_object()
        form = AssignmentUpdateSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        updated = assignment_update(user=request.user, assignment=assignment, **form.validated_data)
        return Response(AssignmentSerializer(updated).data)


class InspectionViewSet(
    HistoryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Inspections. POST is idempotent by the client's UUID: resending returns the stored one."""

    serializer_class = InspectionSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "client_uuid"
    filter_backends = []

    def get_queryset(self):
        request = self.request
        if self.action == "list":
            reject_unknown_params(request, {"mine", "site", "page", "page_size"})
        qs = inspection_list(
            user=request.user,
            mine=bool_param(request, "mine"),
            site_id=int_param(request, "site", 0, minimum=1) or None
            if "site" in request.query_params
            else None,
        )
        return qs.prefetch_related("answers__item", "photos__item")

    @extend_schema(
        request=InspectionSubmitSerializer,
        parameters=[CLIENT_USER_HEADER],
        responses={
            201: InspectionSerializer,
            200: InspectionSerializer,
            403: OpenApiResponse(description="not an inspector; or saved on the phone by another user"),
            409: OpenApiResponse(description="same UUID, other content; or the assignment was cancelled"),
        },
    )
    def create(self, request):
        check_sender(request)
        form = InspectionSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        position = to_point(d.get("position"))
        submitted = inspection_submit(
            user=request.user,
            client_uuid=d["client_uuid"],
            site_id=d["site"],
            assignment_id=d.get("assignment"),
            template_version=d.get("template_version"),
            performed_at=d["performed_at"],
            position=position,
            gps_accuracy_m=d.get("gps_accuracy_m"),
            findings=d["findings"],
            answers=[AnswerIn(item=a["item"], value=a["value"], note=a["note"]) for a in d["answers"]],
        )
        # Read back through the scoped selector, with answers and photos, for the response.
        inspection = (
            inspection_list(user=request.user)
            .prefetch_related("answers__item", "photos__item")
            .get(pk=submitted.inspection.pk)
        )
        return Response(
            InspectionSerializer(inspection).data,
            status=status.HTTP_201_CREATED if submitted.created else status.HTTP_200_OK,
        )

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        parameters=[CLIENT_USER_HEADER],
        responses={
            201: PhotoSerializer,
            200: PhotoSerializer,
            403: OpenApiResponse(description="not the inspection's inspector; or saved by another user"),
        },
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, client_uuid=None):
        """Add one photo (JPEG or PNG); resending the same photo stores nothing new."""
        check_sender(request)
        inspection = self.get_object()
        form = PhotoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["photo"]
        added = inspection_photo_add(
            user=request.user,
            inspection=inspection,
            data=upload.read(),
            filename=upload.name,
            item_code=form.validated_data.get("item") or None,
        )
        return Response(
            PhotoSerializer(added.photo).data,
            status=status.HTTP_201_CREATED if added.created else status.HTTP_200_OK,
        )


@extend_schema(
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=ActionStatus.values),
        OpenApiParameter("overdue", OpenApiTypes.BOOL),
        OpenApiParameter("agency", OpenApiTypes.STR, description="agency code"),
        OpenApiParameter(
            "area", OpenApiTypes.STR, description="GSO code of a commune (today's) or an old district"
        ),
        OpenApiParameter("site", OpenApiTypes.INT),
    ]
)
class CorrectiveActionViewSet(
    HistoryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Corrective actions opened by failed items, until a later inspection verifies them."""

    serializer_class = CorrectiveActionSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        request = self.request
        if self.action == "list":
            reject_unknown_params(
                request, {"status", "overdue", "agency", "area", "site", "page", "page_size"}
            )
        return action_list(
            user=request.user,
            status=choice_param(request, "status", ActionStatus.values),
            overdue=bool_param(request, "overdue"),
            agency_code=request.query_params.get("agency"),
            area=area_param(request),
            site_id=int_param(request, "site", 0, minimum=1) or None
            if "site" in request.query_params
            else None,
        )

    @extend_schema(request=ReportDoneSerializer, responses=CorrectiveActionSerializer)
    @action(detail=True, methods=["post"], url_path="report-done")
    def report_done(self, request, pk=None):
        form = ReportDoneSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        done = corrective_action_report_done(
            user=request.user, action=self.get_object(), note=form.validated_data["note"]
        )
        return Response(CorrectiveActionSerializer(done).data)
