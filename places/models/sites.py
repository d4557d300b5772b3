"""Mapped sites: the hazards, schools, routes, playgrounds and villages of the province."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from ..kinds import KIND_CHOICES

SiteKind = models.TextChoices("SiteKind", [(code.upper(), (code, label)) for code, label in KIND_CHOICES])


class SiteStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Site(models.Model):
    kind = models.CharField(_("kind"), max_length=30, choices=KIND_CHOICES, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    geom = models.GeometryField(_("geometry"), srid=4326)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # Resolved once at write time on the current structure, for fast aggregation.
    commune = models.ForeignKey(
        "places.AdminUnit", verbose_name=_("commune"), on_delete=models.PROTECT, related_name="sites"
    )
    # Resolved by the routing rules of inspections when the site is written.
    agency = models.ForeignKey(
        "inspections.Agency",
        verbose_name=_("responsible agency"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sites",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SiteStatus.choices, default=SiteStatus.ACTIVE
    )
    source = models.CharField(_("source"), max_length=100, default="manual")
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    # Route length in metres on the spheroid; kept by PostgreSQL, never stale.
    length_m = models.GeneratedField(
        expression=RawSQL(
            "CASE WHEN GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING') "
            "THEN ST_Length(geom::geography) END",
            [],
        ),
        output_field=models.FloatField(),
        db_persist=True,
        verbose_name=_("length (m)"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="site_source_external_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["commune", "kind", "status"], name="site_commune_kind_status")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"
