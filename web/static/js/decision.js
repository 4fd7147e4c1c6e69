// Draws a DMN decision table read-only with the vendored dmn-js viewer.
//
// Markup:
//   <figure class="decision-view" data-dmn-url="/designer/files/3/content" data-decision="Decision_A">
//     <div class="decision-canvas"></div>
//   </figure>
// The server-rendered table beside it stays the accessible version; this draws the table as
// Camunda Modeler shows it. A file that cannot be drawn leaves a message in the figure.
(function () {
  "use strict";

  function show(figure, text) {
    var p = document.createElement("p");
    p.className = "hint";
    p.textContent = text;
    figure.appendChild(p);
  }

  function draw(figure) {
    if (figure.dataset.drawn || typeof DmnJS === "undefined") return;
    figure.dataset.drawn = "1";
    var viewer = new DmnJS({ container: figure.querySelector(".decision-canvas") || figure });
    fetch(figure.dataset.dmnUrl, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("The decision could not be loaded (" + r.status + ").");
        return r.text();
      })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var wanted = figure.dataset.decision;
        var view = viewer.getViews().filter(function (v) {
          return v.type === "decisionTable" && v.element && v.element.id === wanted;
        })[0];
        if (!view) throw new Error("The file has no decision table '" + wanted + "'.");
        return viewer.open(view);
      })
      .then(function () { figure.dataset.ready = "1"; })
      .catch(function (err) { show(figure, err.message || String(err)); });
  }

  function drawAll() {
    document.querySelectorAll("figure.decision-view").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
