"""Responses: act on a rule's match (kill, stop a container, run a program, tag), safely.

A rule asks for responses with ``secengine_response`` (compiled to
:class:`~secengine.ruleset.response.ResponsePlan`, ``Rule.response``); this
package decides whether and how they happen at run time: the safeties
(:mod:`.settings`, :mod:`.policy`), the user-space actions and their
outcomes. The in-kernel kill is the probe's (:mod:`secengine.bpf`); the
agent wires both. ``docs/response.md`` describes the whole.
"""
