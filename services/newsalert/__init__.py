"""newsalert: streaming news alerts.

Articles arrive on a Kafka topic, are matched against watch rules, deduplicated per
story in Redis, and delivered as signed webhooks (Standard Webhooks).

Layout: a pure core (``models``, ``text``, ``rules``) that imports no Kafka, Redis or
HTTP; adapters at the edges (``kafka``, ``stack``, ``signing``); one subpackage per
service (``matcher``, ``dispatcher``, ``api``, ``backtest``); ``cli`` on top.
"""

__version__ = "0.1.0"
