"""Forms of the incident pages. The form's guidance tells the clerk what never to type."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AgeBand, IncidentKind, Outcome, Sex
from .selectors import CATEGORY_FIELDS


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(
        label=_("Areas"),
        required=False,
        initial="commune",
        choices=[
            ("commune", _("Communes (today's 38)")),
            ("district", _("Districts (until 30/06/2025)")),
            ("province", _("Province")),
        ],
    )
    by = forms.ChoiceField(
        label=_("Columns"),
        required=False,
        initial="kind",
        choices=[
            ("kind", _("Kind")),
            ("age_band", _("Age band")),
            ("sex", _("Sex")),
            ("outcome", _("Outcome")),
        ],
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end is before the start."))
        data["level"] = data.get("level") or "commune"
        data["by"] = data.get("by") if data.get("by") in CATEGORY_FIELDS else "kind"
        return data


class IncidentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=IncidentKind.choices)
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        label=_("Time (if known)"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    commune = forms.CharField(
        label=_("Commune GSO code (when the place is not known)"), required=False, max_length=10
    )
    age_band = forms.ChoiceField(label=_("Age band"), choices=AgeBand.choices)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    circumstances = forms.CharField(
        label=_("Circumstances"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Describe what happened. Never write the child's or the family's names, birth date, "
            "address, phone or identity numbers."
        ),
    )
    source = forms.CharField(label=_("Reporting office"), max_length=150)
    reference = forms.CharField(label=_("Report number"), required=False, max_length=100)

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None):
            self.add_error("lon", _("Give both longitude and latitude, or neither."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))
    dry_run = forms.BooleanField(label=_("Check only (store nothing)"), required=False, initial=True)
