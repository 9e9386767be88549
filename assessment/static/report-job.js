// Follows a report's progress without reloading the page; without this script the page's
// own refresh does the same.
(function () {
  "use strict";
  var box = document.querySelector(".report-job");
  if (!box || !window.fetch) return;
  var status = box.getAttribute("data-status");
  if (status !== "queued" && status !== "running") return;
  var meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) meta.parentNode.removeChild(meta);
  function poll() {
    fetch(box.getAttribute("data-status-url"), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
        var bar = box.querySelector("[data-progress]");
        if (bar) bar.value = data.progress;
        var message = box.querySelector("[data-message]");
        if (message && data.message) message.textContent = data.message + "…";
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 700);
})();
