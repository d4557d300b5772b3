"""Checklist templates per site kind, versioned: an inspection keeps the version it answered."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from places.kinds import KIND_CHOICES


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
# Deadline of the corrective action a failed item opens, in days.
SEVERITY_DEADLINE_DAYS = {Severity.CRITICAL: 7, Severity.HIGH: 30, Severity.MEDIUM: 90, Severity.LOW: 180}


class ChecklistTemplate(models.Model):
    site_kind = models.CharField(_("site kind"), max_length=30, choices=KIND_CHOICES)
    version = models.PositiveSmallIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    basis = models.TextField(_("basis"), blank=True)
    valid_from = models.DateField(_("valid from"))
    is_current = models.BooleanField(_("current version"), default=True)

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["site_kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["site_kind", "version"], name="checklist_kind_version_unique"),
            models.UniqueConstraint(
                fields=["site_kind"],
                condition=models.Q(is_current=True),
                name="checklist_one_current_per_kind",
            ),
        ]

    def __str__(self):
        return f"{self.title} v{self.version}"


class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("code"), max_length=20)
    question = models.CharField(_("question"), max_length=500)
    question_en = models.CharField(_("English question"), max_length=500)
    severity = models.CharField(_("severity if failed"), max_length=10, choices=Severity.choices)
    photo_required_on_fail = models.BooleanField(_("photo required when failed"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code_unique")
        ]

    def __str__(self):
        return f"{self.code}: {self.question}"
