// Draws the weekly trend charts of /insights/trends with the vendored Chart.js (no CDN).
(function () {
  "use strict";
  var PALETTE = ["#0b5cad", "#c2410c", "#1e7a3c", "#7c3aed", "#b42318", "#9a6100", "#0e7490"];

  function lines(canvasId, labels, series) {
    var canvas = document.getElementById(canvasId);
    if (!canvas || !window.Chart) return;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: series.map(function (s, i) {
          // tension 0: straight segments; a smoothed curve invents values between weekly points
          return { label: s.label.replace(/_/g, " "), data: s.data, spanGaps: true, tension: 0,
                   borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length] };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return v + "%"; } } } },
        plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + c.parsed.y + "%"; } } } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("trend-data");
    if (!el) return;
    var data = JSON.parse(el.textContent);
    lines("chart-process", data.weeks, data.processes);
    lines("chart-category", data.weeks, data.categories);
    document.body.classList.add("charts-ready");
  });
})();
