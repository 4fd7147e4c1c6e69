// Colours legend and table swatches from their data-swatch attribute (a colour such as #ffc15e).
// Set through the CSSOM: the Content-Security-Policy allows no inline style attributes.
(function () {
  "use strict";
  var COLOUR = /^#[0-9a-fA-F]{3,8}$/;

  function paint(root) {
    (root || document).querySelectorAll("[data-swatch]").forEach(function (el) {
      if (COLOUR.test(el.dataset.swatch)) el.style.backgroundColor = el.dataset.swatch;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { paint(document); });
  document.addEventListener("htmx:afterSwap", function (e) { paint(e.target); });
})();
