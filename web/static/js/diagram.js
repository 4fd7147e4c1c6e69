// Draws a BPMN diagram with the vendored bpmn-js viewer and marks elements on it.
//
// Markup (any number per page):
//   <figure class="diagram" data-bpmn-url="/designer/versions/3/bpmn"
//           data-markers='{"Task_A": ["done"], "Task_B": ["current"]}'
//           data-badges='{"Task_A": "3 skips"}'
//           data-fills='{"Task_A": "#f4a261"}'>
//     <div class="diagram-canvas" role="img" aria-label="..."></div>
//     <figcaption>...</figcaption>
//   </figure>
// Marker classes are styled in caseflow.css (.djs-element.done, .current, .deviated, .fault,
// .added, .removed, .changed). Clicking an element dispatches "diagram:select" on the figure
// with {detail: {id}} so a page can show that element's row.
(function () {
  "use strict";

  function json(el, name) {
    var text = el.getAttribute(name);
    if (!text) return {};
    try { return JSON.parse(text); } catch (e) { return {}; }
  }

  var INLINE = "data:text/xml;base64,";

  // The XML of a diagram: fetched from Caseflow, or decoded here when the page carries it inline
  // (an upload that was not stored); the Content-Security-Policy allows fetching only 'self'.
  function load(url) {
    if (url.indexOf(INLINE) === 0) {
      var bytes = Uint8Array.from(atob(url.slice(INLINE.length)), function (c) { return c.charCodeAt(0); });
      return Promise.resolve(new TextDecoder("utf-8").decode(bytes));
    }
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("The diagram could not be loaded (" + r.status + ").");
      return r.text();
    });
  }

  function draw(figure) {
    if (figure.dataset.drawn) return;
    figure.dataset.drawn = "1";
    var canvasEl = figure.querySelector(".diagram-canvas") || figure;
    var viewer = new BpmnJS({ container: canvasEl });
    load(figure.dataset.bpmnUrl)
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var overlays = viewer.get("overlays");
        canvas.zoom("fit-viewport", "auto");
        var markers = json(figure, "data-markers");
        Object.keys(markers).forEach(function (id) {
          if (!registry.get(id)) return;
          [].concat(markers[id]).forEach(function (cls) { canvas.addMarker(id, cls); });
        });
        var fills = json(figure, "data-fills");
        Object.keys(fills).forEach(function (id) {
          var gfx = registry.getGraphics(id);
          if (!gfx) return;
          var shape = gfx.querySelector(".djs-visual > rect, .djs-visual > circle, .djs-visual > polygon");
          if (shape) shape.style.fill = fills[id];
        });
        var badges = json(figure, "data-badges");
        Object.keys(badges).forEach(function (id) {
          if (!registry.get(id)) return;
          var badge = document.createElement("span");
          badge.className = "diagram-badge";
          badge.textContent = badges[id];
          overlays.add(id, { position: { top: -12, right: 12 }, html: badge });
        });
        viewer.get("eventBus").on("element.click", function (e) {
          figure.dispatchEvent(new CustomEvent("diagram:select", { detail: { id: e.element.id }, bubbles: true }));
        });
        figure.classList.add("diagram-ready");
      })
      .catch(function (err) {
        canvasEl.textContent = err.message || "The diagram could not be drawn.";
        figure.classList.add("diagram-failed");
      });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("figure.diagram[data-bpmn-url]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
