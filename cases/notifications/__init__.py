"""Notifications: tell people what concerns them, in the app (the bell) and, if they wish, by
e-mail. They are derived in one place from the case events as `cases.events.record` writes them,
so each is created in the same transaction as the action that caused it; e-mails are jobs of the
executor, sent at most once per notification and recipient.

    models.py    the `notification` and `notification_preference` tables
    kinds.py     the kinds of notification, and their words
    derive.py    which case events notify whom (called by cases.events.record)
    service.py   list, count, mark read; preferences
    mail.py      SMTP settings, the message, and the `notification_email` job kind
"""
