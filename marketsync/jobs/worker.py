"""The module `marketsync worker` hands to Dramatiq: broker first, then the actors."""

from marketsync.jobs.process import setup_worker_broker

broker = setup_worker_broker()

import marketsync.jobs.actors  # noqa: E402,F401  (must follow the broker)
