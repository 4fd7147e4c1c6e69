#!/bin/sh
# How bpmn-js-modeler.min.js and its CSS were built (run by hand when upgrading; nothing runs this
# at build or test time). Needs node and npm. Writes into the directory of this script.
#
# The bundle is the bpmn-js Modeler, the properties panel with its BPMN and Camunda 7 providers,
# the Camunda 7 moddle extension and behaviours, and the few properties-panel helpers that
# web/static/modeler.js uses for Caseflow's own group (SLA, phase). It exposes them as one global,
# window.CaseflowBpmn. No eval, no inline scripts: it runs under Caseflow's CSP.
set -eu
OUT="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund bpmn-js@18.31.1 bpmn-js-properties-panel@5.65.3 \
  @bpmn-io/properties-panel@3.55.0 camunda-bpmn-moddle@7.0.1 camunda-bpmn-js-behaviors@1.18.0 \
  esbuild@0.28.2
cat > entry.js <<'JS'
import Modeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
         CamundaPlatformPropertiesProviderModule, useService } from "bpmn-js-properties-panel";
import { TextFieldEntry, SelectEntry, isTextFieldEntryEdited,
         isSelectEntryEdited } from "@bpmn-io/properties-panel";
import { h } from "@bpmn-io/properties-panel/preact";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";
window.CaseflowBpmn = { Modeler, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule, CamundaBehaviorsModule, camundaModdle, useService,
  TextFieldEntry, SelectEntry, isTextFieldEntryEdited, isSelectEntryEdited, h,
  getBusinessObject, is };
JS
node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=none --metafile=meta.json --outfile="$OUT/bpmn-js-modeler.min.js"
# The properties panel writes two containers with style attributes, which a CSP without
# 'unsafe-inline' refuses: move those two styles into the stylesheet (appended below).
node -e '
const fs = require("fs"), f = process.argv[1];
let js = fs.readFileSync(f, "utf8");
for (const [from, to] of [
  [" style=\"height: 100%\" tabindex=\"-1\" class=\"bio-properties-panel-container\"", " tabindex=\"-1\" class=\"bio-properties-panel-container\""],
  [" style=\"flex: none; height: auto\" class=\"bio-properties-panel ", " class=\"bio-properties-panel "]]) {
  if (js.split(from).length !== 2) throw new Error("expected once: " + from);
  js = js.replace(from, to);
}
// (the align and distribute icons carry style attributes too, but they are drawn as data: images)
if (/["\x27]<(div|span|a|p|button|ul|li)\s[^"\x27]*style=/.test(js)) throw new Error("another style attribute in HTML markup");
fs.writeFileSync(f, js);
' "$OUT/bpmn-js-modeler.min.js"
cat node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css \
  node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css \
  > "$OUT/bpmn-js-modeler.css"
printf '%s\n' '/* moved out of style attributes by build-modeler.sh (CSP) */' \
  '.bio-properties-panel-container { height: 100%; }' \
  '.bio-properties-panel-header-container { flex: none; height: auto; }' >> "$OUT/bpmn-js-modeler.css"
# The licence of every package the bundle contains, from esbuild's list of inputs.
node -e '
const fs = require("fs"), path = require("path");
const inputs = Object.keys(JSON.parse(fs.readFileSync("meta.json")).inputs);
const pkgs = new Set();
for (const f of inputs) {
  const m = f.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) pkgs.add(m[1]);
}
let out = "";
for (const p of [...pkgs].sort()) {
  const dir = path.join("node_modules", p);
  const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json")));
  const lic = fs.readdirSync(dir).find(n => /^(licen[cs]e|copying)/i.test(n));
  out += "=".repeat(78) + "\n" + p + "@" + pj.version + " (" + pj.license + ")\n\n";
  out += lic ? fs.readFileSync(path.join(dir, lic), "utf8") : "(no licence file in the package; licence field: " + pj.license + ")\n";
  out += "\n";
}
fs.writeFileSync(process.argv[1], out);
' "$OUT/THIRD_PARTY_LICENSES.txt"
cp node_modules/bpmn-js/LICENSE "$OUT/LICENSE"
rm -rf "$WORK"
