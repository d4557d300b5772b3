from django.contrib import admin

from .models import Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Read-only: a report is a frozen snapshot, made by the page, the API or generate_report."""

    list_display = ("id", "scope", "agency", "area", "date_from", "date_to", "generated_at", "submitted_at")
    list_filter = ("scope", "suppressed")
    readonly_fields = [f.name for f in Report._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
