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
cat node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css \
  node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css \
  > "$OUT/bpmn-js-modeler.css"
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
