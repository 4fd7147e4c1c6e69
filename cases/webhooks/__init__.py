"""Webhooks: integrators subscribe a URL to case event types and get each event from the outbox
signed, at least once, in order per case, retried with backoff by the job executor.

    models.py    the `webhook_subscription` and `webhook_delivery` tables
    urls.py      which URLs may be called (no link-local, metadata, loopback or private addresses)
    service.py   add, list, remove subscriptions; list and replay deliveries
    dispatch.py  the job kinds: fan the outbox out into deliveries, deliver one (signed POST)
    http.py      one POST to an address checked right before connecting, never a redirect
"""
