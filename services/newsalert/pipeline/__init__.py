"""The step an article takes from its Kafka record to its alerts, shared by the matcher
and the backtest so that a backtest's verdicts are the live service's.

``decode`` (a record to an ``Article`` or a reason to dead-letter it), ``eventtime`` (the
clamped event time), ``step`` (``ArticlePipeline``: dedupe check, match, claim) and
``lanes`` (the repeat lanes of a rule's subscriptions).
"""
