/* ChildSafe Map: the behaviour of the folium maps (popups, legend, drill-down, sites drawn
   from the vector tiles, incidents from the API). No dependency but Leaflet and its vendored
   plugins (markercluster, heat, VectorGrid). */
window.ChildSafeMaps = (function () {
  "use strict";
  var ICONS = {
    drowning_hotspot: ["≈", "#0868ac"],
    construction_site: ["▲", "#d95f0e"],
    playground: ["●", "#238b45"],
    school: ["■", "#6a51a3"],
    village: ["⌂", "#525252"]
  };

  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function unitPopups(layer, labels) {
    layer.eachLayer(function (l) {
      var p = l.feature.properties;
      if (p.drill_url) {
        // A district (or the province): a click opens its communes (districts).
        l.on("click", function () { window.location.href = p.drill_url; });
        return;
      }
      var value = p.suppressed ? 'x <span title="' + esc(labels.hidden) + '">*</span>' : esc(p.display);
      l.bindPopup(
        "<strong>" + esc(p.name) + "</strong><br>" + esc(labels.value) + ": " + value +
        "<br>" + esc(labels["class"]) + ": " + esc(p.class_label) +
        '<br><a href="' + esc(p.detail_url) + '">' + esc(labels.details) + "</a>"
      );
    });
  }

  function legend(map, html) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "cs-legend-wrap");
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
  }

  function siteMarker(labels) {
    return function (feature, latlng) {
      var icon = ICONS[feature.properties.kind] || ["•", "#333333"];
      return L.marker(latlng, {
        icon: L.divIcon({
          className: "cs-icon cs-icon-" + feature.properties.kind,
          html: '<span style="background:' + icon[1] + '">' + icon[0] + "</span>",
          iconSize: [20, 20]
        }),
        title: feature.properties.name
      });
    };
  }

  function addSites(group, collection, labels) {
    L.geoJSON(collection, {
      pointToLayer: siteMarker(labels),
      style: function (f) {
        return f.properties.kind === "school_route"
          ? { color: "#d7301f", weight: 3 }
          : { color: (ICONS[f.properties.kind] || ["", "#333"])[1], weight: 2, fillOpacity: 0.3 };
      },
      onEachFeature: function (f, l) {
        var kind = (labels.kinds || {})[f.properties.kind] || f.properties.kind;
        l.bindTooltip(esc(f.properties.name) + " (" + esc(kind) + ")");
      }
    }).addTo(group);
  }

  // Sites from vector tiles (/tiles/sites-<kind>/{z}/{x}/{y}.pbf, scoped to the reader by the
  // session cookie). Below the tile server's clustering zoom a feature is a cluster of `count`
  // sites of one kind (without a name); single sites carry id, kind, name. Drawn as SVG in a
  // pane of their own above the choropleth, so that clicks beside a site still reach the units.
  var SITES_PANE = "csSites";
  var ROUTE_COLOUR = "#d7301f";

  function sitesPane(map) {
    if (!map.getPane(SITES_PANE)) {
      map.createPane(SITES_PANE).style.zIndex = 450;
    }
    return SITES_PANE;
  }

  function kindColour(kind) {
    return kind === "school_route" ? ROUTE_COLOUR : (ICONS[kind] || ["", "#333333"])[1];
  }

  function siteStyle(kind) {
    var colour = kindColour(kind);
    return function (p) {
      var count = p.count || 1;
      if (kind === "school_route" && p.name !== undefined) {
        return { color: colour, weight: 3, opacity: 0.9, fill: false };  // a route at detail zooms
      }
      return {
        radius: count > 1 ? Math.min(22, 6 + 3 * Math.log(count) / Math.LN2) : 6,
        color: "#ffffff", weight: 1.5, opacity: 1,
        fill: true, fillColor: colour, fillOpacity: count > 1 ? 0.7 : 0.95
      };
    };
  }

  function siteLabel(p, labels) {
    var kind = (labels.kinds || {})[p.kind] || p.kind;
    if ((p.count || 1) > 1) { return esc(p.count) + " × " + esc(kind); }
    return (p.name ? esc(p.name) + " " : "") + "(" + esc(kind) + ")";
  }

  function sitePopup(map, latlng, p, detailUrl, labels) {
    var popup = L.popup().setLatLng(latlng).setContent(siteLabel(p, labels)).openOn(map);
    if (!p.id) { return; }
    var url = detailUrl.replace("{id}", encodeURIComponent(p.id));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) {
        if (!f || !f.properties) { return; }
        var q = f.properties;
        var kind = (labels.kinds || {})[q.kind] || q.kind;
        popup.setContent(
          "<strong>" + esc(q.name) + "</strong><br>" + esc(kind) +
          (q.commune_name ? "<br>" + esc(labels.commune) + ": " + esc(q.commune_name) : "") +
          '<br><a href="' + esc(url) + '">' + esc(labels.details) + "</a>"
        );
      })
      .catch(function () { /* the popup keeps the name from the tile */ });
  }

  // Leaflet 1.9 takes the position of a mouse event on a small circle marker from the marker's
  // getLatLng(); VectorGrid's point symbolizers (circle markers drawn in tile pixels) have no
  // latlng, so Leaflet would throw on every hover or click. Give them one, from their tile.
  function pointsHaveLatLng(grid) {
    var probe = grid._createLayer({ type: 1, geometry: [[{ x: 0, y: 0 }]], properties: {} }, L.point(1, 1));
    var proto = Object.getPrototypeOf(probe);
    if (proto.csLatLng) { return; }
    proto.csLatLng = true;
    proto.getLatLng = function () {
      var r = this._renderer;
      if (!this._latlng && r && r._map && r._tileCoord) {
        this._latlng = r._map.unproject(r._tileCoord.scaleBy(r._size).add(this._point), r._tileCoord.z);
      }
      return this._latlng;
    };
  }

  // One vector-tile layer of one kind of site, added to `group` (the layer control's entry).
  // options: {kind, url: tile URL template with {z}/{x}/{y}, layer: name of the layer inside the
  // tile, detail: URL of one site with {id}}.
  function tileSites(map, group, options, labels) {
    var styles = {};
    styles[options.layer] = siteStyle(options.kind);
    var grid = L.vectorGrid.protobuf(options.url, {
      rendererFactory: L.svg.tile,
      vectorTileLayerStyles: styles,
      interactive: true,
      pane: sitesPane(map),
      maxNativeZoom: 20,
      fetchOptions: { credentials: "same-origin" }
    });
    pointsHaveLatLng(grid);
    var tooltip = L.tooltip({ direction: "top", offset: [0, -6] });
    grid.on("mouseover", function (e) {
      tooltip.setLatLng(e.latlng).setContent(siteLabel(e.layer.properties, labels));
      map.openTooltip(tooltip);
    });
    grid.on("mouseout", function () { map.closeTooltip(tooltip); });
    grid.on("click", function (e) {
      var p = e.layer.properties;
      if ((p.count || 1) > 1) {
        map.setView(e.latlng, Math.min(map.getZoom() + 2, map.getMaxZoom() || 20));
        return;
      }
      sitePopup(map, e.latlng, p, options.detail, labels);
    });
    group.addLayer(grid);
    return grid;
  }

  function addIncidents(group, points, mode) {
    if (mode === "heat" && L.heatLayer) {
      L.heatLayer(points.map(function (p) { return [p[1], p[0], 1]; }), { radius: 20, blur: 15 }).addTo(group);
      return;
    }
    var cluster = L.markerClusterGroup ? L.markerClusterGroup() : L.layerGroup();
    points.forEach(function (p) { cluster.addLayer(L.circleMarker([p[1], p[0]], { radius: 5, color: "#b10026" })); });
    cluster.addTo(group);
  }

  function loadIncidents(map, group, url, mode) {
    var loaded = false;
    function load() {
      if (loaded || !map.hasLayer(group)) { return; }
      loaded = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var rows = data.results || data;
          var points = rows.filter(function (r) { return r.location; })
            .map(function (r) { return [r.location.lon, r.location.lat]; });
          addIncidents(group, points, mode);
        });
    }
    map.on("overlayadd", function (e) { if (e.layer === group) { load(); } });
    map.whenReady(load);
  }

  return {
    esc: esc, unitPopups: unitPopups, legend: legend, addSites: addSites, tileSites: tileSites,
    addIncidents: addIncidents, loadIncidents: loadIncidents
  };
})();
