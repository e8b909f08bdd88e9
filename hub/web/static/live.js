// The live front page (hub/web/live.py): GET /live/stream sends each region of the page again when it changes, as
// server-rendered HTML in a small JSON message; this swaps it in and highlights a serious reaction not seen before.
// No library, no inline script (the workspace's Content-Security-Policy is default-src 'self').
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root || !window.EventSource) { return; }
  var state = root.querySelector("[data-live-state]");
  var seen = {};
  var source = null;

  function severeIds() {
    var ids = [];
    root.querySelectorAll("#live-alerts [data-event]").forEach(function (item) { ids.push(item.getAttribute("data-event")); });
    return ids;
  }

  function markState(name) { if (state) { state.setAttribute("data-live-state", name); } }

  function swap(name, html) {
    var region = document.getElementById("live-" + name);
    if (region) { region.innerHTML = html; }
  }

  function highlight() {
    root.querySelectorAll("#live-alerts [data-event]").forEach(function (item) {
      var id = item.getAttribute("data-event");
      if (!seen[id]) { item.classList.add("new"); seen[id] = true; }
    });
    var fresh = root.querySelector("#live-alerts .new");
    if (fresh) { root.querySelector(".live-alerts").classList.add("flash"); }
  }

  function receive(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (error) { return; }
    var regions = message.regions || {};
    Object.keys(regions).forEach(function (name) { swap(name, regions[name]); });
    if (regions.alerts !== undefined) { highlight(); }
    root.setAttribute("data-version", String(message.version));
    markState("live");
  }

  function connect() {
    source = new EventSource(root.getAttribute("data-stream"));
    source.onopen = function () { markState("live"); };
    source.onmessage = receive;
    source.onerror = function () {
      // The browser reconnects by itself after a dropped stream; a refused one (signed out, too many pages open)
      // stays closed: say so and try again in a minute.
      if (source.readyState === EventSource.CLOSED) {
        markState("stopped");
        window.setTimeout(connect, 60000);
      } else {
        markState("connecting");
      }
    };
  }

  severeIds().forEach(function (id) { seen[id] = true; });
  window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  connect();
}());
