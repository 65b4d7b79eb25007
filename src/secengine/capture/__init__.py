"""Capture files: Falco's and sysdig's ``.scap`` format (pcapng-style blocks).

:mod:`.blocks` splits a capture into blocks, :mod:`.eventtable` says what an
event block's type number means, :mod:`.tables` reads the state blocks
(machine, processes, fds, interfaces, users) and :mod:`.events` an event's
parameters. The replay of a capture feeds the live state machine
(:mod:`secengine.state`) through :mod:`.records`.
"""
