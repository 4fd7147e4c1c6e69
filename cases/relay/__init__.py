"""Messages one case throws for another (a send task, a message throw or end event) reach the
case that waits for them, or open a case of the process whose start event catches them.

    service.py   what an action threw: a `message_thrown` event and one delivery job per message,
                 in the action's own transaction; waking those jobs when a case starts to wait
    delivery.py  the `message` job: find the one receiver and deliver, exactly once
    signals.py   what an action threw as signals: a `signal_thrown` event and one broadcast job
    broadcast.py the `signal_broadcast` job (one `signal` job per waiting case) and the
                 `signal_start` job (a case of each process a signal start event opens)

No table of its own: a message on its way is a `job` row (cases/jobs), its trail the case events.
"""
