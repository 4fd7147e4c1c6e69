"""The transactional outbox: the case events the outside world may hear about, written by
`cases.events.record` in the same transaction as the action, so nothing is announced that did
not happen and nothing that happened is lost. The webhook dispatcher (cases/webhooks) reads it.

    models.py   the `outbox_event` table and the set of published event types
"""
