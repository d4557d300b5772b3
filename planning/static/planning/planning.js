/* The planning map: commune boundaries from the page's own data (no tile server, works
   offline) coloured by children without access or by priority score, and, after "where to
   build", the villages served before / newly served / still without access and the picks.
   Leaflet comes from the project's vendored copy. */
(function () {
  "use strict";
  var dataEl = document.getElementById("planning-data");
  var mapEl = document.getElementById("planning-map");
  if (!dataEl || !mapEl || typeof L === "undefined") { return; }
  var data = JSON.parse(dataEl.textContent);
  var labels = data.labels;
  var values = data.values;
  var lang = document.documentElement.lang;

  // Sequential palette, light (least need) to dark (most need).
  var COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
  var NO_DATA = "#e0e0e0";

  function breaks(layer) {
    var xs = [];
    Object.keys(values).forEach(function (k) {
      var v = values[k][layer];
      if (v !== null && v !== undefined) { xs.push(v); }
    });
    var max = xs.length ? Math.max.apply(null, xs) : 0;
    return [0.2, 0.4, 0.6, 0.8].map(function (f) { return f * max; }).concat([max]);
  }

  function colour(v, b) {
    if (v === null || v === undefined) { return NO_DATA; }
    if (b[4] === 0) { return COLOURS[0]; }
    for (var i = 0; i < 4; i++) { if (v <= b[i]) { return COLOURS[i]; } }
    return COLOURS[4];
  }

  function fmt(v, layer) {
    if (v === null || v === undefined) { return labels.no_data; }
    return layer === "score" ? v.toFixed(3) : String(v);
  }

  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: false });
  var current = data.layer;
  var communes = L.geoJSON(data.communes, {
    style: function () { return { color: "#555", weight: 1, fillOpacity: 0.8 }; },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(function () {
        var v = values[f.properties.id] || {};
        var name = lang === "en" ? f.properties.name_en : f.properties.name;
        return name + "<br>" + labels[current] + ": " + fmt(v[current], current) +
          "<br>" + labels.rank + ": " + (v.rank || "—");
      }, { sticky: true });
    }
  }).addTo(map);

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    this._div = L.DomUtil.create("div", "planning-legend");
    return this._div;
  };
  legend.addTo(map);

  function paint(layer) {
    current = layer;
    var b = breaks(layer);
    communes.eachLayer(function (l) {
      var v = (values[l.feature.properties.id] || {})[layer];
      l.setStyle({ fillColor: colour(v, b) });
    });
    var html = "<strong>" + labels[layer] + "</strong>";
    var lo = 0;
    for (var i = 0; i < 5; i++) {
      html += '<div><i style="background:' + COLOURS[i] + '"></i> ' + fmt(lo, layer) + " – " + fmt(b[i], layer) + "</div>";
      lo = b[i];
    }
    html += '<div><i style="background:' + NO_DATA + '"></i> ' + labels.no_data + "</div>";
    legend._div.innerHTML = html;
    mapEl.setAttribute("data-layer", layer);
  }

  var bounds = communes.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds); } else { map.setView([22.4, 103.3], 9); }
  paint(current);

  document.querySelectorAll('input[name="map-layer"]').forEach(function (input) {
    input.addEventListener("change", function () {
      if (input.checked) {
        paint(input.value);
        var select = document.getElementById("id_layer");
        if (select) { select.value = input.value; }
      }
    });
  });

  if (data.siting) {
    var villages = L.layerGroup().addTo(map);
    data.siting.villages.forEach(function (v) {
      // [lon, lat, children, served before, served after]
      var style = v[3] ? { c: "#1a9850", t: labels.served_before }
        : (v[4] ? { c: "#2166ac", t: labels.newly_served } : { c: "#d73027", t: labels.unserved_after });
      L.circleMarker([v[1], v[0]], { radius: 3, color: style.c, fillColor: style.c, fillOpacity: 0.9, weight: 1 })
        .bindTooltip(style.t + " · " + v[2] + " " + labels.children)
        .addTo(villages);
    });
    var picks = L.layerGroup().addTo(map);
    data.siting.picks.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { radius: 9, color: "#000", weight: 2, fillColor: "#ffd700", fillOpacity: 1, className: "planning-pick" })
        .bindTooltip(String(p.order), { permanent: true, direction: "center", className: "planning-pick-label" })
        .bindPopup(labels.pick + " " + p.order + ": +" + p.children + " " + labels.children)
        .addTo(picks);
    });
    var key = L.control({ position: "topright" });
    key.onAdd = function () {
      var div = L.DomUtil.create("div", "planning-legend");
      div.innerHTML = '<div><i class="dot" style="background:#ffd700;border:2px solid #000"></i> ' + labels.pick + "</div>" +
        '<div><i class="dot" style="background:#1a9850"></i> ' + labels.served_before + "</div>" +
        '<div><i class="dot" style="background:#2166ac"></i> ' + labels.newly_served + "</div>" +
        '<div><i class="dot" style="background:#d73027"></i> ' + labels.unserved_after + "</div>";
      return div;
    };
    key.addTo(map);
  }
})();
