// The backlog: Edit opens that item's form in place instead of loading the page again. The form is
// the one the page without JavaScript shows (`?edit=ID`), taken from that page; saving posts it as
// usual and comes back to the list at the item. Another item's open form closes first: one at a time.
"use strict";

document.addEventListener("click", async (event) => {
  const link = event.target.closest("li.backlog-item a.edit");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  const item = link.closest("li.backlog-item");
  event.preventDefault();
  let page;
  try {
    const response = await fetch(link.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    page = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (error) {
    window.location.assign(link.href); // the plain page does the same
    return;
  }
  const opened = page.getElementById(item.id);
  if (!opened || !opened.querySelector("form")) {
    window.location.assign(link.href);
    return;
  }
  for (const open of document.querySelectorAll("li.backlog-item.editing")) {
    const closed = page.getElementById(open.id);
    if (closed) open.replaceWith(document.importNode(closed, true));
  }
  const fresh = document.importNode(opened, true);
  item.replaceWith(fresh);
  const first = fresh.querySelector("form select, form input:not([type=hidden]), form textarea");
  if (first) first.focus();
});
