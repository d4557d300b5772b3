/* The inspection form: a client UUID made once per inspection (so a resend is stored once),
   "use my location" from the phone's GPS, photo inputs for failed items, and a draft kept
   on the phone so that nothing typed is lost when the page is closed or the network drops. */
(function () {
  "use strict";
  var form = document.getElementById("inspection-form");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var uuidInput = $("id_client_uuid");
  var draftKey = "childsafe.inspection-draft.site-" + form.dataset.site;
  var bound = form.dataset.bound === "1";

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Pages served over plain http (no secure context) still have getRandomValues.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function fieldValues() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.type === "file" || input.name === "csrfmiddlewaretoken") { return; }
      if (input.type === "radio") {
        if (input.checked) { values[input.name] = input.value; }
      } else if (input.type !== "submit" && input.type !== "button") {
        values[input.name] = input.value;
      }
    });
    return values;
  }

  function saveDraft() {
    var store = storage();
    if (!store) { return; }
    try {
      store.setItem(draftKey, JSON.stringify({
        version: form.dataset.templateVersion, saved: new Date().toISOString(), values: fieldValues()
      }));
    } catch (e) { /* storage full or refused: the server still keeps what is sent */ }
  }

  function restoreDraft() {
    var store = storage();
    var raw = store && store.getItem(draftKey);
    if (!raw) { return false; }
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { return false; }
    var values = draft && draft.values;
    var assignment = form.elements.assignment ? form.elements.assignment.value : "";
    if (!values || draft.version !== form.dataset.templateVersion || (values.assignment || "") !== assignment) {
      return false;
    }
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || !(input.name in values) || input.type === "file" || input.name === "csrfmiddlewaretoken") {
        return;
      }
      if (input.type === "radio") { input.checked = values[input.name] === input.value; }
      else if (input.type !== "submit" && input.type !== "button") { input.value = values[input.name]; }
    });
    return true;
  }

  // 1. What was typed earlier on this phone, unless the server just drew the form again with it.
  if (!bound && restoreDraft() && uuidInput.value) {
    $("draft-notice").hidden = false;
  }
  // 2. The client UUID: made once, then kept in the form (and in the draft) for every resend.
  //    (The draft is written from the first thing typed on, so merely opening the form leaves none.)
  if (!uuidInput.value) {
    uuidInput.value = newUuid();
  }

  // "Start again" links forget the draft first, so the fresh form gets a new UUID.
  Array.prototype.forEach.call(document.querySelectorAll(".js-discard"), function (link) {
    link.addEventListener("click", function () {
      var store = storage();
      if (store) { store.removeItem(draftKey); }
    });
  });

  // 3. Use my location.
  var status = $("location-status");
  var button = $("use-location");
  function say(text) { status.textContent = text; }
  button.addEventListener("click", function () {
    if (!navigator.geolocation) { say(form.dataset.msgUnsupported); return; }
    say(form.dataset.msgLocating);
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      button.disabled = false;
      $("id_lon").value = pos.coords.longitude.toFixed(6);
      $("id_lat").value = pos.coords.latitude.toFixed(6);
      $("id_accuracy").value = (Math.round(pos.coords.accuracy * 10) / 10).toString();
      say(form.dataset.msgLocated + " ±" + Math.round(pos.coords.accuracy) + " m");
      saveDraft();
    }, function (err) {
      button.disabled = false;
      var messages = { 1: form.dataset.msgDenied, 2: form.dataset.msgUnavailable, 3: form.dataset.msgTimeout };
      say(messages[err.code] || form.dataset.msgUnavailable);
    }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 0 });
  });

  // 4. A photo input under each failed item (all of them stay visible without JavaScript).
  function refreshPhotos() {
    Array.prototype.forEach.call(form.querySelectorAll(".item"), function (item) {
      var photo = item.querySelector(".photo");
      if (!photo) { return; }
      var failed = item.querySelector('input[type="radio"][value="fail"]:checked');
      var input = photo.querySelector('input[type="file"]');
      var keep = failed || (input && input.files && input.files.length) || photo.querySelector(".field-error");
      photo.classList.toggle("is-hidden", !keep);
    });
  }
  refreshPhotos();

  form.addEventListener("change", function () { refreshPhotos(); saveDraft(); });
  form.addEventListener("input", saveDraft);

  // 5. One send at a time; the UUID makes a second one harmless anyway.
  var submit = $("submit-inspection");
  var label = submit.textContent;
  form.addEventListener("submit", function () {
    saveDraft();
    window.setTimeout(function () { submit.disabled = true; submit.textContent = form.dataset.msgSending; }, 0);
  });
  window.addEventListener("pageshow", function () { submit.disabled = false; submit.textContent = label; });

  var summary = $("error-summary");
  if (summary) { summary.focus(); }
})();
