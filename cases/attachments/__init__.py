"""Attachments on cases: photos, letters, invoices. The bytes live in files under a configured
directory (never in the database, never under the user's file name); each row names its file by
a random key, and every upload and delete is an audit event in the same transaction as the row.

    models.py    the `case_attachment` table
    content.py   which contents are allowed, told from the bytes (never from the name)
    storage.py   the directory: stream to a temporary file, move into place, remove
    service.py   add, list, fetch and delete attachments (one transaction each)
"""
