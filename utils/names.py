"""Naming many items in one log line."""

# How many names a one-line summary shows before "...".
SHOWN = 5


def first_few(names, shown=SHOWN):
    """Returns `names` joined with commas, cut after `shown` of them with ", ..."."""
    names = list(names)
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")
