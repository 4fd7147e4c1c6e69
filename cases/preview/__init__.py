"""Where a deviation leads before it happens: a dry run of skip, go back, jump and override, and
the data a skip must be given because a later decision reads it.

    needs.py     the fields of a step that later decisions read; checking a skip's data
    service.py   the dry run: the steps the case would reach, in words
"""
