"""Webhook delivery adapters: Standard Webhooks signing, retry policy, SSRF guard, sender.

``signing`` and ``retry`` are pure; ``ssrf`` and ``sender`` do network I/O (httpx).
"""
