"""What a step's form starts from: the case's data and the customer record, matched by field id.

Only the form shown is prefilled; the step stores what the person submits. The mapping is
documented in bpmn/README.md (*Prefilled form fields*).
"""
from __future__ import annotations

from typing import Any, Mapping

from .customers import Customer

# customer record attribute -> form field ids that mean it
CUSTOMER_FIELDS: dict[str, tuple[str, ...]] = {
    "account_number": ("customer_id", "customer_number", "account_number", "crm_customer_id"),
    "phone": ("contact_phone", "phone", "customer_phone", "phone_number"),
    "email": ("email", "contact_email", "customer_email"),
    "name": ("customer_name", "contact_name"),
}
# case data key -> other field ids that mean the same (the case data's own key always matches)
CASE_ALIASES: dict[str, tuple[str, ...]] = {
    "address": ("installation_address", "service_address", "customer_address"),
    "installation_address": ("address", "service_address"),
    "phone": ("contact_phone",),
    "email": ("contact_email",),
}


def known_values(customer: Customer | None, case_data: Mapping[str, Any]) -> dict[str, Any]:
    """Return {form field id: value} for what the case and its customer already say."""
    known: dict[str, Any] = {}
    for attribute, field_ids in CUSTOMER_FIELDS.items():
        value = getattr(customer, attribute, None) if customer is not None else None
        if value not in (None, ""):
            known.update(dict.fromkeys(field_ids, value))
    for key, field_ids in CASE_ALIASES.items():
        if case_data.get(key) not in (None, ""):
            known.update(dict.fromkeys(field_ids, case_data[key]))
    known.update({k: v for k, v in case_data.items() if v not in (None, "")})
    return known


def form_start(task_data: Mapping[str, Any], previous: Mapping[str, Any],
               known: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values a form shows first: captured last time, else the step's data, else known."""
    start = dict(known)
    start.update({k: v for k, v in task_data.items() if v is not None})
    start.update({k: v for k, v in previous.items() if v is not None})
    return start
