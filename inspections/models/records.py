"""Inspection records: answers, position, photos; stored once per client UUID."""

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Result(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class RiskLevel(models.TextChoices):
    NONE = "none", _("No risk found")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Inspection(models.Model):
    # Made by the client: a resend of the same inspection is recognised, never stored twice.
    client_uuid = models.UUIDField(_("client UUID"), unique=True)
    content_hash = models.CharField(max_length=64, editable=False)
    site = models.ForeignKey(
        "places.Site", verbose_name=_("site"), on_delete=models.PROTECT, related_name="inspections"
    )
    assignment = models.ForeignKey(
        "inspections.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="inspections"
    )
    template = models.ForeignKey(
        "inspections.ChecklistTemplate",
        verbose_name=_("checklist"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    agency = models.ForeignKey(
        "inspections.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="inspections"
    )
    performed_at = models.DateTimeField(_("performed at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    position = models.PointField(_("inspector position"), srid=4326, null=True, blank=True)
    gps_accuracy_m = models.FloatField(_("GPS accuracy (m)"), null=True, blank=True)
    distance_to_site_m = models.FloatField(_("distance to the site (m)"), null=True, blank=True)
    location_flagged = models.BooleanField(_("location doubtful"), default=False)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    result = models.CharField(_("result"), max_length=5, choices=Result.choices)
    risk_level = models.CharField(_("risk level"), max_length=10, choices=RiskLevel.choices)
    history = HistoricalRecords(excluded_fields=["content_hash"])

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-performed_at", "-id"]
        indexes = [models.Index(fields=["site", "-performed_at"], name="inspection_site_recent")]

    def __str__(self):
        return f"{self.site} {self.performed_at:%Y-%m-%d} {self.result}"


class AnswerValue(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NOT_APPLICABLE = "na", _("Not applicable")


class Answer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey("inspections.ChecklistItem", on_delete=models.PROTECT, related_name="answers")
    value = models.CharField(_("answer"), max_length=4, choices=AnswerValue.choices)
    note = models.CharField(_("note"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="answer_once_per_item")]


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(
        "inspections.ChecklistItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to="inspections/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Distance between the photo's EXIF position (stripped before storage) and the inspector.
    exif_distance_m = models.FloatField(null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "sha256"], name="photo_once_per_inspection")
        ]
