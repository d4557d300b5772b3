/* ChildSafe Map on the inspector's phone: works with no signal, loses nothing, doubles nothing.

   - registers the service worker (which serves cached pages and static files offline);
   - downloads the inspector's bundle (his assignments, their sites, checklists, area
     boundaries) into IndexedDB and keeps his pages in the cache, while there is signal;
   - keeps the queue of inspections saved on the phone (IndexedDB, with their photos as
     Blobs, keyed by the client UUID) and sends it, oldest first, through the idempotent API:
     the inspection once (a resend returns the stored one), then each photo on its own with
     retries (the server stores a photo once per inspection by its content). Each item is
     "waiting", "sent" or "refused" with the server's reason; a refused item stays on the
     phone until the inspector discards or edits it. Nothing is ever dropped silently.

   Sending is driven from the page (on load, on the "online" event, on "Send now"), never by the
   service worker, so every request is an ordinary page request. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("indexedDB" in window)) { return; }
  var cfg = script.dataset;
  var DB_NAME = "childsafe-field";
  var PAGES_CACHE = "childsafe-pages";
  var BUNDLE_MAX_AGE_MS = 10 * 60 * 1000;
  var PHOTO_TRIES = 3;
  var listeners = [];

  // --- IndexedDB ---------------------------------------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var d = request.result;
          if (!d.objectStoreNames.contains("outbox")) { d.createObjectStore("outbox", { keyPath: "client_uuid" }); }
          if (!d.objectStoreNames.contains("meta")) { d.createObjectStore("meta", { keyPath: "key" }); }
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function tx(store, mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("aborted")); };
        var request = work(t.objectStore(store));
        if (request) { request.onsuccess = function () { result = request.result; }; }
      });
    });
  }

  function all() {
    return tx("outbox", "readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }
  function get(uuid) { return tx("outbox", "readonly", function (s) { return s.get(uuid); }); }
  function put(item) { return tx("outbox", "readwrite", function (s) { return s.put(item); }); }
  function remove(uuid) {
    return tx("outbox", "readwrite", function (s) { return s.delete(uuid); }).then(changed);
  }
  function meta(key) { return tx("meta", "readonly", function (s) { return s.get(key); }); }
  function putMeta(value) { return tx("meta", "readwrite", function (s) { return s.put(value); }); }

  function changed() {
    var badge = document.getElementById("outbox-count");
    if (badge) {
      all().then(function (items) {
        var open = items.filter(function (i) { return i.status !== "sent"; }).length;
        badge.textContent = String(open);
        badge.hidden = open === 0;
      }).catch(function () { /* the badge is only a hint */ });
    }
    listeners.forEach(function (fn) { try { fn(); } catch (e) { /* a listener's own problem */ } });
  }

  // --- saving an inspection on the phone -------------------------------------------------------------
  /* `record`: {client_uuid, site, site_name, assignment, template_version, position, gps_accuracy_m,
     findings, answers: [{item, value, note}], photos: [{item, name, type, blob}], form_url}.
     Saving again under the same UUID (an edit) replaces the answers and keeps the photos already
     on the phone, apart from those the server refused. */
  function saveInspection(record) {
    return get(record.client_uuid).then(function (old) {
      var now = new Date();
      var photos = (old ? old.photos.filter(function (p) { return p.status !== "refused"; }) : []);
      (record.photos || []).forEach(function (p) {
        photos.push({ id: newId(), item: p.item, name: p.name || "photo.jpg", type: p.type || "",
                      blob: p.blob, size: p.blob ? p.blob.size : 0, status: "waiting", error: "" });
      });
      var item = {
        client_uuid: record.client_uuid,
        // Whose it is: a phone shared by two inspectors sends each one's inspections under his own login.
        user: cfg.user || "",
        seq: old ? old.seq : now.getTime() + Math.random(),
        saved_at: now.toISOString(),
        site: record.site,
        site_name: record.site_name || "",
        assignment: record.assignment || null,
        template_version: record.template_version || null,
        // The time of the inspection is when it was saved, not when the (cached) form was drawn.
        performed_at: (old && old.performed_at) || record.performed_at || now.toISOString(),
        position: record.position || null,
        gps_accuracy_m: record.gps_accuracy_m === undefined ? null : record.gps_accuracy_m,
        findings: record.findings || "",
        answers: record.answers,
        photos: photos,
        form_url: record.form_url || "",
        status: "waiting",
        error_code: "",
        error: "",
        posted: false,
        server: null,
        attempts: old ? old.attempts : 0
      };
      return put(item).then(function () { changed(); return item; });
    });
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // --- sending ---------------------------------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : (cfg.csrf || "");
  }

  function flatten(data) {
    // The server's reason as sentences: {"assignment": ["…"]}, {"detail": "…"}, nested lists.
    var out = [];
    (function walk(value) {
      if (value === null || value === undefined) { return; }
      if (typeof value === "string") { out.push(value); return; }
      if (Array.isArray(value)) { value.forEach(walk); return; }
      if (typeof value === "object") { Object.keys(value).forEach(function (k) { walk(value[k]); }); return; }
      out.push(String(value));
    })(data);
    return out.join(" ");
  }

  function reasonOf(response) {
    return reasonAndFields(response).then(function (got) { return got[0]; });
  }

  // [the server's sentences, the fields they are about] of a refusal.
  function reasonAndFields(response) {
    return response.text().then(function (text) {
      try {
        var data = JSON.parse(text);
        var fields = data && typeof data === "object" && !Array.isArray(data) ? Object.keys(data) : [];
        return [flatten(data) || ("HTTP " + response.status), fields];
      } catch (e) { return ["HTTP " + response.status, []]; }
    });
  }

  function sleep(ms) { return new Promise(function (resolve) { window.setTimeout(resolve, ms); }); }

  function payload(item) {
    var body = {
      client_uuid: item.client_uuid,
      site: item.site,
      performed_at: item.performed_at,
      findings: item.findings,
      answers: item.answers
    };
    if (item.assignment) { body.assignment = item.assignment; }
    if (item.template_version) { body.template_version = item.template_version; }
    if (item.position) { body.position = item.position; }
    if (item.gps_accuracy_m !== null && item.gps_accuracy_m !== "") { body.gps_accuracy_m = item.gps_accuracy_m; }
    return body;
  }

  function request(url, options, item) {
    options.credentials = "same-origin";
    options.headers = options.headers || {};
    if (item.user) { options.headers["X-Client-User"] = encodeURIComponent(item.user); }
    options.headers["X-CSRFToken"] = csrfToken();
    options.headers.Accept = "application/json";
    return fetch(url, options);
  }

  // What a response means for the queue: ok, refused (the inspector must act), or retry later.
  // A Wi-Fi login page or a proxy answering instead of the server is no answer: try again later.
  var REFUSALS = [400, 404, 409, 410, 413, 415, 422];
  function outcome(response) {
    var json = (response.headers.get("Content-Type") || "").indexOf("json") !== -1;
    if (response.redirected) { return "later"; }
    if (response.status === 200 || response.status === 201) { return json ? "ok" : "later"; }
    if (REFUSALS.indexOf(response.status) !== -1) { return "refused"; }
    return "later";
  }

  // Why a send must wait: [code the page words in the inspector's language, the server's text].
  function laterReason(response) {
    if (response.status === 401 || response.status === 403) {
      return reasonOf(response).then(function (text) { return ["login", text]; });
    }
    return Promise.resolve(["server_error", "HTTP " + response.status + (response.redirected ? " →" : "")]);
  }

  function setError(target, code, text) {
    target.error_code = code;
    target.error = text || "";
  }

  /* One item: "next" (go on with the next one) or "stop" (no connection / server trouble). */
  function sendOne(item) {
    item.status = "sending";
    item.attempts = (item.attempts || 0) + 1;
    item.last_attempt = new Date().toISOString();
    var step = put(item).then(changed);
    if (!item.posted) {
      step = step.then(function () {
        return request(cfg.api, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload(item))
        }, item);
      }).then(function (response) {
        var kind = outcome(response);
        if (kind === "ok") {
          return response.json().then(function (data) {
            item.posted = true;
            item.server = { id: data.id, flags: data.flags || [], result: data.result, created: response.status === 201 };
            return put(item).then(function () { return "posted"; });
          });
        }
        if (kind === "refused") {
          return reasonAndFields(response).then(function (got) {
            item.status = "refused";
            setError(item, "", got[0]);
            item.refused_fields = got[1];
            item.refused_status = response.status;
            return put(item).then(function () { return "next"; });
          });
        }
        return laterReason(response).then(function (why) {
          item.status = "waiting";
          setError(item, why[0], why[1]);
          return put(item).then(function () { return "stop"; });
        });
      }, function () {
        item.status = "waiting";
        setError(item, "no_connection", "");
        return put(item).then(function () { return "stop"; });
      });
    } else {
      step = step.then(function () { return "posted"; });
    }
    return step.then(function (state) {
      if (state !== "posted") { return state; }
      return sendPhotos(item);
    }).then(function (state) { changed(); return state; });
  }

  function sendPhotos(item) {
    var pending = item.photos.filter(function (p) { return p.status !== "sent"; });
    var url = cfg.api + encodeURIComponent(item.client_uuid) + "/photos/";
    function nextPhoto(index) {
      if (index >= pending.length) {
        item.status = "sent";
        setError(item, "", "");
        item.sent_at = new Date().toISOString();
        sentInRun += 1;
        return put(item).then(function () { return "next"; });
      }
      var photo = pending[index];
      return sendPhoto(url, item, photo, 1).then(function (result) {
        if (result.kind === "ok") {
          photo.status = "sent";
          setError(photo, "", "");
          photo.blob = null;  // stored on the server: free the phone's space
          return put(item).then(function () { changed(); return nextPhoto(index + 1); });
        }
        if (result.kind === "refused") {
          photo.status = "refused";
          setError(photo, "", result.reason);
          item.status = "refused";
          setError(item, "photo_refused", result.reason);
          item.error_photo = photo.name;
          return put(item).then(function () { return "next"; });
        }
        item.status = "waiting";
        setError(item, result.code, result.reason);
        return put(item).then(function () { return "stop"; });
      });
    }
    return nextPhoto(0);
  }

  // One photo, tried up to PHOTO_TRIES times; a resend of a photo the server already has stores nothing.
  function sendPhoto(url, item, photo, attempt) {
    var form = new FormData();
    form.append("photo", photo.blob, photo.name);
    if (photo.item) { form.append("item", photo.item); }
    return request(url, { method: "POST", body: form }, item).then(function (response) {
      var kind = outcome(response);
      if (kind === "ok") { return { kind: "ok" }; }
      if (kind === "refused") {
        return reasonOf(response).then(function (text) { return { kind: "refused", reason: text }; });
      }
      return laterReason(response).then(function (why) { return retry(why[0], why[1]); });
    }, function () { return retry("no_connection", ""); });

    function retry(code, reason) {
      if (attempt >= PHOTO_TRIES || !navigator.onLine) { return { kind: "later", code: code, reason: reason }; }
      return sleep(500 * attempt * attempt).then(function () { return sendPhoto(url, item, photo, attempt + 1); });
    }
  }

  var running = null;
  var sentInRun = 0;
  var retryTimer = null;
  var retryDelay = 10000;

  function run() {
    return all().then(function (items) {
      // Holding the lock, any "sending" left is from a run cut short (page closed): it waits again.
      return Promise.all(items.filter(function (i) { return i.status === "sending"; }).map(function (i) {
        i.status = "waiting";
        return put(i);
      })).then(function () { return items; });
    }).then(function (items) {
      var queue = items.filter(function (i) {
        return (i.status === "waiting" || i.status === "sending") && mine(i);
      });
      function next(index) {
        if (index >= queue.length) { retryDelay = 10000; return "done"; }
        return sendOne(queue[index]).then(function (state) {
          if (state === "stop") { return "stop"; }
          return next(index + 1);
        });
      }
      return next(0);
    }).then(function (state) {
      if (state === "stop") { scheduleRetry(); }
      return state;
    });
  }

  function scheduleRetry() {
    if (retryTimer) { window.clearTimeout(retryTimer); }
    retryTimer = window.setTimeout(function () { retryTimer = null; sync(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 5 * 60 * 1000);
  }

  /* Send what waits, oldest first; one run at a time (across tabs too, where Web Locks exist). */
  function sync() {
    if (running) { return running; }
    if (!navigator.onLine) { return Promise.resolve("offline"); }
    var go = (navigator.locks && navigator.locks.request)
      ? navigator.locks.request("childsafe-sync", run)
      : run();
    sentInRun = 0;
    running = go.catch(function (error) {
      if (window.console) { window.console.error("sync failed", error); }
      return "error";
    }).then(function (state) {
      running = null;
      changed();
      // Assignments just done leave the phone's list: download it again.
      if (sentInRun > 0) { refreshBundle(true).catch(function () { /* next time */ }); }
      return state;
    });
    return running;
  }

  function retryItem(uuid) {
    return get(uuid).then(function (item) {
      if (!item) { return null; }
      item.status = "waiting";
      setError(item, "", "");
      item.photos.forEach(function (p) { if (p.status === "refused") { p.status = "waiting"; setError(p, "", ""); } });
      return put(item).then(changed).then(sync);
    });
  }

  // --- the bundle and the cached pages ---------------------------------------------------------------
  var refreshing = null;

  function refreshBundle(force) {
    if (refreshing) { return refreshing; }
    if (!navigator.onLine || !cfg.bundle) {
      return bundleRecord().then(function (record) { markReady(record); return record; });
    }
    refreshing = bundleRecord().then(function (current) {
      if (!force && current && Date.now() - current.fetched < BUNDLE_MAX_AGE_MS && !assignmentsChanged(current)) {
        return current;
      }
      return fetch(cfg.bundle, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok || response.redirected) { return current; }
          return response.json().then(function (data) {
            return cachePages(data.pages || []).then(function () {
              var record = { key: "bundle", fetched: Date.now(), data: data };
              return putMeta(record).then(function () { return record; });
            });
          });
        }, function () { return current; });
    }).then(function (record) {
      refreshing = null;
      markReady(record);
      changed();
      return record;
    }, function (error) { refreshing = null; throw error; });
    return refreshing;
  }

  // "My assignments" names the assignments it lists: a new or finished one means a new download.
  function assignmentsChanged(record) {
    var el = document.getElementById("offline-assignment-ids");
    if (!el) { return false; }
    var kept = record.data.assignments.map(function (a) { return a.id; }).join(",");
    return el.dataset.ids !== kept;
  }

  function cachePages(urls) {
    if (!("caches" in window)) { return Promise.resolve(); }
    var wanted = {};
    urls.forEach(function (u) { wanted[new URL(u, location.href).href] = true; });
    return caches.open(PAGES_CACHE).then(function (cache) {
      var queue = urls.slice();
      function worker() {
        var url = queue.shift();
        if (!url) { return Promise.resolve(); }
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) { return cache.put(url, response); }
          return null;
        }, function () { return null; }).then(worker);
      }
      // Forms of assignments no longer open are dropped from the phone.
      var prune = cache.keys().then(function (requests) {
        return Promise.all(requests.filter(function (r) {
          return r.url.indexOf(cfg.scope + "sites/") !== -1 && !wanted[r.url];
        }).map(function (r) { return cache.delete(r); }));
      });
      return Promise.all([worker(), worker(), worker(), prune]);
    });
  }

  function mine(item) { return !item.user || item.user === (cfg.user || ""); }

  function bundleRecord() {
    return meta("bundle").then(function (record) {
      // Another inspector's bundle (a shared phone) is not shown: his own comes with signal.
      return record && record.data && record.data.user === cfg.user ? record : null;
    }).catch(function () { return null; });
  }

  function markReady(record) {
    if (record && record.data) {
      document.documentElement.dataset.offlineReady = "1";
      document.documentElement.dataset.offlineFetched = String(record.fetched);
    }
  }

  // --- start -----------------------------------------------------------------------------------------
  var workerReady = Promise.resolve(null);
  if ("serviceWorker" in navigator && cfg.sw) {
    workerReady = navigator.serviceWorker.register(cfg.sw, { scope: cfg.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).catch(function (error) {
      if (window.console) { window.console.warn("service worker not registered", error); }
      return null;
    });
  }

  window.ChildSafeOffline = {
    saveInspection: saveInspection,
    list: all,
    get: get,
    remove: remove,
    retry: retryItem,
    sync: sync,
    bundle: bundleRecord,
    refreshBundle: refreshBundle,
    workerReady: workerReady,
    onChange: function (fn) { listeners.push(fn); },
    isMine: mine,
    user: cfg.user || "",
    offlinePage: cfg.offline
  };

  // Logging out forgets the kept pages and the bundle (a phone may change hands), never the
  // inspections waiting to be sent: they stay, and go when their inspector logs in again.
  function forgetDownloads() {
    var jobs = [tx("meta", "readwrite", function (s) { return s.delete("bundle"); })];
    if ("caches" in window) { jobs.push(caches.delete(PAGES_CACHE)); }
    return Promise.all(jobs);
  }
  if (cfg.logout) {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      if (new URL(form.action, location.href).pathname !== cfg.logout) { return; }
      form.addEventListener("submit", function (event) {
        if (form.dataset.forgotten === "1") { return; }
        event.preventDefault();
        var done = function () { form.dataset.forgotten = "1"; form.submit(); };
        forgetDownloads().then(done, done);
      });
    });
  }

  // Ask the browser not to clear the phone's storage when space runs low (installed apps usually are).
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().catch(function () { /* best effort */ });
  }

  window.addEventListener("online", function () {
    retryDelay = 10000;
    sync();
    refreshBundle(false);
  });
  window.addEventListener("offline", changed);

  // On every inspector page with signal: send what waits, then refresh the bundle (the pages of
  // the app refresh it always, the others at most every few minutes).
  var startPage = cfg.refresh === "1";
  workerReady.then(function () {
    return sync();
  }).then(function () {
    return refreshBundle(startPage);
  }).catch(function (error) {
    if (window.console) { window.console.error(error); }
  });
})();
