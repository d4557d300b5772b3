"""Reports API: create (compute and freeze), list, retrieve, download in each format, submit, and the
coordinator's list of who has submitted for a period. Thin: parameters and permissions in services."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from core.cache import cache_get, cache_set
from core.params import choice_param, reject_unknown_params
from inspections.scoping import sees_everything

from .render import FORMATS, filename, render, table_keys
from .services import (
    ReportError,
    ReportForbidden,
    ReportUnavailable,
    parse_params,
    parse_period,
    report_create,
    report_get,
    report_list,
    report_submit,
    submissions,
)

LANGS = ["vi", "en"]
PDF_CACHE_SECONDS = 3600


class UsesReports(BasePermission):
    """Agency managers, area leaders, the coordinator and administrators; others 403."""

    def has_permission(self, request, view):
        from .services import may_use_reports

        return may_use_reports(request.user)


def summary(report, request=None) -> dict:
    base = f"/api/v1/reports/{report.pk}/"
    return {
        "id": report.pk,
        "scope": report.scope,
        "agency": report.agency.code if report.agency else None,
        "area": report.area.code if report.area else None,
        "from": report.date_from.isoformat(),
        "to": report.date_to.isoformat(),
        "suppressed": report.suppressed,
        "number": report.data.get("header", {}).get("number"),
        "generated_at": report.generated_at.isoformat(),
        "generated_by": report.generated_by.get_username() if report.generated_by else None,
        "checksum": report.checksum,
        "submitted_at": report.submitted_at.isoformat() if report.submitted_at else None,
        "submitted_by": report.submitted_by.get_username() if report.submitted_by else None,
        "downloads": {fmt: f"{base}download/?format={fmt}" for fmt in FORMATS},
        "page": f"/reports/{report.pk}/",
    }


PARAMS_DOC = [
    OpenApiParameter("scope", OpenApiTypes.STR, enum=["agency", "area", "province"]),
    OpenApiParameter("agency", OpenApiTypes.STR, description="agency code (scope=agency)"),
    OpenApiParameter("area", OpenApiTypes.STR, description="GSO code of a district or commune (scope=area)"),
    OpenApiParameter("year", OpenApiTypes.INT, description="a calendar year, or from/to"),
    OpenApiParameter("from", OpenApiTypes.DATE),
    OpenApiParameter("to", OpenApiTypes.DATE),
    OpenApiParameter(
        "suppressed", OpenApiTypes.BOOL, description="hide small incident numbers (default true)"
    ),
]


ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="report id")


class ReportViewSet(viewsets.ViewSet):
    permission_classes = [IsAuthenticated, UsesReports]
    lookup_value_regex = r"\d+"

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", OpenApiTypes.STR, enum=["agency", "area", "province"]),
            OpenApiParameter("submitted", OpenApiTypes.BOOL),
        ],
        responses=OpenApiTypes.OBJECT,
        operation_id="v1_reports_list",
    )
    def list(self, request):
        reject_unknown_params(request, {"scope", "submitted"})
        qs = report_list(user=request.user)
        scope = choice_param(request, "scope", ["agency", "area", "province"])
        if scope:
            qs = qs.filter(scope=scope)
        submitted = choice_param(request, "submitted", ["true", "false"])
        if submitted:
            qs = qs.filter(submitted_at__isnull=(submitted == "false"))
        return Response([summary(r) for r in qs[:500]])

    @extend_schema(request=OpenApiTypes.OBJECT, parameters=PARAMS_DOC, responses=OpenApiTypes.OBJECT)
    def create(self, request):
        """Compute the report now and freeze it. Parameters in the JSON body (or the query)."""
        if request.data and not hasattr(request.data, "keys"):
            raise ReportError({"body": [_("expected a JSON object of parameters")]})
        data = request.data or request.query_params
        if hasattr(data, "dict"):
            data = data.dict()
        scope, period, suppressed = parse_params(data)
        report = report_create(user=request.user, scope=scope, period=period, suppressed=suppressed)
        return Response({**summary(report), "data": report.data}, status=201)

    @extend_schema(parameters=[ID], responses=OpenApiTypes.OBJECT)
    def retrieve(self, request, pk=None):
        report = report_get(user=request.user, pk=_pk(pk))
        return Response({**summary(report), "data": report.data})

    @extend_schema(
        parameters=[
            ID,
            OpenApiParameter("format", OpenApiTypes.STR, enum=[*FORMATS]),
            OpenApiParameter("lang", OpenApiTypes.STR, enum=LANGS),
            OpenApiParameter("table", OpenApiTypes.STR, description="one table as CSV (format=csv)"),
        ],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        reject_unknown_params(request, {"format", "lang", "table"})
        report = report_get(user=request.user, pk=_pk(pk))
        return download_response(report, request.query_params)

    @extend_schema(parameters=[ID], request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = report_get(user=request.user, pk=_pk(pk))
        report = report_submit(user=request.user, report=report)
        return Response(summary(report))

    @extend_schema(
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=False, methods=["get"])
    def submissions(self, request):
        """For the coordinator: every agency and area that reports for the period, submitted or not."""
        reject_unknown_params(request, {"year", "from", "to"})
        if not sees_everything(request.user):
            raise ReportForbidden(_("only the coordinator sees the submissions of everyone"))
        period = parse_period(request.query_params)
        return Response(
            {
                "from": period.date_from.isoformat(),
                "to": period.date_to.isoformat(),
                "units": [
                    {
                        "scope": row["scope"],
                        "code": row["code"],
                        "name": row["name"],
                        "name_en": row["name_en"],
                        "submitted": row["report"] is not None,
                        "report": summary(row["report"]) if row["report"] else None,
                    }
                    for row in submissions(period)
                ],
            }
        )


def _pk(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise ReportError({"id": [_("expected a whole number")]}) from None


def download_response(report, params, default_lang: str = "vi") -> HttpResponse:
    fmt = params.get("format") or "html"
    if fmt not in FORMATS:
        raise ReportError(
            {
                "format": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": fmt, "allowed": ", ".join(FORMATS)}
                ]
            }
        )
    lang = params.get("lang") or default_lang
    if lang not in LANGS:
        raise ReportError(
            {
                "lang": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": lang, "allowed": ", ".join(LANGS)}
                ]
            }
        )
    table = params.get("table") or None
    if table is not None:
        if fmt != "csv":
            raise ReportError({"table": [_("only with format=csv")]})
        keys = table_keys(report.data)
        if table not in keys:
            raise ReportError(
                {
                    "table": [
                        _("unknown value '%(v)s' (expected: %(allowed)s)")
                        % {"v": table, "allowed": ", ".join(keys)}
                    ]
                }
            )
    key = f"reports:{report.pk}:{report.checksum}:{fmt}:{lang}:{table or ''}"
    cached = cache_get(key) if fmt == "pdf" else None
    if cached is None:
        try:
            content, content_type = render(report.data, fmt, lang, checksum=report.checksum, table=table)
        except (ImportError, OSError) as exc:  # WeasyPrint or the system's Pango missing
            raise ReportUnavailable(
                {
                    "format": [
                        _("PDF is not available on this server (%(e)s); use html, xlsx or csv") % {"e": exc}
                    ]
                }
            ) from exc
        if fmt == "pdf":  # seconds to lay out; the same snapshot always gives the same document
            cache_set(key, (content, content_type), PDF_CACHE_SECONDS)
    else:
        content, content_type = cached
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if fmt == "html" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename(report, fmt, lang, table)}"'
    response["X-Report-Checksum"] = report.checksum
    return response
