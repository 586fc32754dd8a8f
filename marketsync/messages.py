"""The names of the messages (Dramatiq actors) that services send and ``jobs`` serves.

Services only ring doorbells by name (``rt.dispatcher.send(Actor.SYNC_STORE, id)``),
so they never import the actors; ``jobs/actors.py`` registers each actor under its
name here. A message carries an id; the database row is the truth.
"""

from __future__ import annotations

from enum import StrEnum


class Actor(StrEnum):
    SYNC_STORE = "sync_store"
    DELIVER_WEBHOOK = "deliver_webhook"
    PUSH_INVENTORY = "push_inventory"
    POLL_INVENTORY = "poll_inventory"
