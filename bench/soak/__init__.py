"""The fault soak: the served engine on PostgreSQL and Kafka under a steady HTTP load while
its processes are killed, the broker goes away and PostgreSQL restarts; then a proof that
nothing acknowledged was lost and nothing was counted twice.

    python -m bench.soak [--seconds 300] [--seed N]          (make soak)

- ``services``: a database of its own; the PostgreSQL restart; the broker it may stop;
- ``processes``: the API, relay and projector processes, supervised;
- ``clients`` / ``workload``: clients that retry under their idempotency keys, and what
  managers, an owner and contributors do;
- ``faults``: the faults at random moments and their recovery times;
- ``checks`` / ``report``: acknowledged vs stored, store vs topic, projections vs a
  rebuild, reward invariants, hash chain; the final table.
"""
