/* ChildSafe Map: the behaviour of the folium maps (popups, legend, drill-down, layers loaded
   from the API for the visible box). No dependency but Leaflet and its two vendored plugins. */
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

  function boxParam(map) {
    var b = map.getBounds();
    var clamp = function (v, lim) { return Math.max(-lim, Math.min(lim, v)).toFixed(5); };
    return [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)].join(",");
  }

  function loader(map, group, url, draw) {
    var last = null;
    function load() {
      if (!map.hasLayer(group)) { return; }
      var q = url + (url.indexOf("?") >= 0 ? "&" : "?") + "bbox=" + boxParam(map);
      if (q === last) { return; }
      last = q;
      fetch(q, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && q === last) { group.clearLayers(); draw(data); } })
        .catch(function () { last = null; });
    }
    map.on("moveend", load);
    map.on("overlayadd", function (e) { if (e.layer === group) { load(); } });
    map.whenReady(load);
  }

  function loadSites(map, group, url, labels) {
    loader(map, group, url, function (data) { addSites(group, data, labels); });
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
    esc: esc, unitPopups: unitPopups, legend: legend, addSites: addSites, loadSites: loadSites,
    addIncidents: addIncidents, loadIncidents: loadIncidents
  };
})();
