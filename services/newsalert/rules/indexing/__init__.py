"""The matching index: from a document's keys to the rules it may match, in bulk.

``index`` (``CompiledRules``) builds on ``anchors`` (the terms a rule needs), ``key``/
``keyids``/``dockeys`` (keys of rules and documents), ``postings``, ``proximity``,
``exact`` and ``analysis`` (per-rule rows), walked by the compiled ``kernels``.
"""
