"""Administrative units in force over time, the 2025 crosswalk, and per-unit statistics."""

from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class AdminLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune")


class AdminUnitQuerySet(models.QuerySet):
    def valid_on(self, day):
        """Units in force on `day`: valid_from <= day <= valid_to, open ends meaning always."""
        return self.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )


class AdminUnit(models.Model):
    """A province, district or commune as it existed between valid_from and valid_to.

    A GSO code can be reused across structures (03388 was Phường Quyết Tiến until
    30/06/2025 and is Phường Đoàn Kết since 01/07/2025), so a unit is identified by
    its code together with its validity period.
    """

    code = models.CharField(_("GSO code"), max_length=10, db_index=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120)
    level = models.CharField(_("level"), max_length=10, choices=AdminLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    geom = models.MultiPolygonField(_("boundary"), srid=4326)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    geometry_source = models.CharField(_("geometry source"), max_length=300, blank=True)

    objects = AdminUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["level", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "valid_from"], name="adminunit_code_period_unique", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="adminunit_period_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class CrosswalkLink(models.Model):
    """An old unit and the new unit that took it over on `effective`.

    Nghị quyết 1670/NQ-UBTVQH15: no commune was split in 2025, so each old commune
    has exactly one successor (enforced by the unique old_unit).
    """

    old_unit = models.OneToOneField(AdminUnit, on_delete=models.CASCADE, related_name="successor_link")
    new_unit = models.ForeignKey(AdminUnit, on_delete=models.CASCADE, related_name="predecessor_links")
    effective = models.DateField()
    legal_basis = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("crosswalk link")
        verbose_name_plural = _("crosswalk links")
        constraints = [
            models.CheckConstraint(condition=~Q(old_unit=F("new_unit")), name="crosswalk_not_self"),
        ]

    def __str__(self):
        return f"{self.old_unit} → {self.new_unit}"


class StatIndicator(models.TextChoices):
    POPULATION = "population", _("Population")
    CHILDREN_0_15 = "children_0_15", _("Children aged 0–15")
    POVERTY_RATE = "poverty_rate", _("Poverty rate (%)")
    ETHNIC_MINORITY_SHARE = "ethnic_minority_share", _("Ethnic-minority share (%)")
    EXTREMELY_DIFFICULT = "extremely_difficult", _("Extremely difficult commune (1 = yes)")


class UnitStatistic(models.Model):
    """One indicator value for one unit and year, with where it came from.

    Long format so each value carries its own source: the extremely-difficult flag
    of the 38 communes is real (QĐ 113/QĐ-UBND), the demo population is synthetic.
    """

    unit = models.ForeignKey(AdminUnit, on_delete=models.CASCADE, related_name="statistics")
    year = models.PositiveSmallIntegerField(_("year"))
    indicator = models.CharField(_("indicator"), max_length=30, choices=StatIndicator.choices)
    value = models.FloatField(_("value"))
    source = models.CharField(_("source"), max_length=300)

    class Meta:
        verbose_name = _("unit statistic")
        verbose_name_plural = _("unit statistics")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "indicator"], name="unitstat_unique"),
            models.CheckConstraint(condition=Q(value__gte=0), name="unitstat_non_negative"),
            models.CheckConstraint(
                condition=~Q(indicator__in=["poverty_rate", "ethnic_minority_share"]) | Q(value__lte=100),
                name="unitstat_share_le_100",
            ),
            models.CheckConstraint(
                condition=~Q(indicator="extremely_difficult") | Q(value__in=[0, 1]), name="unitstat_flag_0_1"
            ),
        ]

    def __str__(self):
        return f"{self.unit.code} {self.year} {self.indicator}={self.value}"
