/* A small offline map: GeoJSON features drawn as inline SVG. No tiles and no library, so it
   works with no network at all. Each feature links to its inspection form and carries the
   number of its row in the list. "My assignments" embeds its features in the page; the
   "On this phone" page draws the sites and area boundaries kept in the phone's IndexedDB
   through window.ChildSafeSiteMap.draw(svg, features, {boundaries: [...]}). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function rings(geom) {
    // Every coordinate list of a geometry, with how to draw it.
    var t = geom.type, c = geom.coordinates, out = [];
    if (t === "Point") { out.push({ kind: "point", coords: [c] }); }
    else if (t === "MultiPoint") { c.forEach(function (p) { out.push({ kind: "point", coords: [p] }); }); }
    else if (t === "LineString") { out.push({ kind: "line", coords: c }); }
    else if (t === "MultiLineString") { c.forEach(function (l) { out.push({ kind: "line", coords: l }); }); }
    else if (t === "Polygon") { c.forEach(function (r) { out.push({ kind: "area", coords: r }); }); }
    else if (t === "MultiPolygon") {
      c.forEach(function (poly) { poly.forEach(function (r) { out.push({ kind: "area", coords: r }); }); });
    }
    return out;
  }

  function draw(svg, features, options) {
    var boundaries = (options && options.boundaries) || [];
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    function extend(list) {
      list.forEach(function (f) {
        f._parts = f.geometry ? rings(f.geometry) : [];
        f._parts.forEach(function (part) {
          part.coords.forEach(function (p) {
            if (p[0] < minX) { minX = p[0]; } if (p[0] > maxX) { maxX = p[0]; }
            if (p[1] < minY) { minY = p[1]; } if (p[1] > maxY) { maxY = p[1]; }
          });
        });
      });
    }
    // The view fits the sites; the area's boundaries are drawn around them (or alone, if no site).
    extend(features);
    if (!isFinite(minX)) { extend(boundaries); } else { boundaries.forEach(function (b) { b._parts = b.geometry ? rings(b.geometry) : []; }); }
    if (!isFinite(minX)) { return false; }
    // Equirectangular projection scaled by cos(latitude): true shapes at this size.
    var k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
    var spanX = Math.max((maxX - minX) * k, 0.01), spanY = Math.max(maxY - minY, 0.01);
    var W = 1000, H = Math.round(W * 0.75);
    if (spanX / spanY < W / H) { spanX = spanY * W / H; } else { spanY = spanX * H / W; }
    var pad = 0.12, cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
    spanX *= 1 + 2 * pad; spanY *= 1 + 2 * pad;
    var scale = W / spanX;
    function project(p) {
      return [(p[0] - cx) * k * scale + W / 2, (cy - p[1]) * scale + H / 2];
    }
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");

    function el(name, attrs, parent) {
      var node = document.createElementNS(NS, name);
      Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
      if (parent) { parent.appendChild(node); }
      return node;
    }
    function pathData(coords, close) {
      return coords.map(function (p, i) {
        var xy = project(p);
        return (i ? "L" : "M") + xy[0].toFixed(1) + " " + xy[1].toFixed(1);
      }).join(" ") + (close ? " Z" : "");
    }

    var radius = 34;
    // Areas and lines first, then the numbered markers on top.
    var outlines = el("g", { "class": "boundaries" }, svg);
    boundaries.forEach(function (b) {
      var props = b.properties || {};
      var group = el("g", { "class": "boundary" }, outlines);
      el("title", {}, group).textContent = props.name || "";
      b._parts.forEach(function (part) {
        if (part.kind === "area") {
          el("path", { d: pathData(part.coords, true), "vector-effect": "non-scaling-stroke" }, group);
        }
      });
    });
    var shapes = el("g", {}, svg), markers = el("g", {}, svg);
    features.forEach(function (f) {
      var props = f.properties || {};
      var cls = "feature" + (props.overdue ? " overdue" : "");
      var link = el("a", { href: props.url, "class": cls }, shapes);
      el("title", {}, link).textContent = props.number + ". " + props.name + " (" + (props.kind_label || props.kind) + ")";
      // The marker sits at the middle of the feature's extent (a line's middle vertex for routes).
      var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity], anchor = null;
      f._parts.forEach(function (part) {
        if (part.kind === "area" || part.kind === "line") {
          el("path", { d: pathData(part.coords, part.kind === "area"), "class": part.kind,
                       "vector-effect": "non-scaling-stroke" }, link);
        }
        if (part.kind === "line" && !anchor) { anchor = part.coords[Math.floor(part.coords.length / 2)]; }
        part.coords.forEach(function (p) {
          lo = [Math.min(lo[0], p[0]), Math.min(lo[1], p[1])];
          hi = [Math.max(hi[0], p[0]), Math.max(hi[1], p[1])];
        });
      });
      if (!isFinite(lo[0])) { return; }
      anchor = anchor || [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2];
      var xy = project(anchor);
      var mark = el("a", { href: props.url, "class": cls }, markers);
      el("title", {}, mark).textContent = props.number + ". " + props.name + " (" + (props.kind_label || props.kind) + ")";
      el("circle", { cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: radius }, mark);
      var label = el("text", { x: xy[0].toFixed(1), y: xy[1].toFixed(1), "font-size": 36 }, mark);
      label.textContent = String(props.number);
    });

    // Scale bar: a round number of km near a fifth of the width.
    var kmPerUnit = (111.32 / scale);
    var target = kmPerUnit * W / 5, steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100];
    var km = steps[0];
    steps.forEach(function (s) { if (s <= target) { km = s; } });
    var len = km / kmPerUnit;
    var bar = el("g", { "class": "scale" }, svg);
    el("line", { x1: 20, y1: H - 24, x2: 20 + len, y2: H - 24 }, bar);
    el("line", { x1: 20, y1: H - 32, x2: 20, y2: H - 16 }, bar);
    el("line", { x1: 20 + len, y1: H - 32, x2: 20 + len, y2: H - 16 }, bar);
    var text = el("text", { x: 28 + len, y: H - 24, "font-size": 30 }, bar);
    text.textContent = km + " km";
    return true;
  }

  window.ChildSafeSiteMap = { draw: draw };

  var dataEl = document.getElementById("site-features");
  var pageSvg = document.getElementById("site-map");
  if (!dataEl || !pageSvg) { return; }
  var pageFeatures = JSON.parse(dataEl.textContent || "[]");
  if (!pageFeatures.length) {
    var box = document.getElementById("sitemap-box");
    if (box) { box.hidden = true; }
    return;
  }
  draw(pageSvg, pageFeatures);
})();
