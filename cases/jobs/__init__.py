"""The job executor: every piece of due work (timers, SLA sweeps, timer starts, signal deliveries,
and later webhooks and notifications) is a `Job` row with a due time and a lease, run by any
number of workers, each job in its own transaction, retried with backoff, never stopping another.

    models.py    the `job` table
    service.py   schedule, claim, finish and fail jobs (SQL only, no loop)
    handlers.py  what each kind of job does
    executor.py  the loop that claims and runs due jobs (inside `caseflow serve` and `caseflow worker`)
"""
