// The designer's in-browser modeler (web/templates/designer/modeler.html, web/designer_modeler.py).
//
// bpmn-js Modeler with the properties panel (BPMN + Camunda 7 providers, so lanes, form fields,
// external task topics, conditions and extension properties are written as Caseflow reads them)
// and Caseflow's own group for caseflow.sla and caseflow.phase. Save posts the XML; a refusal lists
// each problem beside the drawing and marks its element, and the drawing stays as it is. The
// heatmap toggle colours the drawing with the edited version's figures (deviation rate, rework,
// breaches, time) from /designer/versions/{id}/heatmap.
(function () {
  "use strict";

  var B = window.CaseflowBpmn;
  var INLINE = "data:text/xml;base64,";
  var HEAT = "caseflow-heat";
  var SLA = "caseflow.sla", PHASE = "caseflow.phase";
  var PHASES = ["attraction", "interaction", "cultivation"];

  // ---- Caseflow's properties group ---------------------------------------------------------
  // The process's properties live on the process: a pool stands for its process.
  function owner(element) {
    var bo = B.getBusinessObject(element);
    if (B.is(bo, "bpmn:Participant")) return bo.get("processRef");
    return bo;
  }

  function propertiesOf(bo) {
    var ext = bo && bo.get("extensionElements");
    if (!ext) return null;
    return (ext.get("values") || []).filter(function (v) { return v.$instanceOf("camunda:Properties"); })[0] || null;
  }

  function readProperty(element, name) {
    var props = propertiesOf(owner(element));
    var found = props && (props.get("values") || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }

  // One undoable command: create extensionElements / camunda:properties when missing, then set,
  // change or remove the one camunda:property.
  function writeProperty(element, name, value, commandStack, bpmnFactory) {
    var bo = owner(element);
    if (!bo) return;
    value = (value || "").trim();
    var cmds = [];
    function update(target, properties) {
      cmds.push({ cmd: "element.updateModdleProperties",
                  context: { element: element, moddleElement: target, properties: properties } });
    }
    var ext = bo.get("extensionElements");
    if (!ext) {
      if (!value) return;
      ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      update(bo, { extensionElements: ext });
    }
    var props = propertiesOf(bo);
    if (!props) {
      if (!value) return;
      props = bpmnFactory.create("camunda:Properties", { values: [] });
      props.$parent = ext;
      update(ext, { values: (ext.get("values") || []).concat([props]) });
    }
    var values = props.get("values") || [];
    var prop = values.filter(function (p) { return p.name === name; })[0];
    if (!value && prop) {
      update(props, { values: values.filter(function (p) { return p !== prop; }) });
    } else if (value && prop) {
      update(prop, { value: value });
    } else if (value) {
      prop = bpmnFactory.create("camunda:Property", { name: name, value: value });
      prop.$parent = props;
      update(props, { values: values.concat([prop]) });
    }
    if (cmds.length) commandStack.execute("properties-panel.multi-command-executor", cmds);
  }

  function SlaEntry(props) {
    var element = props.element;
    var commandStack = B.useService("commandStack"), bpmnFactory = B.useService("bpmnFactory");
    var isProcess = B.is(element, "bpmn:Process") || B.is(element, "bpmn:Participant");
    return B.h(B.TextFieldEntry, {
      element: element, id: props.id, label: isProcess ? "Promise to the customer (SLA)" : "Step target (SLA)",
      description: "An ISO-8601 duration, e.g. PT4H (4 hours) or P3D (3 days). Written as caseflow.sla.",
      getValue: function () { return readProperty(element, SLA); },
      setValue: function (value) { writeProperty(element, SLA, value, commandStack, bpmnFactory); },
      debounce: B.useService("debounceInput")
    });
  }

  function PhaseEntry(props) {
    var element = props.element;
    var commandStack = B.useService("commandStack"), bpmnFactory = B.useService("bpmnFactory");
    return B.h(B.SelectEntry, {
      element: element, id: props.id, label: "Customer phase",
      description: "Written as caseflow.phase.",
      getValue: function () { return readProperty(element, PHASE); },
      setValue: function (value) { writeProperty(element, PHASE, value, commandStack, bpmnFactory); },
      getOptions: function () {
        return [{ value: "", label: "(none)" }].concat(PHASES.map(function (p) { return { value: p, label: p }; }));
      }
    });
  }

  function CaseflowPropertiesProvider(propertiesPanel) {
    propertiesPanel.registerProvider(500, this);
  }
  CaseflowPropertiesProvider.$inject = ["propertiesPanel"];
  CaseflowPropertiesProvider.prototype.getGroups = function (element) {
    return function (groups) {
      var isProcess = B.is(element, "bpmn:Process") ||
        (B.is(element, "bpmn:Participant") && owner(element));
      var isStep = B.is(element, "bpmn:Activity") || B.is(element, "bpmn:CatchEvent");
      if (!isProcess && !isStep) return groups;
      var entries = [{ id: "caseflow-sla", component: SlaEntry, isEdited: B.isTextFieldEntryEdited }];
      if (isProcess) entries.push({ id: "caseflow-phase", component: PhaseEntry, isEdited: B.isSelectEntryEdited });
      groups.splice(1, 0, { id: "caseflow", label: "Caseflow", entries: entries, shouldOpen: true });
      return groups;
    };
  };
  var CaseflowPropertiesModule = {
    __init__: ["caseflowPropertiesProvider"],
    caseflowPropertiesProvider: ["type", CaseflowPropertiesProvider]
  };

  // ---- loading and saving ------------------------------------------------------------------
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

  function Page(form) {
    this.form = form;
    this.status = document.getElementById("modeler-status");
    this.problems = document.getElementById("modeler-problems");
    this.list = document.getElementById("modeler-problem-list");
    this.save = document.getElementById("modeler-save");
    this.heatOn = document.getElementById("heat-on");
    this.metric = document.getElementById("heat-metric");
    this.legend = document.getElementById("heat-legend");
    this.heat = {};  // metric -> figures, fetched once
    this.faults = [];
    this.modeler = new B.Modeler({
      container: document.getElementById("modeler-canvas"),
      propertiesPanel: { parent: document.getElementById("modeler-properties") },
      additionalModules: [B.BpmnPropertiesPanelModule, B.BpmnPropertiesProviderModule,
                          B.CamundaPlatformPropertiesProviderModule, B.CamundaBehaviorsModule,
                          CaseflowPropertiesModule],
      moddleExtensions: { camunda: B.camundaModdle }
    });
  }

  Page.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.status.className = "modeler-status" + (kind ? " modeler-status-" + kind : "");
  };

  Page.prototype.start = function () {
    var self = this;
    load(this.form.dataset.bpmnUrl)
      .then(function (xml) { return self.modeler.importXML(xml); })
      .then(function () {
        self.fit();
        self.markFaults(self.readProblems());
        self.save.disabled = false;
        document.body.classList.add("modeler-ready");
        self.say("Ready. Draw your change, then save it as a draft.");
      })
      .catch(function (err) {
        self.say((err && err.message) || "The diagram could not be opened in the modeler.", "bad");
      });
    this.form.addEventListener("submit", function (e) { e.preventDefault(); self.submit(); });
    this.heatOn.addEventListener("change", function () { self.toggleHeat(); });
    this.metric.addEventListener("change", function () { self.toggleHeat(); });
    this.list.addEventListener("click", function (e) { self.selectFrom(e.target); });
    this.list.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); self.selectFrom(e.target); }
    });
    this.modeler.get("eventBus").on("elements.changed", function () {
      if (self.heatOn.checked) self.paintFills();
    });
  };

  // Fit the drawing to the canvas, leaving the palette's strip on the left free.
  Page.prototype.fit = function () {
    var canvas = this.modeler.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    var palette = document.querySelector("#modeler-canvas .djs-palette");
    var box = canvas.viewbox();
    // On a narrow screen the palette covers too much to leave free: show the whole drawing.
    if (!palette || !box.scale || box.outer.width < 700) return;
    var free = (palette.offsetLeft + palette.offsetWidth + 12) / box.scale;
    canvas.viewbox({ x: box.x - free, y: box.y, width: box.width + free, height: box.height + free * box.height / box.width });
  };

  Page.prototype.readProblems = function () {
    return [].map.call(this.list.querySelectorAll("li.problem"), function (li) {
      return { element_id: li.dataset.elementId };
    });
  };

  Page.prototype.submit = function () {
    var self = this;
    this.save.disabled = true;
    this.say("Saving and checking…");
    this.modeler.saveXML({ format: true }).then(function (result) {
      var body = new FormData(self.form);
      body.delete("bpmn");  // sent as a file part: form fields are capped at 1 MB
      body.set("file", new Blob([result.xml], { type: "application/xml" }), "drawing.bpmn");
      return fetch(self.form.action, { method: "POST", body: body, credentials: "same-origin",
                                        headers: { Accept: "application/json" } });
    }).then(function (r) {
      return r.json().catch(function () {
        var why = r.status === 403 ? "your sign-in or this page has expired (403)" :
          r.status === 413 ? "the drawing is larger than Caseflow accepts (413)" :
          "the server answered " + r.status;
        return { stored: false, problems: [{ message: "Not saved: " + why + ". Nothing was stored; your drawing is still here." }] };
      });
    }).then(function (answer) {
      if (answer.stored) {
        self.say(answer.message + " Opening it…", "ok");
        window.location.assign(answer.url);
        return;
      }
      if (answer.detail && !answer.problems) answer.problems = [{ message: answer.detail }];
      self.showProblems(answer.problems || [], answer.warnings || []);
      self.save.disabled = false;
    }).catch(function (err) {
      self.say("Could not save: " + ((err && err.message) || "the connection failed") + ". Your drawing is kept; try again.", "bad");
      self.save.disabled = false;
    });
  };

  Page.prototype.showProblems = function (problems, warnings) {
    var self = this;
    this.list.textContent = "";
    function add(p, cls) {
      var li = document.createElement("li");
      li.className = cls;
      li.dataset.elementId = p.element_id || "";
      if (p.element_id) {
        li.tabIndex = 0;
        var code = document.createElement("code");
        code.textContent = p.element_id;
        li.appendChild(code);
        li.appendChild(document.createTextNode(": "));
      }
      li.appendChild(document.createTextNode(p.message + (p.line ? " (line " + p.line + ")" : "")));
      self.list.appendChild(li);
    }
    problems.forEach(function (p) { add(p, "problem"); });
    warnings.forEach(function (w) { add(w, "warning"); });
    var title = document.getElementById("modeler-problems-title");
    title.textContent = "Not saved: " + problems.length + " problem" + (problems.length === 1 ? "" : "s") + " to fix";
    this.problems.hidden = false;
    this.markFaults(problems);
    this.say("Not saved: fix the problems listed below the toolbar. Your drawing is kept.", "bad");
    this.problems.scrollIntoView({ block: "nearest" });
  };

  Page.prototype.markFaults = function (problems) {
    var canvas = this.modeler.get("canvas"), registry = this.modeler.get("elementRegistry");
    this.faults.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, "fault"); });
    this.faults = [];
    var self = this;
    problems.forEach(function (p) {
      if (p.element_id && registry.get(p.element_id) && self.faults.indexOf(p.element_id) < 0) {
        canvas.addMarker(p.element_id, "fault");
        self.faults.push(p.element_id);
      }
    });
    [].forEach.call(this.list.querySelectorAll("li[data-element-id]"), function (li) {
      if (li.dataset.elementId && registry.get(li.dataset.elementId)) li.tabIndex = 0;
    });
  };

  Page.prototype.selectFrom = function (target) {
    var li = target.closest ? target.closest("li[data-element-id]") : null;
    var id = li && li.dataset.elementId;
    var element = id && this.modeler.get("elementRegistry").get(id);
    if (!element) return;
    this.modeler.get("selection").select(element);
    this.modeler.get("canvas").scrollToElement(element);
  };

  // ---- heatmap -----------------------------------------------------------------------------
  Page.prototype.toggleHeat = function () {
    var self = this, metric = this.metric.value;
    this.metric.disabled = !this.heatOn.checked;
    this.clearHeat();
    if (!this.heatOn.checked) return;
    var cached = this.heat[metric];
    var ready = cached ? Promise.resolve(cached) : fetch(this.form.dataset.heatmapUrl + "?metric=" + encodeURIComponent(metric),
      { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("The figures could not be loaded (" + r.status + ").");
        return r.json();
      });
    ready.then(function (heat) {
      self.heat[metric] = heat;
      if (!self.heatOn.checked || self.metric.value !== metric) return;
      self.current = heat;
      self.paintFills();
      self.paintBadges();
      self.showLegend();
    }).catch(function (err) { self.say(err.message, "bad"); });
  };

  Page.prototype.paintFills = function () {
    var registry = this.modeler.get("elementRegistry"), fills = (this.current || {}).fills || {};
    Object.keys(fills).forEach(function (id) {
      var gfx = registry.getGraphics(id);
      var shape = gfx && gfx.querySelector(".djs-visual > rect, .djs-visual > circle, .djs-visual > polygon");
      if (shape) { shape.style.fill = fills[id]; shape.classList.add("heat-filled"); }
    });
  };

  Page.prototype.paintBadges = function () {
    var registry = this.modeler.get("elementRegistry"), overlays = this.modeler.get("overlays");
    var badges = (this.current || {}).badges || {};
    Object.keys(badges).forEach(function (id) {
      if (!registry.get(id)) return;
      var badge = document.createElement("span");
      badge.className = "diagram-badge";
      badge.textContent = badges[id];
      overlays.add(id, HEAT, { position: { top: -12, right: 12 }, html: badge });
    });
  };

  Page.prototype.showLegend = function () {
    var heat = this.current, legend = this.legend;
    legend.textContent = "";
    var intro = document.createElement("span");
    intro.textContent = heat.label + " on v" + heat.version + " (" + heat.cases + " case" + (heat.cases === 1 ? "" : "s") + "):";
    legend.appendChild(intro);
    if (!heat.legend.length) legend.appendChild(document.createTextNode(" nothing to colour yet for this measure."));
    heat.legend.forEach(function (step) {
      var item = document.createElement("span"), swatch = document.createElement("span");
      swatch.className = "heat-swatch";
      swatch.style.backgroundColor = step.colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(step.label));
      legend.appendChild(item);
    });
    legend.hidden = false;
  };

  Page.prototype.clearHeat = function () {
    this.current = null;
    this.modeler.get("overlays").remove({ type: HEAT });
    [].forEach.call(document.querySelectorAll("#modeler-canvas .heat-filled"), function (shape) {
      shape.style.fill = "";
      shape.classList.remove("heat-filled");
    });
    this.legend.hidden = true;
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("modeler-form");
    if (!form) return;
    if (!B) {
      document.getElementById("modeler-status").textContent = "The modeler could not be loaded.";
      return;
    }
    var page = new Page(form);
    window.caseflowModeler = page.modeler;  // for tests and the browser console
    page.start();
  });
})();
