// A table or chart wider than its card scrolls inside it (app.css); this makes each such
// scrolling box reachable from the keyboard (a tab stop named after its heading), and only
// while it does scroll, so that tables that fit add no tab stop. Without this script the
// boxes still scroll with a finger, a mouse or a trackpad.
(function () {
  "use strict";
  var SELECTOR = ".table-scroll, table.listing, section.chart";

  function nameOf(box) {
    if (box.getAttribute("data-label")) return box.getAttribute("data-label");
    var caption = box.querySelector("caption");
    if (caption) return caption.textContent.trim();
    for (var el = box.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    var section = box.closest("section");
    var heading = section && section.querySelector("h1, h2, h3");
    return heading ? heading.textContent.trim() : "Scrolling table";
  }

  function update() {
    var boxes = document.querySelectorAll(SELECTOR);
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var scrolls = box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== "visible";
      var inner = box.parentElement && box.parentElement.closest(".table-scroll, section.chart");
      if (scrolls && !(inner && inner.hasAttribute("data-scrolls"))) {
        if (!box.hasAttribute("data-scrolls")) {
          box.setAttribute("data-scrolls", "");
          box.setAttribute("tabindex", "0");
          if (box.tagName !== "TABLE") {
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", nameOf(box) + " (scrolls sideways)");
          }
        }
      } else if (box.hasAttribute("data-scrolls")) {
        box.removeAttribute("data-scrolls");
        box.removeAttribute("tabindex");
        if (box.tagName !== "TABLE") {
          box.removeAttribute("role");
          box.removeAttribute("aria-label");
        }
      }
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(update, 150);
  });
  update();
})();
