"""Corrective actions: opened by a failed item, verified only by a later passing inspection."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .checklists import Severity


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    REPORTED_DONE = "reported_done", _("Reported done")
    VERIFIED = "verified", _("Verified")


class CorrectiveAction(models.Model):
    site = models.ForeignKey(
        "places.Site", verbose_name=_("site"), on_delete=models.CASCADE, related_name="corrective_actions"
    )
    item_code = models.CharField(_("checklist item"), max_length=20)
    description = models.CharField(_("what must be fixed"), max_length=400)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    agency = models.ForeignKey(
        "inspections.Agency",
        verbose_name=_("responsible agency"),
        on_delete=models.PROTECT,
        related_name="corrective_actions",
    )
    deadline = models.DateField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=14, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    opened_by = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="opened_actions"
    )
    reported_done_at = models.DateTimeField(null=True, blank=True)
    reported_done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report_note = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        "inspections.Inspection",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="verified_actions",
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["agency", "status", "deadline"], name="action_agency_status_deadline")
        ]
        constraints = [
            # One unresolved action per site and item: a repeated failure keeps the same one open.
            models.UniqueConstraint(
                fields=["site", "item_code"],
                condition=~models.Q(status="verified"),
                name="action_one_unresolved_per_site_item",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="verified") | models.Q(verified_by__isnull=False),
                name="action_verified_by_inspection",
            ),
        ]

    def __str__(self):
        return f"{self.site} {self.item_code} ({self.get_status_display()})"
