"""Classification of indicator values for choropleths, with legends.

    classify(values, *, method="quantiles", k=5, breaks=None, palette="YlOrRd", hidden=None)
        -> Classification

Methods: "quantiles" (about as many units per class), "equal" (equal intervals between the
minimum and the maximum), "jenks" (Fisher-Jenks natural breaks, the jenkspy library: least
squared deviation inside classes), "manual" (`breaks`: the inner class limits, ascending).

Rules that hold for every method:
- None is "no data", a class of its own with its own colour, never mixed with 0 (a zero is a
  value and goes to the lowest class);
- values hidden to protect children's privacy (`hidden[i]` true) are a separate "hidden" entry;
- degenerate input still gives a sensible legend: no values → only "no data"; all values
  equal → one class "v"; fewer distinct values than classes → one class per distinct value
  (quantile breaks that coincide are merged, so no class is empty by construction);
- class i holds lower < v ≤ upper, the first class also its lower limit; limits and counts are
  in the legend.
Palettes are ColorBrewer sequential schemes (Cynthia Brewer, colorbrewer2.org), all marked
colour-blind safe there, light for low values to dark for high.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

import jenkspy
from django.utils.translation import gettext as _

METHODS = ("quantiles", "equal", "jenks", "manual")
MAX_CLASSES = 7
NO_DATA_COLOR = "#d9d9d9"
HIDDEN_COLOR = "#969696"

# ColorBrewer sequential schemes for 3..7 classes (colour-blind safe).
PALETTES: dict[str, dict[int, list[str]]] = {
    "YlOrRd": {
        3: ["#ffeda0", "#feb24c", "#f03b20"],
        4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
        5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
        6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
        7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    },
    "YlGnBu": {
        3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
        4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
        5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
        6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
        7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
    },
    "Blues": {
        3: ["#deebf7", "#9ecae1", "#3182bd"],
        4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
        5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
        6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
        7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
    },
    "Purples": {
        3: ["#efedf5", "#bcbddc", "#756bb1"],
        4: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
        5: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
        6: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
        7: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
    },
}


class ClassificationError(ValueError):
    """Bad method, number of classes, breaks or palette; `field` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def colors(palette: str, n: int) -> list[str]:
    if palette not in PALETTES:
        raise ClassificationError(
            "palette",
            _("unknown palette '%(p)s' (expected: %(allowed)s)")
            % {"p": palette, "allowed": ", ".join(PALETTES)},
        )
    scheme = PALETTES[palette]
    if n <= 0:
        return []
    if n == 1:
        return [scheme[3][1]]
    if n == 2:
        return [scheme[3][0], scheme[3][2]]
    return list(scheme[n])


@dataclass
class LegendEntry:
    label: str
    color: str
    count: int
    lower: float | None = None
    upper: float | None = None
    kind: str = "class"  # "class", "no_data", "hidden"

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "color": self.color,
            "count": self.count,
            "lower": self.lower,
            "upper": self.upper,
            "kind": self.kind,
        }


@dataclass
class Classification:
    method: str
    palette: str
    limits: list[float]  # k + 1 ascending limits; empty when there is no value
    classes: list[LegendEntry]
    no_data: LegendEntry
    hidden: LegendEntry
    assigned: list[int | None] = field(default_factory=list)  # per input: class index, None

    def class_of(self, value: float | None) -> int | None:
        if value is None or not self.limits:
            return None
        if len(self.limits) == 1 or value <= self.limits[1]:
            return 0
        # the first limit strictly not below the value closes its class: lower < v <= upper
        i = bisect_left(self.limits, value, lo=1) - 1
        return min(max(i, 0), len(self.classes) - 1)

    def color_of(self, value: float | None, hidden: bool = False) -> str:
        if hidden:
            return self.hidden.color
        i = self.class_of(value)
        return self.no_data.color if i is None else self.classes[i].color

    def legend(self) -> list[LegendEntry]:
        """Classes low to high, then "hidden" (if any value is) and "no data" (always shown)."""
        entries = list(self.classes)
        if self.hidden.count:
            entries.append(self.hidden)
        entries.append(self.no_data)
        return entries


def _fmt(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", " ")
    return f"{x:,.2f}".rstrip("0").rstrip(".").replace(",", " ")


def _algorithmic_limits(values: list[float], method: str, k: int) -> list[float]:
    distinct = sorted(set(values))
    lo, hi = distinct[0], distinct[-1]
    if lo == hi:
        return [lo, hi]
    if len(distinct) <= k:
        # One class per distinct value: limits are the values themselves (first class [v0, v0]).
        return [lo, *distinct]
    if method == "equal":
        step = (hi - lo) / k
        return [lo + i * step for i in range(k)] + [hi]
    if method == "jenks":
        return [float(b) for b in jenkspy.jenks_breaks(values, n_classes=k)]
    ordered = sorted(values)
    n = len(ordered)
    out = [lo]
    for i in range(1, k):
        # nearest-rank quantile (a value of the data, so labels show real numbers)
        out.append(ordered[min(n - 1, max(0, math.ceil(i * n / k) - 1))])
    out.append(hi)
    return out


def _dedupe(limits: list[float]) -> list[float]:
    out = [limits[0]]
    for x in limits[1:]:
        if x > out[-1] or len(out) == 1:
            out.append(x)
    return out


def classify(
    values: list[float | None],
    *,
    method: str = "quantiles",
    k: int = 5,
    breaks: list[float] | None = None,
    palette: str = "YlOrRd",
    hidden: list[bool] | None = None,
) -> Classification:
    if method not in METHODS:
        raise ClassificationError(
            "classes",
            _("unknown method '%(m)s' (expected: %(allowed)s)")
            % {"m": method, "allowed": ", ".join(METHODS)},
        )
    colors(palette, 3)  # validates the name
    hidden = hidden or [False] * len(values)
    present = [float(v) for v, h in zip(values, hidden, strict=True) if v is not None and not h]
    if method == "manual":
        if not breaks:
            raise ClassificationError("breaks", _("manual classes need at least one break"))
        if any(not math.isfinite(b) for b in breaks) or any(
            b >= c for b, c in zip(breaks, breaks[1:], strict=False)
        ):
            raise ClassificationError("breaks", _("breaks must be finite numbers in ascending order"))
        if len(breaks) + 1 > MAX_CLASSES:
            raise ClassificationError("breaks", _("at most %(n)s classes") % {"n": MAX_CLASSES})
        lo = min([*present, breaks[0]]) if present else breaks[0]
        hi = max([*present, breaks[-1]]) if present else breaks[-1]
        limits = [lo, *breaks, hi] if hi > breaks[-1] else [lo, *breaks]
        limits = _dedupe(limits)
    else:
        if not (1 <= k <= MAX_CLASSES):
            raise ClassificationError(
                "k", _("the number of classes must be within 1…%(n)s") % {"n": MAX_CLASSES}
            )
        limits = _dedupe(_algorithmic_limits(present, method, k)) if present else []
    n_classes = max(0, len(limits) - 1) if len(limits) != 1 else 1
    palette_colors = colors(palette, n_classes)
    classes = []
    for i in range(n_classes):
        lower, upper = limits[i], limits[min(i + 1, len(limits) - 1)]
        members = {v for v in present if (v <= upper if i == 0 else lower < v <= upper)}
        if lower == upper or (len(members) == 1 and upper in members and method != "manual"):
            label = _fmt(upper)  # one distinct value: the class is that value
        else:
            label = f"{_fmt(lower)} – {_fmt(upper)}"
        classes.append(LegendEntry(label=label, color=palette_colors[i], count=0, lower=lower, upper=upper))
    result = Classification(
        method=method,
        palette=palette,
        limits=limits,
        classes=classes,
        no_data=LegendEntry(label=_("No data"), color=NO_DATA_COLOR, count=0, kind="no_data"),
        hidden=LegendEntry(label=_("Hidden (privacy)"), color=HIDDEN_COLOR, count=0, kind="hidden"),
    )
    for v, h in zip(values, hidden, strict=True):
        if h:
            result.hidden.count += 1
            result.assigned.append(None)
            continue
        i = result.class_of(None if v is None else float(v))
        result.assigned.append(i)
        if i is None:
            result.no_data.count += 1
        else:
            classes[i].count += 1
    return result
