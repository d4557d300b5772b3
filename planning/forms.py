"""The page's two forms: the ranking's parameters (GET) and "where to build" (POST, points
typed in or uploaded as CSV). A bad value is a message on its field, never a 500."""

import csv
import io
import math

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exports import component_labels
from .priority import DEFAULT_WEIGHTS

MAX_POINTS = 10_000
MAX_FILE_BYTES = 2_000_000
LAYERS = [("unserved", gettext_lazy("Children without access")), ("score", gettext_lazy("Priority score"))]


class PriorityForm(forms.Form):
    threshold_m = forms.FloatField(
        label=gettext_lazy("Walking distance (m)"), min_value=1, max_value=50_000, required=False
    )
    layer = forms.ChoiceField(label=gettext_lazy("Map shows"), choices=LAYERS, required=False)
    format = forms.ChoiceField(
        choices=[("html", "html"), ("csv", "CSV"), ("xlsx", "XLSX")], required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = component_labels()
        for name, default in DEFAULT_WEIGHTS.items():
            self.fields[f"w_{name}"] = forms.FloatField(
                label=labels[name],
                min_value=0,
                max_value=1000,
                required=False,
                widget=forms.NumberInput(attrs={"step": "any", "placeholder": str(default)}),
            )
        self.fields["threshold_m"].widget.attrs.update({"step": "any", "placeholder": "1000"})

    def clean(self):
        data = super().clean()
        # Django's FloatField already refuses nan/inf and negatives, naming the field.
        weights = self.weights()
        if weights and all(v == 0 for v in {**DEFAULT_WEIGHTS, **weights}.values()):
            raise forms.ValidationError(_("At least one weight must be greater than 0."))
        return data

    def weights(self) -> dict[str, float]:
        data = getattr(self, "cleaned_data", {})
        return {n: data[f"w_{n}"] for n in DEFAULT_WEIGHTS if data.get(f"w_{n}") is not None}

    def threshold(self) -> float:
        value = self.cleaned_data.get("threshold_m")
        return 1000.0 if value is None else value


def parse_points(text: str, where: str) -> list[tuple[float, float]]:
    """Lines "longitude, latitude" (comma, semicolon, tab or spaces); a header line is skipped.

    Raises forms.ValidationError naming the line."""
    points = []
    rows = csv.reader(io.StringIO(text.replace(";", ",").replace("\t", ",")))
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) == 1 and " " in cells[0]:
            cells = cells[0].split()
        if not cells or cells[0].startswith("#"):
            continue
        try:
            lon, lat = (float(c) for c in cells[:2])
            if len(cells) < 2 or not (math.isfinite(lon) and math.isfinite(lat)):
                raise ValueError
        except ValueError:
            if number == 1 and not points:
                continue  # a header such as "lon,lat"
            raise forms.ValidationError(
                _("%(where)s, line %(line)s: expected 'longitude, latitude' in degrees, got '%(text)s'")
                % {"where": where, "line": number, "text": ",".join(row)[:60]}
            ) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise forms.ValidationError(
                _("%(where)s, line %(line)s: not a longitude and latitude in degrees")
                % {"where": where, "line": number}
            )
        points.append((lon, lat))
        if len(points) > MAX_POINTS:
            raise forms.ValidationError(_("At most %(n)s candidate points.") % {"n": MAX_POINTS})
    return points


class SitingForm(forms.Form):
    budget = forms.IntegerField(label=gettext_lazy("New play areas (budget)"), min_value=1, max_value=1000)
    only_extremely_difficult = forms.BooleanField(
        label=gettext_lazy("Only in extremely difficult communes"), required=False
    )
    candidates = forms.ChoiceField(
        label=gettext_lazy("Candidates"),
        choices=[
            ("villages", gettext_lazy("the villages")),
            ("points", gettext_lazy("points I give (typed or uploaded below)")),
        ],
        initial="villages",
        widget=forms.RadioSelect,
    )
    points = forms.CharField(
        label=gettext_lazy("Candidate points: one 'longitude, latitude' per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "103.2411, 22.3606"}),
    )
    points_file = forms.FileField(
        label=gettext_lazy("or a CSV file of longitude, latitude"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def clean_points(self):
        return parse_points(self.cleaned_data.get("points") or "", _("Candidate points"))

    def clean_points_file(self):
        upload = self.cleaned_data.get("points_file")
        if not upload:
            return []
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        raw = upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text (CSV).")) from None
        return parse_points(text, upload.name)

    def clean(self):
        data = super().clean()
        if data.get("candidates") == "points":
            points = (data.get("points") or []) + (data.get("points_file") or [])
            if not points and not self.errors:
                self.add_error("points", _("Give at least one point, or choose the villages as candidates."))
            data["candidate_points"] = points
        else:
            data["candidate_points"] = None
        return data
