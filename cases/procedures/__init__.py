"""A case once filed: statuses, the transition table and its executor,
running deadlines, history, privacy.
"""
