"""Planning API: access per commune, the priority ranking with adjustable weights, and
"where to build". Thin views over planning.access / priority / siting."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.params import float_param, reject_unknown_params
from core.serializers import LonLatSerializer, to_point

from .access import METHOD, commune_access
from .priority import DEFAULT_WEIGHTS, commune_priority
from .siting import greedy_sites

WEIGHT_PARAMS = {f"w_{name}": name for name in DEFAULT_WEIGHTS}


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
    """Aggregates per commune (no single child or family appears): for logged-in staff."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("threshold_m", OpenApiTypes.NUMBER, description="default 1000")],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def access(self, request):
        """Children within walking distance of a playground, per commune in force today."""
        reject_unknown_params(request, {"threshold_m"})
        threshold = float_param(request, "threshold_m", 1000.0, minimum=1, maximum=50_000)
        rows = commune_access(threshold_m=threshold)
        return Response({"method": METHOD, "threshold_m": threshold, "communes": [asdict(r) for r in rows]})

    @extend_schema(
        parameters=[OpenApiParameter("threshold_m", OpenApiTypes.NUMBER)]
        + [
            OpenApiParameter(p, OpenApiTypes.NUMBER, description=f"weight of {n}")
            for p, n in WEIGHT_PARAMS.items()
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=False, methods=["get"])
    def priority(self, request):
        """Communes ranked for new play areas; every component's contribution is shown."""
        reject_unknown_params(request, {"threshold_m", *WEIGHT_PARAMS})
        threshold = float_param(request, "threshold_m", 1000.0, minimum=1, maximum=50_000)
        weights = {
            name: request.query_params[p] for p, name in WEIGHT_PARAMS.items() if p in request.query_params
        }
        rows = commune_priority(weights=weights or None, threshold_m=threshold)
        return Response({"method": METHOD, "threshold_m": threshold, "rows": [asdict(r) for r in rows]})

    @extend_schema(request=SitingRequestSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def siting(self, request):
        """Where N new play areas would serve the most unserved children (greedy maximum coverage)."""
        form = SitingRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        d = form.validated_data
        candidates = [to_point(c) for c in d["candidates"]] if d.get("candidates") else None
        result = greedy_sites(
            budget=d["budget"],
            candidates=candidates,
            threshold_m=d["threshold_m"],
            only_extremely_difficult=d["only_extremely_difficult"],
        )
        return Response(asdict(result))
