"""Planning API: access per commune, the priority ranking with adjustable weights, and
"where to build". Thin views over planning.analysis (scoped by planning.scope: planners
and coordinators the province, an area leader his area, others 403).

`?format=csv|xlsx` on /priority/ and /siting/ returns the file, parameters written in it."""

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.params import choice_param, float_param, reject_unknown_params
from core.serializers import LonLatSerializer

from . import analysis
from .access import commune_access, distance_method
from .exports import FORMATS
from .priority import DEFAULT_WEIGHTS
from .scope import planning_scope

WEIGHT_PARAMS = {f"w_{name}": name for name in DEFAULT_WEIGHTS}
FORMAT_PARAM = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", *FORMATS], description="default json"
)


def file_response(content: bytes, content_type: str, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


class SitingRequestSerializer(serializers.Serializer):
    budget = serializers.IntegerField(min_value=1, max_value=1000)
    threshold_m = serializers.FloatField(min_value=1, max_value=50_000, default=1000)
    only_extremely_difficult = serializers.BooleanField(default=False)
    candidates = LonLatSerializer(
        many=True,
        required=False,
        allow_empty=False,
        help_text="Candidate points; the villages themselves when omitted",
    )


class PlanningViewSet(viewsets.ViewSet):
    """Aggregates per commune (no single child or family appears)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("threshold_m", OpenApiTypes.NUMBER, description="default 1000")],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def access(self, request):
        """Children within walking distance of a playground, per commune in force today."""
        scope = planning_scope(request.user)
        reject_unknown_params(request, {"threshold_m"})
        threshold = float_param(request, "threshold_m", 1000.0, minimum=1, maximum=50_000)
        rows = commune_access(threshold_m=threshold, villages=scope.villages())
        method = rows[0].method if rows else distance_method()
        if scope.communes is not None:
            rows = [r for r in rows if r.commune_id in scope.communes]
        return Response({"method": method, "threshold_m": threshold, "communes": [asdict(r) for r in rows]})

    @extend_schema(
        parameters=[OpenApiParameter("threshold_m", OpenApiTypes.NUMBER), FORMAT_PARAM]
        + [
            OpenApiParameter(p, OpenApiTypes.NUMBER, description=f"weight of {n}")
            for p, n in WEIGHT_PARAMS.items()
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def priority(self, request):
        """Communes ranked for new play areas; every component's contribution is shown."""
        planning_scope(request.user)
        reject_unknown_params(request, {"threshold_m", "format", *WEIGHT_PARAMS})
        fmt = choice_param(request, "format", ["json", *FORMATS], "json")
        threshold = float_param(request, "threshold_m", 1000.0, minimum=1, maximum=50_000)
        weights = {
            name: request.query_params[p] for p, name in WEIGHT_PARAMS.items() if p in request.query_params
        }
        result = analysis.ranking(user=request.user, weights=weights or None, threshold_m=threshold)
        if fmt != "json":
            return file_response(*result.file(fmt), "play-area-priority", fmt)
        return Response(
            {
                "method": result.method,
                "threshold_m": threshold,
                "weights": result.weights,
                "area": analysis.scope_label(result.scope),
                "exact_incidents": result.scope.exact_incidents,
                "rows": [asdict(r) for r in result.rows],
            }
        )

    @extend_schema(
        request=SitingRequestSerializer, parameters=[FORMAT_PARAM], responses={200: OpenApiTypes.OBJECT}
    )
    @action(detail=False, methods=["post"])
    def siting(self, request):
        """Where N new play areas would serve the most unserved children (greedy maximum coverage)."""
        planning_scope(request.user)
        reject_unknown_params(request, {"format"})
        fmt = choice_param(request, "format", ["json", *FORMATS], "json")
        form = SitingRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        candidates = [(c["lon"], c["lat"]) for c in d["candidates"]] if d.get("candidates") else None
        run = analysis.siting(
            user=request.user,
            budget=d["budget"],
            candidates=candidates,
            threshold_m=d["threshold_m"],
            only_extremely_difficult=d["only_extremely_difficult"],
        )
        if fmt != "json":
            return file_response(*run.file(fmt), "play-area-picks", fmt)
        return Response(asdict(run.result))
