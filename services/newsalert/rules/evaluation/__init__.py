"""Deciding whether a rule matches a document, and saying why.

``document`` (an article's normalised fields), ``evaluate`` (the reference semantics),
``program``/``nearcheck``/``verify`` (compiled checks for rules the index cannot decide),
``oracle`` (brute force, for tests and audits), ``explain`` and ``results``.
"""
