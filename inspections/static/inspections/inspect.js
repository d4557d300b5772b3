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

  // 5. No signal: the inspection (answers, position, photos) is saved on the phone with its UUID
  //    and sent later by offline-app.js; the inspector can also choose to do so with signal.
  var offline = window.ChildSafeOffline;
  var inOutbox = false;
  var saveButton = $("save-on-phone");
  if (offline && saveButton) {
    saveButton.hidden = false;
    offline.get(uuidInput.value).then(function (item) {
      inOutbox = !!item;
      if (inOutbox) { $("outbox-notice").hidden = false; }
    }).catch(function () { /* no IndexedDB: the form is sent the ordinary way */ });
  }

  function answersAndPhotos() {
    var answers = [], reads = [];
    Array.prototype.forEach.call(form.querySelectorAll(".item"), function (box) {
      var code = box.dataset.code;
      var checked = box.querySelector('input[type="radio"]:checked');
      var note = form.elements["note-" + code];
      answers.push({ item: code, value: checked ? checked.value : "", note: note ? note.value : "" });
      var input = box.querySelector('input[type="file"]');
      Array.prototype.forEach.call((input && input.files) || [], function (file) {
        // Read now: a photo just taken may be a temporary file the phone deletes later.
        reads.push(file.arrayBuffer().then(function (data) {
          return { item: code, name: file.name, type: file.type, blob: new Blob([data], { type: file.type }) };
        }));
      });
    });
    return Promise.all(reads).then(function (photos) { return { answers: answers, photos: photos }; });
  }

  function number(id) {
    var value = $(id).value.trim();
    return value === "" ? null : Number(value);
  }

  function saveOnPhone() {
    saveButton.disabled = true;
    submit.disabled = true;
    $("save-status").textContent = form.dataset.msgSaving;
    return answersAndPhotos().then(function (got) {
      var lon = number("id_lon"), lat = number("id_lat");
      var assignment = form.elements.assignment ? form.elements.assignment.value : "";
      return offline.saveInspection({
        client_uuid: uuidInput.value,
        site: Number(form.dataset.site),
        site_name: form.dataset.siteName,
        assignment: assignment ? Number(assignment) : null,
        template_version: Number(form.elements.template_version.value) || null,
        position: lon !== null && lat !== null ? { lon: lon, lat: lat } : null,
        gps_accuracy_m: number("id_accuracy"),
        findings: $("id_findings").value,
        answers: got.answers,
        photos: got.photos,
        form_url: window.location.pathname + window.location.search
      });
    }).then(function (item) {
      // Saved: forget the draft, so the next inspection of this site gets a new UUID.
      var store = storage();
      if (store) { store.removeItem(draftKey); }
      window.location.href = offline.offlinePage + "?saved=" + encodeURIComponent(item.client_uuid);
    }).catch(function (error) {
      saveButton.disabled = false;
      submit.disabled = false;
      $("save-status").textContent = form.dataset.msgSaveFailed + " " + (error && error.message ? error.message : "");
    });
  }

  function showConnection() {
    var line = $("save-status");
    if (!navigator.onLine) { line.textContent = form.dataset.msgOffline; }
    else if (line.textContent === form.dataset.msgOffline) { line.textContent = ""; }
  }

  if (offline && saveButton) {
    showConnection();
    window.addEventListener("online", showConnection);
    window.addEventListener("offline", showConnection);
    saveButton.addEventListener("click", function () {
      saveDraft();
      if (form.reportValidity()) { saveOnPhone(); }
    });
  }

  // 6. One send at a time; the UUID makes a second one harmless anyway.
  var submit = $("submit-inspection");
  var label = submit.textContent;
  form.addEventListener("submit", function (event) {
    saveDraft();
    if (offline && saveButton && (!navigator.onLine || inOutbox)) {
      event.preventDefault();
      saveOnPhone();
      return;
    }
    window.setTimeout(function () { submit.disabled = true; submit.textContent = form.dataset.msgSending; }, 0);
  });
  window.addEventListener("pageshow", function () {
    submit.disabled = false;
    submit.textContent = label;
    if (saveButton) { saveButton.disabled = false; }
  });

  var summary = $("error-summary");
  if (summary) { summary.focus(); }
})();
