from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Agency,
    Answer,
    Assignment,
    ChecklistItem,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    InspectionPhoto,
    Profile,
    RoutingRule,
)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "area", "valid_from", "valid_to"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_en"]
    raw_id_fields = ["area"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["site_kind", "agency", "area_level", "area", "valid_from", "valid_to"]
    list_filter = ["site_kind"]
    raw_id_fields = ["area"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "agency", "area"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    raw_id_fields = ["user", "area"]


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "site_kind", "version", "is_current", "valid_from"]
    list_filter = ["site_kind", "is_current"]
    inlines = [ChecklistItemInline]


@admin.register(Assignment)
class AssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["site", "agency", "inspector", "due_date", "priority", "status"]
    list_filter = ["status", "priority", "agency"]
    raw_id_fields = ["site", "inspector", "created_by"]
    search_fields = ["site__name", "round_name"]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    raw_id_fields = ["item"]


class PhotoInline(admin.TabularInline):
    model = InspectionPhoto
    extra = 0
    raw_id_fields = ["item"]
    readonly_fields = ["sha256", "width", "height", "exif_distance_m", "uploaded_at"]


@admin.register(Inspection)
class InspectionAdmin(SimpleHistoryAdmin, GISModelAdmin):
    list_display = ["site", "inspector", "agency", "performed_at", "result", "risk_level", "location_flagged"]
    list_filter = ["result", "risk_level", "location_flagged", "agency"]
    raw_id_fields = ["site", "assignment", "inspector"]
    readonly_fields = ["client_uuid", "distance_to_site_m", "received_at"]
    inlines = [AnswerInline, PhotoInline]


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(SimpleHistoryAdmin):
    list_display = ["site", "item_code", "severity", "agency", "deadline", "status"]
    list_filter = ["status", "severity", "agency"]
    raw_id_fields = ["site", "opened_by", "verified_by", "reported_done_by"]
