"""The domain: what marketsync does, with no strawberry, dramatiq or starlette in it.

One folder per domain, and a few shared modules (see docs/architecture.md):

    stores/     registry (register, look up), connection (testConnection), reads (pages)
    orders/     importing (importOrder), attempts (one marketplace call, recorded),
                status (the store's sync status rule and report)
    sync/       enqueue (one queued sync per store), engine (a store sync run)
    webhooks/   endpoints (register, list, redeliver), outbox (events in the change's
                transaction), delivery (claim, sign, send), recording (outcomes)
    inventory/  items, planning, push (pushInventory), runner (push and poll jobs),
                batches (batch answers), job_rows (job state machine and sweep)
    due_work    what a scheduler tick rings for
    retry       the retry policies of sync logs, webhooks and inventory pushes
    pagination  the keyset pager
    apikeys, currencies
"""
