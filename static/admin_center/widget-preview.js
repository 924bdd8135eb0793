/* The chat widget's change form: a live preview of the header and a customer's bubble with the
 * colour, title and logo being edited (admin_center.forms.BrandColourWidget). Text goes in with
 * textContent; the logo is an <img> whose address the admin typed. */
(function () {
  "use strict";

  function ink(hex) {
    // black or white, whichever reads better on the colour (WCAG relative luminance)
    const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
    const lin = rgb.map((c) => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
    const lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#ffffff" : "#111827";
  }

  function start() {
    const preview = document.getElementById("widget-preview");
    if (!preview) return;
    const colour = document.getElementById(preview.dataset.previewFor);
    const title = document.getElementById("id_title");
    const logo = document.getElementById("id_logo_url");
    const header = preview.querySelector(".widget-preview-header");
    const bubble = preview.querySelector(".widget-preview-bubble");
    const logoBox = preview.querySelector(".widget-preview-logo");

    function paint() {
      const value = /^#[0-9a-fA-F]{6}$/.test(colour.value) ? colour.value : "#2563eb";
      const text = ink(value);
      header.style.background = value;
      header.style.color = text;
      bubble.style.background = value;
      bubble.style.color = text;
      preview.querySelector(".widget-preview-title").textContent = title ? title.value : "";
      logoBox.replaceChildren();
      const address = logo ? logo.value.trim() : "";
      if (/^https?:\/\//i.test(address)) {
        const img = document.createElement("img");
        img.src = address;
        img.alt = "";
        logoBox.append(img);
      }
    }

    for (const input of [colour, title, logo]) {
      if (input) input.addEventListener("input", paint);
    }
    paint();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
