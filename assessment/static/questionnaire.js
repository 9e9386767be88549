// Saves each answer as it is given. The page works without this script: the form's own
// buttons save the whole domain. With it, a change is saved at once and the status updates.
(function () {
  "use strict";
  var form = document.getElementById("answers");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var template = form.getAttribute("data-autosave");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var labels = { met: "Met", partial: "Partial", not_met: "Not met", not_applicable: "Not applicable", unanswered: "Unanswered" };
  var pending = 0;
  var timers = {};

  function field(article, name) {
    var nodes = form.elements;
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].name === name && article.contains(nodes[i])) return nodes[i];
    }
    return null;
  }

  function currentValue(article, rid) {
    var checked = article.querySelector("input[type=radio]:checked");
    if (checked && checked.name === rid) return checked.value;
    var text = field(article, rid);
    return text && text.type === "text" ? text.value : "";
  }

  function setState(article, text, kind) {
    var state = article.querySelector("[data-save-state]");
    state.textContent = text;
    state.className = "saved" + (kind ? " " + kind : "");
  }

  function save(article) {
    var rid = article.getAttribute("data-requirement");
    var revision = article.querySelector("[data-revision]");
    var note = field(article, "note/" + rid);
    var body = new URLSearchParams();
    body.set("csrf_token", csrf);
    body.set("value", currentValue(article, rid));
    body.set("note", note ? note.value : "");
    body.set("revision", revision.value);
    pending += 1;
    setState(article, "Saving…", "busy");
    fetch(template.replace("__REQ__", encodeURIComponent(rid)), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      var data = result.data;
      if (result.status === 200) {
        revision.value = data.revision;
        if (data.outcome === "saved") setState(article, "Saved", "ok");
        article.querySelector("[data-status]").innerHTML =
          '<span class="status status-' + data.status + '">' + labels[data.status] + "</span>";
        article.querySelector("[data-unsupported]").hidden = !data.unsupported;
        var reason = article.querySelector("[data-claim-reason]");
        if (reason) { reason.textContent = data.unsupported_reason || ""; reason.hidden = !data.unsupported_reason; }
        article.classList.toggle("is-unsupported", !!data.unsupported);
        const carried = article.querySelector("[data-carried]");
        if (carried && data.outcome === "saved") carried.remove(); // changed or saved as is: confirmed
        var count = document.querySelector('[data-domain-count="' + form.getAttribute("data-domain-index") + '"]');
        if (count) {
          count.textContent = data.answered + "/" + data.total;
          var bar = count.parentNode.querySelector("progress");
          if (bar && data.total) { bar.value = data.answered; bar.title = data.answered + " of " + data.total + " answered"; }
        }
        var overall = document.querySelector("[data-overall-completion]");
        if (overall && data.overall_total) {
          overall.textContent = (Math.round(1000 * data.overall_answered / data.overall_total) / 10).toFixed(1);
        }
      } else if (result.status === 409) {
        revision.value = data.revision;
        setState(article, "Not saved: " + (data.theirs.by || "someone") + " changed this answer to “" +
          (data.theirs.value || "none") + "”" + (data.theirs.note ? " (note: “" + data.theirs.note + "”)" : "") +
          ". Yours is still on screen: change it again or press Save to keep yours.", "error");
      } else {
        setState(article, "Not saved: " + (data.error || "the server refused the answer"), "error");
      }
    }).catch(function () {
      setState(article, "Not saved: no connection. Your answer is still on screen; press Save when back online.", "error");
    }).then(function () { pending -= 1; });
  }

  form.addEventListener("change", function (event) {
    var article = event.target.closest("article.requirement");
    if (!article || event.target.form !== form) return;
    var rid = article.getAttribute("data-requirement");
    clearTimeout(timers[rid]);
    save(article);
  });

  form.addEventListener("input", function (event) {
    if (event.target.tagName !== "TEXTAREA" && event.target.type !== "text") return;
    var article = event.target.closest("article.requirement");
    if (!article) return;
    var rid = article.getAttribute("data-requirement");
    clearTimeout(timers[rid]);
    setState(article, "Unsaved changes…", "busy");
    timers[rid] = setTimeout(function () { save(article); }, 900);
  });

  window.addEventListener("beforeunload", function (event) {
    var waiting = pending > 0 || Object.keys(timers).some(function (k) { return timers[k] && document.querySelector(".saved.busy"); });
    if (waiting) { event.preventDefault(); event.returnValue = ""; }
  });
})();

// A numeric question's band follows the number as it is typed (the server marks the saved one).
(function () {
  "use strict";
  function bound(text) { return text === "" ? null : Number(text); }
  function holds(band, n) {
    var d = band.dataset, low = bound(d.low), high = bound(d.high);
    if (d.reachable !== "1") return false;
    if (low !== null && (n < low || (d.lowOpen === "1" && n === low))) return false;
    return !(high !== null && (n > high || (d.highOpen === "1" && n === high)));
  }
  document.addEventListener("input", function (event) {
    var article = event.target.closest && event.target.closest("article.requirement");
    var box = article && article.querySelector("[data-bands]");
    if (!box || event.target.type !== "text") return;
    var raw = event.target.value.trim().replace(",", "."), n = Number(raw);
    var unit = box.getAttribute("data-unit") || "", found = null;
    box.querySelectorAll("[data-band]").forEach(function (band) {
      var here = raw !== "" && isFinite(n) && found === null && holds(band, n);
      if (here) found = band;
      band.classList.toggle("current-band", here);
      band.querySelector(".band-mark").textContent = here ? " (this answer)" : "";
    });
    var now = box.querySelector("[data-band-now]");
    if (raw === "" || !isFinite(n)) now.textContent = "Type a number to see its band.";
    else if (!found) now.textContent = raw + unit + " lies in no band.";
    else now.textContent = raw + unit + " falls in the band " + found.dataset.range + unit + ": " + found.dataset.credit + ".";
  });
})();
