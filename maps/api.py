"""Indicator API: GeoJSON of units with value, class and colour (thin view over maps.layers)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.params import reject_unknown_params

from .classify import METHODS, PALETTES, ClassificationError
from .indicators import INDICATORS, LEVELS
from .layers import choropleth
from .params import MAP_PARAMS, map_params


class IndicatorViewSet(viewsets.ViewSet):
    """Indicators per administrative unit and period, classified for a choropleth.

    Open to everyone: sites are scoped to the reader, incident numbers suppressed for anyone
    who may not see single records.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("indicator", OpenApiTypes.STR, enum=list(INDICATORS), required=True),
            OpenApiParameter("level", OpenApiTypes.STR, enum=list(LEVELS)),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("kind", OpenApiTypes.STR, description="site kind, or incident kind"),
            OpenApiParameter("agency", OpenApiTypes.STR, description="agency code"),
            OpenApiParameter("area", OpenApiTypes.STR, description="GSO code: only units inside it"),
            OpenApiParameter(
                "restate", OpenApiTypes.BOOL, description="periods before 01/07/2025 on today's units"
            ),
            OpenApiParameter("classes", OpenApiTypes.STR, enum=list(METHODS)),
            OpenApiParameter("k", OpenApiTypes.INT, description="number of classes 1…7"),
            OpenApiParameter("breaks", OpenApiTypes.STR, description="manual breaks, comma-separated"),
            OpenApiParameter("palette", OpenApiTypes.STR, enum=list(PALETTES)),
            OpenApiParameter("bbox", OpenApiTypes.STR, description="min_lon,min_lat,max_lon,max_lat"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request):
        reject_unknown_params(request, MAP_PARAMS)
        params = map_params(request)
        try:
            result = choropleth(user=request.user, **params)
        except ClassificationError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        return Response(result.collection)
