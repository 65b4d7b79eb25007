"""The eBPF side of the syscall source: the CO-RE probe and everything that talks to it.

- ``probe.bpf.c`` / ``events.h``: the probe and its record layout (compiled by
  :mod:`.build` into ``probe.bpf.o``, which the wheel ships);
- ``creds.bpf.h``: reading a task's credentials, shared by the probe and the
  profile recorder (``profile.bpf.c``);
- :mod:`._libbpf`: our ctypes binding of ``libbpf.so.1``;
- :mod:`.preflight`: what loading an object needs (x86_64, root, BTF, the
  compiled object), checked first by the probe and the recorder alike;
- :mod:`.loader`: :class:`~.loader.Probe` loads, configures (through maps)
  and attaches it;
- :mod:`.ringbuf`: the mmap ring-buffer reader;
- :mod:`.layout`, :mod:`.syscalls`: the record layout mirror and the table
  of captured syscalls behind the in-kernel interest map.

Importing this package loads nothing.
"""
