from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import Incident


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin, GISModelAdmin):
    """For administrators only; entry goes through the pages and the API, which check privacy."""

    list_display = ["date", "kind", "commune", "age_band", "sex", "outcome", "source", "reference"]
    list_filter = ["kind", "outcome", "age_band", "synthetic"]
    search_fields = ["source", "reference"]
    raw_id_fields = ["commune", "current_commune", "linked_site", "created_by"]

    def has_add_permission(self, request):
        return False  # the services check circumstances and resolve communes; the admin would not
