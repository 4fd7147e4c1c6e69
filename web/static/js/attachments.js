// Upload progress for the attachment form (web/templates/attachments/_section.html): htmx
// reports the upload's progress; the bar and the words follow it. Without JavaScript the form
// posts as a plain multipart form and the page comes back when the upload is done.
(function () {
  "use strict";
  function form(e) { return e.target && e.target.closest ? e.target.closest("form[data-upload]") : null; }
  document.addEventListener("htmx:xhr:progress", function (e) {
    var f = form(e);
    if (!f || !e.detail.lengthComputable || !e.detail.total) return;
    var bar = f.querySelector("progress"), status = f.querySelector("[data-upload-status]");
    var percent = Math.round(100 * e.detail.loaded / e.detail.total);
    bar.hidden = false;
    bar.value = percent;
    status.textContent = "Uploading… " + percent + "%";
  });
  // A refusal (400, 403, 409) comes back as the section with the message in it: show it. A body
  // too large for the server (413) never reached the route: say so where the progress was.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target;
    if (!target || target.id !== "attachments") return;
    var status = e.detail.xhr.status;
    if (status === 413) {
      var f = target.querySelector("form[data-upload]");
      if (f) f.querySelector("[data-upload-status]").textContent = "The file is larger than Caseflow accepts.";
      e.detail.shouldSwap = false;
    } else if (status >= 400 && status < 500) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var f = form(e);
    if (!f) return;
    f.querySelector("[data-upload-status]").textContent = "Uploading…";
    f.querySelector("button[type=submit]").disabled = true;
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var f = form(e);
    if (!f || !f.isConnected) return;  // swapped away by the answer: nothing to reset
    f.querySelector("button[type=submit]").disabled = false;
    if (!e.detail.successful) f.querySelector("[data-upload-status]").textContent = "The upload failed; try again.";
  });
})();
