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

  // Labels are drawn 11-12 px high at zoom 1: below READABLE they are hard to read. A diagram that
  // fits only smaller opens around the steps waiting now (else the start), at a readable zoom;
  // "Whole process" fits it all, and the +/- buttons (or ctrl + wheel) zoom.
  var READABLE = 0.8;

  function focusBox(registry, figure) {
    var markers = json(figure, "data-markers");
    var ids = Object.keys(markers).filter(function (id) {
      return [].concat(markers[id]).indexOf("current") >= 0 && registry.get(id);
    });
    if (!ids.length) return null;
    var xs = [], ys = [];
    ids.forEach(function (id) {
      var el = registry.get(id);
      xs.push(el.x, el.x + (el.width || 0));
      ys.push(el.y, el.y + (el.height || 0));
    });
    return { x: (Math.min.apply(null, xs) + Math.max.apply(null, xs)) / 2,
             y: (Math.min.apply(null, ys) + Math.max.apply(null, ys)) / 2 };
  }

  function fitReadable(canvas, registry, figure) {
    canvas.zoom("fit-viewport", "auto");
    if (canvas.zoom() >= READABLE) return;
    var center = focusBox(registry, figure);
    if (!center) return;
    var box = canvas.viewbox();
    var width = box.outer.width / READABLE, height = box.outer.height / READABLE;
    canvas.viewbox({ x: center.x - width / 2, y: center.y - height / 2, width: width, height: height });
  }

  function addZoomButtons(figure, canvas, registry) {
    if (figure.querySelector(".diagram-zoom")) return;
    var bar = document.createElement("div");
    bar.className = "diagram-zoom";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Zoom the diagram");
    function by(factor) {  // around the middle of what is shown (viewport pixels, as ctrl + wheel)
      var outer = canvas.viewbox().outer;
      canvas.zoom(canvas.zoom() * factor, { x: outer.width / 2, y: outer.height / 2 });
    }
    [["+", "Zoom in", function () { by(1.25); }],
     ["\u2212", "Zoom out", function () { by(1 / 1.25); }],
     ["Whole process", "Show the whole process", function () { canvas.zoom("fit-viewport", "auto"); }]
    ].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = spec[0];
      button.setAttribute("aria-label", spec[1]);
      button.title = spec[1];
      button.addEventListener("click", spec[2]);
      bar.appendChild(button);
    });
    figure.insertBefore(bar, figure.firstChild);
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
        fitReadable(canvas, registry, figure);
        addZoomButtons(figure, canvas, registry);
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
