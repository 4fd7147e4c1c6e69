"""What each open case waits for from outside (messages, signals), kept as rows so a broadcast
signal or a correlated message finds its cases without loading every workflow.

    models.py    the `subscription` table (a projection of the workflow state, like work items)
    service.py   keep it in step with the engine; broadcast signals; correlate messages
"""
