// Accessible names for the parts of Django's admin widgets that render without one (found by axe-core,
// tests/browser/test_admin_center.py): the search icons of the two-list selector (an aria-label on a
// span without a role), the date and time boxes of a date-time field, and Select2's autocomplete box.
// Widgets are built by scripts after the page loads, so new nodes are watched too.
(function () {
  "use strict";

  function rowLabel(element) {
    const row = element.closest(".fieldBox") || element.closest(".form-row") || element.closest("td, div");
    const label = row && row.querySelector("label");
    return label ? label.textContent.trim().replace(/:$/, "") : "";
  }

  function named(element) {
    if (element.getAttribute("aria-label") || element.getAttribute("aria-labelledby")) return true;
    return element.id && document.querySelector('label[for="' + CSS.escape(element.id) + '"]');
  }

  function fix(root) {
    for (const icon of root.querySelectorAll(".help-tooltip[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
    for (const box of root.querySelectorAll("p.datetime input, p.datetime select")) {
      if (named(box)) continue;
      let text = "";
      for (let node = box.previousSibling; node && !text; node = node.previousSibling) {
        if (node.nodeType === Node.TEXT_NODE) text = node.textContent.trim().replace(/:$/, "");
      }
      const label = rowLabel(box);
      box.setAttribute("aria-label", text ? label + ": " + text : label);
    }
    for (const box of root.querySelectorAll(".select2-selection[role=combobox], .select2-selection__rendered[role=textbox]")) {
      if (box.getAttribute("aria-label")) continue;
      const label = rowLabel(box);
      if (label) box.setAttribute("aria-label", label);
    }
    // The changelist search box is named by its magnifier's alt text, not only by its help text.
    const search = root.querySelector && root.querySelector("#searchbar:not([aria-label])");
    const icon = search && document.querySelector('label[for="searchbar"] img[alt]');
    if (icon) search.setAttribute("aria-label", icon.getAttribute("alt"));
  }

  function start() {
    fix(document);
    new MutationObserver(function (changes) {
      for (const change of changes) {
        for (const node of change.addedNodes) if (node.nodeType === Node.ELEMENT_NODE) fix(node.parentNode || node);
      }
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
