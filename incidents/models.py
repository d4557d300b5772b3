"""Child injury incidents, with privacy by design: no field can hold a child's name,
birth date, address, phone or identity number; exact places and single records are
read only by those the plan makes answer for them (incidents.scoping)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class IncidentKind(models.TextChoices):
    DROWNING = "drowning", _("Drowning")
    TRAFFIC = "traffic", _("Traffic")
    FALL = "fall", _("Fall")
    BURN = "burn", _("Burn")
    CONSTRUCTION_SITE = "construction_site", _("Construction site")
    ANIMAL = "animal", _("Animal")
    OTHER = "other", _("Other")


class AgeBand(models.TextChoices):
    AGE_0_4 = "0-4", _("0–4 years")
    AGE_5_9 = "5-9", _("5–9 years")
    AGE_10_14 = "10-14", _("10–14 years")
    AGE_15_17 = "15-17", _("15–17 years")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Not recorded")


class Outcome(models.TextChoices):
    FATAL = "fatal", _("Fatal")
    HOSPITALISED = "hospitalised", _("Hospitalised")
    MINOR = "minor", _("Minor injury")


# Which mapped sites an incident of a kind can be linked to (nearest within 300 m).
LINKABLE_SITE_KINDS = {
    IncidentKind.DROWNING: ["drowning_hotspot"],
    IncidentKind.TRAFFIC: ["school_route"],
    IncidentKind.CONSTRUCTION_SITE: ["construction_site"],
    IncidentKind.FALL: ["playground", "construction_site"],
}
LINK_RADIUS_M = 300


class Incident(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=IncidentKind.choices)
    date = models.DateField(_("date"))
    time = models.TimeField(_("time"), null=True, blank=True)
    # Optional: many reports know only the commune.
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    # The commune in force on the incident's date (as reported) and today's commune
    # (restated through the 2025 crosswalk), both stored for fast aggregation.
    commune = models.ForeignKey(
        "places.AdminUnit",
        verbose_name=_("commune (as recorded)"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    current_commune = models.ForeignKey(
        "places.AdminUnit", verbose_name=_("commune (today)"), on_delete=models.PROTECT, related_name="+"
    )
    age_band = models.CharField(_("age band"), max_length=5, choices=AgeBand.choices)
    sex = models.CharField(_("sex"), max_length=7, choices=Sex.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    circumstances = models.CharField(
        _("circumstances"),
        max_length=500,
        blank=True,
        help_text=_(
            "What happened, without any name, address or other "
            "detail that could identify the child or the family."
        ),
    )
    source = models.CharField(_("reporting office"), max_length=150)
    reference = models.CharField(_("report number"), max_length=100, blank=True)
    linked_site = models.ForeignKey(
        "places.Site",
        verbose_name=_("linked site"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
    )
    linked_site_manual = models.BooleanField(_("site linked by hand"), default=False)
    synthetic = models.BooleanField(_("synthetic demo record"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["current_commune", "date", "kind"], name="incident_current_date_kind"),
            models.Index(fields=["commune", "date"], name="incident_commune_date"),
        ]
        constraints = [
            # One record per report: a re-import or a retry updates it, never duplicates it.
            models.UniqueConstraint(
                fields=["source", "reference"],
                condition=~Q(reference=""),
                name="incident_source_reference_unique",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.date} ({self.commune})"
