"""Beyond one node: alerts and events through NATS JetStream and Redis Streams, at least once.

The pieces, one job each: :mod:`.settings` (what a broker connection and its
names are configured with), :mod:`.naming` (subjects and stream keys from
templates with the node, rule and priority), :mod:`.transport` (what a
broker client does, and how its failures are told apart), :mod:`.nats` and
:mod:`.redis` (the two clients), :mod:`.publisher` (a thread that drains an
on-disk :class:`~secengine.sinks.spool.Spool` into a broker, in order,
committing only what the broker acknowledged), :mod:`.forward` (the events a
node evaluates, sent on for a central evaluator), :mod:`.consumer` (the
central side: a durable consumer, acknowledged after evaluation, idempotent
on redelivery, poison messages dead-lettered). ``docs/fleet.md`` draws the
topology.
"""
