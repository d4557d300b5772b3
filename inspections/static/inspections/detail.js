/* After a successful send, forget the draft of this inspection kept on the phone. */
(function () {
  "use strict";
  var box = document.getElementById("inspection-detail");
  if (!box) { return; }
  try {
    var key = "childsafe.inspection-draft.site-" + box.dataset.site;
    var raw = window.localStorage.getItem(key);
    var draft = raw && JSON.parse(raw);
    if (draft && draft.values && draft.values.client_uuid === box.dataset.clientUuid) {
      window.localStorage.removeItem(key);
    }
  } catch (e) { /* no storage: nothing to forget */ }
})();
