"""folium map builders: pure functions from map data (maps.layers) to a folium.Map.

    risk_map(choropleth, *, boundaries, api=None, sites=None, incidents=None, tiles=None,
             assets="static", labels=None) -> folium.Map
    coverage_map(...), incident_map(...): the same with the layers suited to the indicator.

Layers (each in the layer control): the choropleth; the boundaries of the level above; sites
by kind with distinct icons (schools, playgrounds, construction sites, villages); school
routes as lines; drowning hotspots; incidents as a heat map or clusters (only when the caller
passes them or an incidents URL, i.e. for roles that may see single records).

Large layers are not written into the HTML: with `api` (URLs of /api/v1/sites/ and
/api/v1/incidents/), the page draws the sites from the vector tiles /tiles/sites-<kind>/{z}/{x}/{y}.pbf
(Leaflet.VectorGrid; clusters with a count below the tile server's clustering zoom, single sites
above it, scoped to the reader by the session cookie) and fetches one site's details from
/api/v1/sites/<id>/ on a click (`api["tiles"]`, optional, is a tile URL template with {layer},
{z}, {x}, {y}; by default this server's /tiles/); incidents (only for roles that may see them)
come from the API.
With `sites` / `incidents` (GeoJSON / points) the data is embedded instead, for the standalone
export, which must open from a file with no server behind it.

Offline: Leaflet, leaflet.markercluster, leaflet.heat and Leaflet.VectorGrid come from our static files
(core/static/vendor), as links (`assets="static"`) or inlined (`assets="inline"`, for a file
that must open anywhere); folium's CDN defaults (jQuery, Bootstrap, awesome-markers) are
dropped. Without a tile server (`tiles=None`) the map shows boundaries and data on a plain
background.
"""

from __future__ import annotations

import json
from pathlib import Path

import folium
from branca.element import Element, MacroElement
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import Template

from .layers import Choropleth

VENDOR_JS = [
    ("leaflet", "vendor/leaflet/leaflet.js"),
    ("markercluster", "vendor/leaflet.markercluster/leaflet.markercluster.js"),
    ("heat", "vendor/leaflet.heat/leaflet-heat.js"),
    ("vectorgrid", "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
    ("childsafe_maps", "maps/maps.js"),
]
# Only pages with a server behind them read vector tiles: the inlined export leaves VectorGrid out.
SERVER_ONLY_JS = {"vectorgrid"}
VENDOR_CSS = [
    ("leaflet_css", "vendor/leaflet/leaflet.css"),
    ("markercluster_css", "vendor/leaflet.markercluster/MarkerCluster.css"),
    ("markercluster_default_css", "vendor/leaflet.markercluster/MarkerCluster.Default.css"),
    ("childsafe_maps_css", "maps/maps.css"),
]
SITE_LAYERS = [
    ("school_route", gettext_lazy("School routes")),
    ("drowning_hotspot", gettext_lazy("Drowning hotspots")),
    ("construction_site", gettext_lazy("Construction sites")),
    ("playground", gettext_lazy("Playgrounds")),
    ("school", gettext_lazy("Schools")),
]


def tiles_setting():
    """settings.CHILDSAFE_MAP_TILES: None (no tile server) or {"url": ..., "attribution": ...}."""
    return getattr(settings, "CHILDSAFE_MAP_TILES", None)


def _asset_text(path: str) -> str:
    found = finders.find(path)
    return Path(found).read_text(encoding="utf-8") if found else ""


def _add_assets(m: folium.Map, assets: str) -> None:
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    for name, path in VENDOR_CSS:
        if assets == "inline":
            header.add_child(Element(f"<style>{_asset_text(path)}</style>"), name=name)
        else:
            header.add_child(folium.CssLink(static(path)), name=name)
    for name, path in VENDOR_JS:
        if assets == "inline" and name in SERVER_ONLY_JS:
            continue
        if assets == "inline":
            header.add_child(Element(f"<script>{_asset_text(path)}</script>"), name=name)
        else:
            header.add_child(folium.JavascriptLink(static(path)), name=name)


def _bounds(collection: dict) -> list[list[float]] | None:
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], int | float):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for f in collection.get("features", []):
        walk(f["geometry"]["coordinates"])
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


class _Script(MacroElement):
    """A script run once the map exists; `body` may use {{map}} and the layer names given."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        (function () { var map = {{ this.map_name }}; {{ this.body }} })();
        {% endmacro %}"""
    )

    def __init__(self, map_name: str, body: str):
        super().__init__()
        self._name = "ChildSafeScript"
        self.map_name = map_name
        self.body = body


def _labels() -> dict:
    return {
        "value": _("Value"),
        "class": _("Class"),
        "details": _("Details"),
        "commune": _("Commune"),
        "communes": _("Show its communes"),
        "hidden": _("hidden to protect children's privacy"),
        "noData": _("No data"),
        "kinds": {
            "school_route": _("School route"),
            "drowning_hotspot": _("Drowning hotspot"),
            "construction_site": _("Construction site"),
            "playground": _("Playground"),
            "school": _("School"),
        },
    }


def base_map(*, bounds=None, tiles=None, assets: str = "static") -> folium.Map:
    if tiles:
        m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
        folium.TileLayer(
            tiles=tiles["url"], attr=tiles.get("attribution", ""), name=_("Base map"), max_zoom=18
        ).add_to(m)
    else:
        m = folium.Map(tiles=None, control_scale=True)
    _add_assets(m, assets)
    if bounds:
        m.fit_bounds(bounds)
    return m


def _legend_html(ch: Choropleth, title: str) -> str:
    rows = "".join(
        f'<li data-kind="{e.kind}"><span class="swatch" style="background:{e.color}"></span>'
        f'{escape(e.label)} <span class="count">({e.count})</span></li>'
        for e in ch.legend
    )
    note = ch.collection["meta"].get("footnote") or ""
    return (
        f'<div class="cs-legend" role="region" aria-label="{escape(_("Legend"))}">'
        f"<strong>{escape(title)}</strong><ul>{rows}</ul>"
        + (f'<p class="note">{escape(note)}</p>' if note else "")
        + "</div>"
    )


def _add_choropleth(m: folium.Map, ch: Choropleth, *, title: str) -> folium.GeoJson:
    layer = folium.GeoJson(
        ch.collection,
        name=title,
        style_function=lambda f: {
            "fillColor": f["properties"]["color"],
            "color": "#444444",
            "weight": 1,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "display"], aliases=[_("Unit"), title], sticky=True),
        zoom_on_click=False,
    )
    layer.add_to(m)
    legend = json.dumps(_legend_html(ch, title))
    labels = json.dumps(_labels())
    m.add_child(
        _Script(
            m.get_name(),
            f"var layer = {layer.get_name()}; var labels = {labels};"
            f"ChildSafeMaps.unitPopups(layer, labels); ChildSafeMaps.legend(map, {legend});",
        )
    )
    return layer


def _add_boundaries(m: folium.Map, boundaries: dict | None) -> None:
    if boundaries and boundaries.get("features"):
        folium.GeoJson(
            boundaries,
            name=_("Boundaries of the level above"),
            style_function=lambda f: {"color": "#000000", "weight": 2.5, "fill": False, "dashArray": "6 4"},
            interactive=False,
        ).add_to(m)


def site_tiles(kind: str, sites_url: str, template: str | None = None) -> dict:
    """What the page needs to draw one kind of site from the vector tiles (maps.js tileSites).

    `template` is a tile URL with {layer}, {z}, {x}, {y} (default: this server's /tiles/);
    `sites_url` the sites API, whose /<id>/ gives one site's details on a click.
    """
    layer = f"sites-{kind}"
    if template is None:
        template = reverse("tiles:tile", args=["LAYER", 0, 0, 0]).replace(
            "LAYER/0/0/0.pbf", "{layer}/{z}/{x}/{y}.pbf"
        )
    return {
        "kind": kind,
        "layer": layer,
        "url": template.replace("{layer}", layer),
        "detail": sites_url.rstrip("/") + "/{id}/",
    }


def _add_data_layers(m, *, api: dict | None, sites: dict | None, incidents: list | None, incident_mode: str):
    labels = json.dumps(_labels())
    script = [f"var labels = {labels};"]
    for kind, title in SITE_LAYERS:
        group = folium.FeatureGroup(name=str(title), show=kind in ("drowning_hotspot", "school_route"))
        group.add_to(m)
        if api and api.get("sites"):
            options = json.dumps(site_tiles(kind, api["sites"], api.get("tiles")))
            script.append(f"ChildSafeMaps.tileSites(map, {group.get_name()}, {options}, labels);")
        elif sites:
            chosen = [f for f in sites.get("features", []) if f["properties"].get("kind") == kind]
            data = json.dumps({"type": "FeatureCollection", "features": chosen})
            script.append(f"ChildSafeMaps.addSites({group.get_name()}, {data}, labels);")
    if (api and api.get("incidents")) or incidents is not None:
        group = folium.FeatureGroup(name=_("Incidents"), show=True)
        group.add_to(m)
        mode = json.dumps(incident_mode)
        if api and api.get("incidents"):
            url = json.dumps(api["incidents"])
            script.append(f"ChildSafeMaps.loadIncidents(map, {group.get_name()}, {url}, {mode});")
        else:
            script.append(f"ChildSafeMaps.addIncidents({group.get_name()}, {json.dumps(incidents)}, {mode});")
    m.add_child(_Script(m.get_name(), " ".join(script)))


def _build(
    ch: Choropleth,
    *,
    boundaries: dict | None,
    api: dict | None,
    sites: dict | None,
    incidents: list | None,
    tiles,
    assets: str,
    incident_mode: str,
) -> folium.Map:
    m = base_map(bounds=_bounds(ch.collection), tiles=tiles, assets=assets)
    title = str(ch.collection["meta"]["label"])
    _add_choropleth(m, ch, title=title)
    _add_boundaries(m, boundaries)
    _add_data_layers(m, api=api, sites=sites, incidents=incidents, incident_mode=incident_mode)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def risk_map(
    choropleth: Choropleth,
    *,
    boundaries: dict | None = None,
    api: dict | None = None,
    sites: dict | None = None,
    incidents: list | None = None,
    tiles=None,
    assets: str = "static",
) -> folium.Map:
    """Risk (or any indicator) choropleth with hazards, routes and, if given, incidents as a heat map."""
    return _build(
        choropleth,
        boundaries=boundaries,
        api=api,
        sites=sites,
        incidents=incidents,
        tiles=tiles,
        assets=assets,
        incident_mode="heat",
    )


def coverage_map(
    choropleth: Choropleth,
    *,
    boundaries: dict | None = None,
    api: dict | None = None,
    sites: dict | None = None,
    tiles=None,
    assets: str = "static",
) -> folium.Map:
    """Coverage choropleth with the sites to inspect (no incidents)."""
    return _build(
        choropleth,
        boundaries=boundaries,
        api=api and {"sites": api.get("sites")},
        sites=sites,
        incidents=None,
        tiles=tiles,
        assets=assets,
        incident_mode="heat",
    )


def incident_map(
    choropleth: Choropleth,
    *,
    boundaries: dict | None = None,
    api: dict | None = None,
    sites: dict | None = None,
    incidents: list | None = None,
    tiles=None,
    assets: str = "static",
) -> folium.Map:
    """Incident choropleth with incidents as clusters (for those who may see them) and hazards."""
    return _build(
        choropleth,
        boundaries=boundaries,
        api=api,
        sites=sites,
        incidents=incidents,
        tiles=tiles,
        assets=assets,
        incident_mode="cluster",
    )


BUILDERS = {"risk": risk_map, "coverage": coverage_map, "incidents": incident_map}


def builder_for(indicator: str):
    if indicator == "coverage":
        return coverage_map
    if indicator.startswith("incident") or indicator == "fatal_incidents":
        return incident_map
    return risk_map


def map_parts(m: folium.Map) -> dict:
    """The pieces of the rendered map to place in a page: header (links), html (the div), script."""
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render()}
