"""Incidents: a step of a case that keeps failing (a script, condition, timer expression or message
payload of the model), kept open until a person retries or resolves it (Camunda 7's incident model).

    models.py    the `incident` table
    service.py   open, retry, resolve and list incidents
"""
