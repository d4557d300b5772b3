"""Agencies, the routing rules that make them responsible for sites, and users' roles."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from places.kinds import KIND_CHOICES


class AgencyKind(models.TextChoices):
    DEPARTMENT = "department", _("Provincial department")
    DISTRICT_COMMITTEE = "district_committee", _("District people's committee")
    COMMUNE_COMMITTEE = "commune_committee", _("Commune people's committee")
    COORDINATOR = "coordinator", _("Coordinator (social affairs)")


class Agency(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AgencyKind.choices)
    # The district or commune a committee governs; empty for provincial departments.
    area = models.ForeignKey(
        "places.AdminUnit",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agencies",
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="agency_period_ordered",
            ),
        ]

    def __str__(self):
        return self.name


class RoutingRule(models.Model):
    """(site kind, place, date) → responsible agency, as data.

    Either a fixed `agency` (optionally only inside `area`), or `area_level`: the
    committee governing the site's unit of that level on the date (e.g. the district
    committee until 30/06/2025, the commune committee from 01/07/2025). The most
    specific rule wins: one with an `area` before one without. Resolution is the SQL
    function inspections_agency_for (migration 0002), so bulk re-routing is one UPDATE.
    """

    site_kind = models.CharField(_("site kind"), max_length=30, choices=KIND_CHOICES)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="rules")
    area = models.ForeignKey(
        "places.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area_level = models.CharField(
        _("committee of the site's"),
        max_length=10,
        blank=True,
        choices=[("district", _("district")), ("commune", _("commune"))],
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    basis = models.CharField(_("legal basis"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["site_kind", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(agency__isnull=False) & Q(area_level=""))
                | (Q(agency__isnull=True) & ~Q(area_level="")),
                name="routingrule_agency_xor_level",
            ),
        ]

    def __str__(self):
        target = self.agency or f"committee of {self.area_level}"
        return f"{self.site_kind} → {target} ({self.valid_from or '…'}–{self.valid_to or '…'})"


class Role(models.TextChoices):
    INSPECTOR = "inspector", _("Inspector")
    AGENCY_MANAGER = "agency_manager", _("Agency manager")
    AREA_LEADER = "area_leader", _("Area leader")
    PLANNER = "planner", _("Planner")
    COORDINATOR = "coordinator", _("Provincial coordinator")
    ADMINISTRATOR = "administrator", _("Administrator")


class Profile(models.Model):
    """A user's agency, role and (for area leaders) area. No profile: public access only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        "places.AdminUnit",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role__in=["inspector", "agency_manager"]) | Q(agency__isnull=False),
                name="profile_agency_staff_have_agency",
            ),
            models.CheckConstraint(
                condition=~Q(role="area_leader") | Q(area__isnull=False), name="profile_leader_has_area"
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"
