"""Assignments: a site handed to an agency (and an inspector) to inspect by a date."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class AssignmentStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_ASSIGNMENT_STATUSES = (AssignmentStatus.PLANNED, AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Assignment(models.Model):
    site = models.ForeignKey(
        "places.Site", verbose_name=_("site"), on_delete=models.CASCADE, related_name="assignments"
    )
    agency = models.ForeignKey(
        "inspections.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="assignments"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    due_date = models.DateField(_("due date"))
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.PLANNED
    )
    round_name = models.CharField(_("inspection round"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["agency", "status", "due_date"], name="assignment_agency_status_due")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="assigned") | models.Q(inspector__isnull=False),
                name="assignment_assigned_has_inspector",
            ),
        ]

    def __str__(self):
        return f"{self.site} → {self.agency} ({self.due_date})"
