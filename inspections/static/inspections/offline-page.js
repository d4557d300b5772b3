/* "On this phone": the inspections kept on the phone with their state (waiting, sent, refused with
   the server's reason), "Send now", the map of the inspector's sites and his assignments, all
   drawn from IndexedDB so that the page works with no signal. Sending is offline-app.js's job. */
(function () {
  "use strict";
  var app = window.ChildSafeOffline;
  var root = document.getElementById("offline-page");
  if (!root) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var M = {};
  try { M = JSON.parse($("offline-messages").textContent); } catch (e) { M = {}; }
  if (!app) {
    $("connection").textContent = M.not_ready || "";
    return;
  }
  var savedNow = new URLSearchParams(window.location.search).get("saved");

  function node(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { el.textContent = text; }
    return el;
  }

  function when(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getDate()) + "/" + pad(d.getMonth() + 1) + "/" + d.getFullYear() + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function reason(item) {
    var code = item.error_code;
    if (code === "photo_refused") {
      return (M.photo_refused || "%(name)s: %(reason)s")
        .replace("%(name)s", item.error_photo || "").replace("%(reason)s", item.error || "");
    }
    var parts = [];
    if (code && M[code]) { parts.push(M[code]); }
    if (item.error) { parts.push(item.error); }
    return parts.join(" ");
  }

  function statusLabel(item) {
    return { waiting: M.waiting, sending: M.sending, sent: M.sent, refused: M.refused }[item.status] || item.status;
  }

  function button(label, cls, onClick) {
    var b = node("button", { type: "button", "class": "btn " + cls }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  function draftFrom(item, withAssignment) {
    // The form's own draft (see inspect.js), so that "edit" opens the form with everything filled in.
    var values = {
      client_uuid: item.client_uuid,
      performed_at: item.performed_at,
      template_version: String(item.template_version || ""),
      assignment: withAssignment && item.assignment ? String(item.assignment) : "",
      lon: item.position ? String(item.position.lon) : "",
      lat: item.position ? String(item.position.lat) : "",
      accuracy: item.gps_accuracy_m === null || item.gps_accuracy_m === undefined ? "" : String(item.gps_accuracy_m),
      findings: item.findings || ""
    };
    item.answers.forEach(function (a) {
      values["answer-" + a.item] = a.value;
      values["note-" + a.item] = a.note || "";
    });
    try {
      window.localStorage.setItem("childsafe.inspection-draft.site-" + item.site, JSON.stringify({
        version: String(item.template_version || ""), saved: new Date().toISOString(), values: values
      }));
      return true;
    } catch (e) { return false; }
  }

  function edit(item) {
    // A refusal about the assignment (e.g. cancelled meanwhile): the edited form goes without it.
    var aboutAssignment = (item.refused_fields || []).indexOf("assignment") !== -1;
    var withAssignment = !aboutAssignment;
    draftFrom(item, withAssignment);
    var url = item.form_url || "";
    if (!withAssignment) { url = url.split("?")[0]; }
    window.location.href = url;
  }

  function renderItem(item) {
    var li = node("li", { "class": "outbox-item status-" + item.status, "data-uuid": item.client_uuid,
                          "data-status": item.status, id: "outbox-" + item.client_uuid });
    if (item.client_uuid === savedNow) { li.classList.add("just-saved"); }
    var head = node("p", { "class": "outbox-head" });
    head.appendChild(node("strong", { "class": "site-name" }, item.site_name));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(node("span", { "class": "badge state state-" + item.status }, statusLabel(item)));
    li.appendChild(head);
    li.appendChild(node("p", { "class": "muted small" }, (M.saved_at || "") + ": " + when(item.saved_at)));
    if (item.photos.length) {
      var sent = item.photos.filter(function (p) { return p.status === "sent"; }).length;
      li.appendChild(node("p", { "class": "small photos-state" },
        (M.photos || "") + ": " + item.photos.length + " (" + sent + " " + (M.photos_sent || "") + ")"));
    }
    var why = reason(item);
    if (!app.isMine(item)) {
      why = (M.other_user || "").replace("%(user)s", item.user);
    }
    if (why && item.status !== "sent") {
      li.appendChild(node("p", { "class": item.status === "refused" ? "field-error reason" : "muted reason" }, why));
    }
    if (item.status === "sent" && item.server && (item.server.flags || []).indexOf("reassigned") !== -1) {
      li.appendChild(node("p", { "class": "muted small flag-reassigned" }, M.flag_reassigned));
    }
    var actions = node("div", { "class": "outbox-actions" });
    if (item.status === "refused" && app.isMine(item)) {
      actions.appendChild(button(M.retry, "btn-secondary js-retry", function () { app.retry(item.client_uuid); }));
      if (!item.posted && item.form_url) {
        actions.appendChild(button(M.edit, "btn-secondary js-edit", function () { edit(item); }));
      }
    }
    if (item.status === "sent") {
      var link = node("a", { href: root.dataset.detailPrefix + item.client_uuid + "/", "class": "btn btn-secondary" }, M.see);
      actions.appendChild(link);
    }
    if (item.status !== "sending") {
      actions.appendChild(button(M.discard, "btn-secondary js-discard", function () {
        var question = item.status === "sent" || item.posted ? M.discard_sent_confirm : M.discard_confirm;
        if (window.confirm(question)) { app.remove(item.client_uuid); }
      }));
    }
    li.appendChild(actions);
    return li;
  }

  function renderQueue() {
    return app.list().then(function (items) {
      var list = $("outbox");
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items.forEach(function (item) { list.appendChild(renderItem(item)); });
      $("outbox-empty").hidden = items.length > 0;
      $("outbox-empty").textContent = M.nothing || "";
      $("clear-sent").hidden = !items.some(function (i) { return i.status === "sent"; });
      var waiting = items.filter(function (i) { return i.status !== "sent"; }).length;
      root.dataset.waiting = String(waiting);
      root.dataset.total = String(items.length);
    });
  }

  function renderConnection() {
    var online = navigator.onLine;
    var el = $("connection");
    el.textContent = online ? M.online : M.offline;
    el.className = "connection " + (online ? "is-online" : "is-offline");
    $("send-now").disabled = !online;
  }

  var drawnFetched = null;
  function renderBundle() {
    return app.bundle().then(function (record) {
      var ready = $("offline-ready");
      if (!record || !record.data) {
        ready.textContent = M.not_ready || "";
        return;
      }
      var data = record.data;
      ready.textContent = (M.ready || "") + " · " + (M.downloaded || "") + " " + when(new Date(record.fetched).toISOString()) +
        " · " + data.assignments.length + " " + (M.assignments || "");
      if (drawnFetched === record.fetched) { return; }
      drawnFetched = record.fetched;
      var box = $("offline-map-box");
      var drawn = window.ChildSafeSiteMap &&
        window.ChildSafeSiteMap.draw($("offline-map"), data.sites, { boundaries: data.boundaries });
      box.hidden = !drawn;
      var list = $("offline-assignments");
      while (list.firstChild) { list.removeChild(list.firstChild); }
      if (!data.assignments.length) {
        list.appendChild(node("li", { "class": "empty" }, M.no_assignments));
      }
      data.assignments.forEach(function (a) {
        var li = node("li", { "class": "taskcard" + (a.overdue ? " is-overdue" : ""), id: "offline-assignment-" + a.id });
        var link = node("a", { "class": "taskcard-link", href: a.url });
        link.appendChild(node("span", { "class": "marker-number", "aria-hidden": "true" }, String(a.number)));
        var body = node("span", { "class": "taskcard-body" });
        body.appendChild(node("strong", { "class": "site-name" }, a.site_name));
        body.appendChild(node("span", { "class": "muted" }, a.site_kind_label + (a.commune ? " · " + a.commune : "")));
        var due = a.due_date.split("-").reverse().join("/");
        body.appendChild(node("span", { "class": "due" }, (M.due || "") + ": " + due + (a.overdue ? " · " + M.overdue : "")));
        link.appendChild(body);
        link.appendChild(node("span", { "class": "go", "aria-hidden": "true" }, "›"));
        li.appendChild(link);
        list.appendChild(li);
      });
    });
  }

  function render() {
    renderConnection();
    return Promise.all([renderQueue(), renderBundle()]).catch(function (error) {
      if (window.console) { window.console.error(error); }
    });
  }

  $("send-now").addEventListener("click", function () { app.sync(); });
  $("clear-sent").addEventListener("click", function () {
    app.list().then(function (items) {
      return Promise.all(items.filter(function (i) { return i.status === "sent"; }).map(function (i) {
        return app.remove(i.client_uuid);
      }));
    });
  });
  app.onChange(render);
  window.addEventListener("online", render);
  window.addEventListener("offline", render);
  render();
})();
