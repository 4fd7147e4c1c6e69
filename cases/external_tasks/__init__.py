"""External tasks: service tasks with a topic that workers outside Caseflow fetch, lock and complete
(Camunda 7's external tasks, Camunda 8's job workers). The engine never calls out; workers pull.

    models.py      the `external_task` table
    projection.py  keep the table in step with the workflow, in the case's transaction
    service.py     fetch-and-lock, complete, report a failure, throw a BPMN error, extend the lock
"""
