{% autoescape off %}/* ChildSafe Map: the inspectors' service worker (served from the scope it controls).

   It only serves: cached static files, and cached pages and data when the network fails.
   It never sends anything: inspections saved on the phone are sent by the page
   (offline-app.js), which keeps every send visible, retryable and testable. */
"use strict";
var CONFIG = {{ config }};
var STATIC_CACHE = "childsafe-static-" + CONFIG.version;
// Pages and the bundle, written by the page after it downloads them (see offline-app.js).
var PAGES_CACHE = "childsafe-pages";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(CONFIG.shell); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("childsafe-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function fromCache(request) {
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true });
  });
}

function worthKeeping(request) {
  // Every inspector page opened with signal, without its query (a list's page, "?saved=…"),
  // apart from the inspection forms (their "?assignment=" matters).
  var url = new URL(request.url);
  return request.mode === "navigate" && (!url.search || url.pathname.indexOf(CONFIG.scope + "sites/") === 0);
}

function networkFirst(request, isPage) {
  return fetch(request).then(function (response) {
    // Keep the newest copy of a page (not of images or data: the page keeps those it needs),
    // never an error or a login page reached by a redirect.
    if (isPage && worthKeeping(request) && response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(PAGES_CACHE).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function (error) {
    return fromCache(request).then(function (cached) {
      if (cached) { return cached; }
      if (isPage) {
        return caches.open(PAGES_CACHE).then(function (cache) {
          return cache.match(CONFIG.offline_page, { ignoreVary: true });
        }).then(function (page) { if (page) { return page; } throw error; });
      }
      throw error;
    });
  });
}

function cacheFirst(request) {
  return caches.match(request, { ignoreVary: true }).then(function (cached) {
    return cached || fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (cache) { return cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  // Sends (POST) and everything outside the app go straight to the network, untouched.
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf(CONFIG.static_prefix) === 0) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (url.pathname.indexOf(CONFIG.scope) === 0 && url.pathname !== CONFIG.scope + "sw.js") {
    event.respondWith(networkFirst(request, request.mode === "navigate"));
  }
});
{% endautoescape %}
