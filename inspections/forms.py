"""Forms of the inspection pages: the checklist form built per template, and the
manager's site filter and assignment form."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.i18n import localized
from places.kinds import KIND_CHOICES
from places.models import AdminLevel
from places.selectors import admin_unit_list, today

from .models import Priority
from .models.records import AnswerValue
from .services import AnswerIn


class InspectionForm(forms.Form):
    """The fixed fields; one answer and one note field per checklist item are added per template."""

    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    performed_at = forms.DateTimeField(widget=forms.HiddenInput)
    template_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    assignment = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    findings = forms.CharField(
        label=gettext_lazy("Findings"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    lon = forms.FloatField(label=gettext_lazy("Longitude"), required=False, min_value=-180, max_value=180)
    lat = forms.FloatField(label=gettext_lazy("Latitude"), required=False, min_value=-90, max_value=90)
    accuracy = forms.FloatField(label=gettext_lazy("Accuracy (m)"), required=False, min_value=0)

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"answer-{item.code}"] = forms.ChoiceField(
                label=localized(item, "question"),
                choices=AnswerValue.choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Choose pass, fail or not applicable."),
                    "invalid_choice": _("'%(value)s' is not an answer: choose pass, fail or not applicable."),
                },
            )
            self.fields[f"note-{item.code}"] = forms.CharField(
                label=_("Note for %(code)s") % {"code": item.code}, required=False, max_length=1000
            )

    def clean(self):
        data = super().clean()
        if (data.get("lon") is None) != (data.get("lat") is None) and not (
            self.has_error("lon") or self.has_error("lat")
        ):
            self.add_error("lon", _("Give both longitude and latitude, or neither."))
        return data

    def answers(self) -> list[AnswerIn]:
        return [
            AnswerIn(
                item=item.code,
                value=self.cleaned_data[f"answer-{item.code}"],
                note=self.cleaned_data.get(f"note-{item.code}", ""),
            )
            for item in self.items
        ]


class SiteFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind of site"), required=False)
    commune = forms.TypedChoiceField(
        label=gettext_lazy("Commune"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds"))] + [(c, str(label)) for c, label in KIND_CHOICES]
        communes = admin_unit_list(level=AdminLevel.COMMUNE, valid_on=today()).order_by("name")
        self.fields["commune"].choices = [("", _("All communes"))] + [
            (u.id, localized(u, "name")) for u in communes
        ]


class AssignForm(forms.Form):
    scope = forms.ChoiceField(
        label=gettext_lazy("Which sites"),
        choices=[
            ("all", gettext_lazy("All sites shown")),
            ("selected", gettext_lazy("Only the ticked sites")),
        ],
        initial="all",
        widget=forms.RadioSelect,
    )
    sites = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Sites"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    inspector = forms.TypedChoiceField(
        label=gettext_lazy("Inspector"), required=False, coerce=int, empty_value=None
    )
    due_date = forms.DateField(label=gettext_lazy("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    round_name = forms.CharField(label=gettext_lazy("Inspection round"), required=False, max_length=120)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, site_choices, inspectors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = site_choices
        self.inspectors = {u.id: u for u in inspectors}
        self.fields["inspector"].choices = [("", _("Not chosen yet (planned)"))] + [
            (u.id, u.get_full_name() or u.username) for u in inspectors
        ]

    def clean(self):
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("sites"):
            self.add_error("sites", _("Tick at least one site, or choose all sites shown."))
        return data
