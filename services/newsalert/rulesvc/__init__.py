"""The rule core put to work in a process: what touches files, threads and metrics.

``reload`` keeps the live compiled rule set of the services (watch, load and compile
off the hot path, keep the last good set), ``metrics`` its Prometheus gauges, and
``cli`` the ``newsalert rules`` commands (check, explain, test against an article).
"""
