"""The agent's HTTP listeners' shared infrastructure: one hardened granian server for all.

Two listeners serve HTTP(S) from the agent: the Kubernetes audit webhook
(:mod:`secengine.sources.k8s_webhook`) and the health and metrics endpoint
(:mod:`secengine.metrics`). Both face whoever can reach their port, so both
run on the same server with the same limits:

- :mod:`.limits`: :class:`HttpLimits`, the connection limit and the
  header, body and keep-alive timeouts, with their defaults;
- :mod:`.server`: :class:`EmbeddedHttpServer`, granian's embedded server
  bound to one socket and stopped in two steps;
- :mod:`.threaded`: :class:`ThreadedHttpServer`, that server on its own
  thread and event loop (how both listeners run inside the agent);
- :mod:`.stats`: :class:`ListenerStats`, what each listener refused and why
  (TLS handshakes, tokens, timeouts), counted for the metrics and logged
  with the peer's address, rate-limited;
- :mod:`.body`: request bodies read in bounded size, time and total bytes,
  the slowest shed first when the listener is full;
- :mod:`.handshakes`: how failed TLS handshakes, which granian reports
  only in its Rust log, reach those counters.

The package re-exports nothing: the configuration imports :mod:`.limits` for
its defaults, and that must not load granian (:mod:`.server`) into every
command that reads a config file.
"""
