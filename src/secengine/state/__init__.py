"""State for the live syscall source: processes, fds, users, containers (bounded).

Falco's rules read much more than a syscall carries (``proc.aname[2]``,
``fd.name`` of the fd a ``dup2`` copies, ``container.image.repository``);
this package keeps what is needed to answer, learned from the probe's
records and seeded from ``/proc`` at start:

- :mod:`.threads`: :class:`~.threads.Process` and the bounded
  :class:`~.threads.ProcessTable` (ancestors, exe, cmdline, cwd, tty, ids,
  capabilities, session and process group);
- :mod:`.fds`: :class:`~.fds.FdInfo` and per-process fd tables;
- :mod:`.users`: user and group names (host and per container);
- :mod:`.containers`: container ids from cgroup paths and metadata from the
  runtime's files (at once) and API (in the background);
- :mod:`.procfs`: reading ``/proc``;
- :mod:`.decode`: the probe's records, decoded lazily;
- :mod:`.tracker`: applies records to the tables.

The live field values are computed by the field classes
(:mod:`secengine.fields.live` and each field's ``FieldDef.live``) from what
these modules keep; they satisfy the small protocols defined there.

Every table is bounded (LRU); evictions and failed lookups are counted.
"""
