"""Outgoing webhooks, the parts that need no database.

``signing`` (Standard Webhooks headers plus the legacy ``X-Webhook-Signature``),
``guard`` (which target URLs and addresses we refuse to call), ``sender`` (one HTTP
attempt, every outcome returned as data) and ``receiver`` (the mock endpoint behind
``marketsync mock-webhook`` and ``/mock/webhook``). Outbox rows and the delivery
actor live elsewhere and call into these modules.
"""
