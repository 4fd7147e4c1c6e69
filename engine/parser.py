"""The one configured SpiffWorkflow parser and serializer registry used by validation and runtime.

Decisions recorded here (see README "Engine decisions"):
- A serviceTask with a topic (camunda:type="external" camunda:topic, or a caseflow.topic property)
  is an external task that workers fetch and complete (engine/external.py); one without a topic
  runs as a human step. Caseflow calls no external services from the model.
- Timer expressions written the way Camunda Modeler writes them (PT30S, R3/PT1H, 2026-12-01T10:00Z)
  are accepted as literals; anything else is treated as a Python expression, as SpiffWorkflow does.
- Exclusive gateways are `RoutableExclusiveGateway`, so decisions can be overridden.
- A sequenceFlow without an id gets a stable one (`Flow_<source>_<target>`) before parsing.
- Camunda 7 multi-instance (camunda:collection / camunda:elementVariable) is rewritten as BPMN
  loopDataInputRef / inputDataItem before parsing; black-box pools (processes without flow
  nodes) are dropped before parsing, as nothing of them runs.
- Business rule tasks are `CaseflowBusinessRuleTask` (engine/dmn_task.py): the decision is named the
  Camunda 7, Camunda 8 or Spiff way, and an agent may override its outcome.
- Start events are `CaseflowStartEvent`: error and escalation starts of event subprocesses are
  read, and `isInterrupting` is honoured.
"""
from __future__ import annotations

import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import ExclusiveGatewayConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ManualTask

from .dmn_task import (CaseflowBusinessRuleTask, CaseflowBusinessRuleTaskConverter,
                       CaseflowBusinessRuleTaskParser)
from .external import ExternalServiceTask, ExternalServiceTaskConverter, ServiceTaskParser
from .event_specs import (CaseflowEndEventParser, CaseflowStartEvent, CaseflowStartEventConverter,
                          CaseflowStartEventParser)
from .specs import RoutableExclusiveGateway

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {
    "bpmn": BPMN_NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

# ISO 8601 durations, date-times and repeating intervals, as modelers write them unquoted.
_ISO_DURATION = r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
_ISO_DATETIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
_ISO_PART = rf"({_ISO_DURATION}|{_ISO_DATETIME})"
ISO_TIMER = re.compile(rf"^(R\d*/)?{_ISO_PART}(/{_ISO_PART})?$", re.IGNORECASE)
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


class CaseflowParser(SpiffBpmnParser):
    """SpiffBpmnParser with Caseflow's task spec choices."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, ManualTask),
        full_tag("exclusiveGateway"): (ConditionalGatewayParser, RoutableExclusiveGateway),
        full_tag("startEvent"): (CaseflowStartEventParser, CaseflowStartEvent),
        full_tag("endEvent"): (CaseflowEndEventParser, EndEvent),
        full_tag("businessRuleTask"): (CaseflowBusinessRuleTaskParser, CaseflowBusinessRuleTask),
    }


def quote_literal_timers(root: etree._Element) -> None:
    """Quote ISO-8601 timer literals in place so SpiffWorkflow evaluates them as strings."""
    for tag in TIMER_TAGS:
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            text = (node.text or "").strip()
            if text and ISO_TIMER.match(text):
                node.text = repr(text)


def name_anonymous_flows(root: etree._Element) -> None:
    """Give every sequenceFlow without an id a stable one in place, `Flow_<source>_<target>` (then
    `_2`, `_3`... on a clash with any id), in document order: SpiffWorkflow silently drops a flow
    without an id, and Camunda's own test files often leave them out."""
    flows = [f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow") if not f.get("id")]
    if not flows:
        return
    taken = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for flow in flows:
        base = f"Flow_{flow.get('sourceRef') or 'unknown'}_{flow.get('targetRef') or 'unknown'}"
        candidate, counter = base, 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}_{counter}"
        flow.set("id", candidate)
        taken.add(candidate)


_FLOW_ELEMENTS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
    "complexGateway", "sequenceFlow"})


def is_black_box(process: etree._Element) -> bool:
    """A process without flow nodes or flows: a pool drawn for another party (a "black box"),
    possibly with lanes. Nothing of it runs here, so it is neither checked nor deployed."""
    return not any(isinstance(c.tag, str) and c.tag.startswith(f"{{{BPMN_NS}}}")
                   and etree.QName(c).localname in _FLOW_ELEMENTS for c in process)


def drop_black_boxes(root: etree._Element) -> None:
    """Remove black-box processes in place; SpiffWorkflow would report each as having no start."""
    for process in list(root.iter(f"{{{BPMN_NS}}}process")):
        if is_black_box(process) and process.getparent() is not None:
            process.getparent().remove(process)


_JUEL_NAME = re.compile(r"^\s*[$#]\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\s*$")


def read_camunda_multi_instance(root: etree._Element) -> None:
    """Rewrite Camunda 7 multi-instance (`camunda:collection`, `camunda:elementVariable` on
    multiInstanceLoopCharacteristics) in place as the BPMN loopDataInputRef / inputDataItem that
    SpiffWorkflow's parser reads: one instance per item of the collection, the item in the element
    variable. `${items}` is read as the variable `items`. A loop that already names its input in
    BPMN is left alone; each instance's item is written back into its place in the collection."""
    camunda = NS["camunda"]
    for loop in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        collection = (loop.get(f"{{{camunda}}}collection") or "").strip()
        if not collection or loop.find(f"{{{BPMN_NS}}}loopDataInputRef") is not None:
            continue
        juel = _JUEL_NAME.match(collection)
        ref = etree.Element(f"{{{BPMN_NS}}}loopDataInputRef")
        ref.text = juel.group(1) if juel else collection
        position = 1 if loop.find(f"{{{BPMN_NS}}}loopCardinality") is not None else 0
        for old in loop.findall(f"{{{BPMN_NS}}}loopCardinality"):
            loop.remove(old)  # Camunda ignores a cardinality when a collection is given
            position = 0
        loop.insert(position, ref)
        element = (loop.get(f"{{{camunda}}}elementVariable") or "").strip()
        if element and loop.find(f"{{{BPMN_NS}}}inputDataItem") is None:
            item = etree.Element(f"{{{BPMN_NS}}}inputDataItem", id=element, name=element)
            ref.addnext(item)
            if loop.find(f"{{{BPMN_NS}}}loopDataOutputRef") is None:
                # The element variable is each instance's own: written back into its place in
                # the collection (as SpiffWorkflow's Camunda support does), never left behind
                # in the case data, where the next sequential instance would find it.
                out_ref = etree.Element(f"{{{BPMN_NS}}}loopDataOutputRef")
                out_ref.text = ref.text
                out_item = etree.Element(f"{{{BPMN_NS}}}outputDataItem", id=element, name=element)
                ref.addnext(out_ref)  # BPMN's order: input ref, output ref, input item, output item
                item.addnext(out_item)


_THROWS = (f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}endEvent")


def _message_names(root: etree._Element) -> dict[str, str]:
    return {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")}


def camunda_result_variables(root: etree._Element) -> dict[str, str]:
    """Message name -> where its receiver keeps it, as a Camunda-modelled throw names it
    (`camunda:resultVariable` on the throw: SpiffWorkflow's Camunda events carry it along)."""
    camunda, names = NS["camunda"], _message_names(root)
    return {names.get(d.get("messageRef"), d.get("messageRef")):
            d.get(f"{{{camunda}}}resultVariable").strip()
            for d in root.iter(f"{{{BPMN_NS}}}messageEventDefinition")
            if d.getparent().tag in _THROWS and (d.get(f"{{{camunda}}}resultVariable") or "").strip()}


def read_camunda_message_payloads(root: etree._Element,
                                  received_as: dict[str, str] | None = None) -> None:
    """Rewrite the payload of a Camunda-modelled message event (`camunda:expression`, the value
    sent; `camunda:resultVariable`, where the receiver keeps it) as the spiffworkflow:messagePayload
    / messageVariable Caseflow runs. `received_as` adds the result variables that throws in the
    calling file name for messages this file catches."""
    camunda, spiff, names = NS["camunda"], NS["spiffworkflow"], _message_names(root)
    kept_in = {**(received_as or {}), **camunda_result_variables(root)}
    for definition in root.iter(f"{{{BPMN_NS}}}messageEventDefinition"):
        expression = (definition.get(f"{{{camunda}}}expression") or "").strip()
        thrown = definition.getparent().tag in _THROWS
        name = names.get(definition.get("messageRef"), definition.get("messageRef"))
        variable = ("" if thrown else (definition.get(f"{{{camunda}}}resultVariable") or "").strip()
                    or kept_in.get(name, ""))
        if not (expression or variable) or definition.find(f".//{{{spiff}}}messagePayload") is not None:
            continue
        extensions = definition.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None:
            extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
            definition.insert(0, extensions)
        for tag, text in (("messagePayload", expression), ("messageVariable", variable)):
            if text:
                etree.SubElement(extensions, f"{{{spiff}}}{tag}").text = text


def prepare_for_spiff(root: etree._Element, received_as: dict[str, str] | None = None) -> None:
    """Rewrite a parsed file in place into what SpiffWorkflow runs as the designer meant it
    (`received_as`: see read_camunda_message_payloads)."""
    drop_black_boxes(root)
    read_camunda_multi_instance(root)
    read_camunda_message_payloads(root, received_as)
    name_anonymous_flows(root)
    quote_literal_timers(root)


def new_parser() -> CaseflowParser:
    """Return a fresh parser (parsers accumulate state, so use one per deployment)."""
    return CaseflowParser()


def new_serializer() -> BpmnWorkflowSerializer:
    """Return a serializer that knows Caseflow's task specs."""
    config = dict(SPIFF_CONFIG)
    config[RoutableExclusiveGateway] = ExclusiveGatewayConverter
    config[CaseflowStartEvent] = CaseflowStartEventConverter
    config[ExternalServiceTask] = ExternalServiceTaskConverter
    config[CaseflowBusinessRuleTask] = CaseflowBusinessRuleTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
