"""The least-privilege advisor: propose a workload's seccomp profile and capabilities, prove them.

- :mod:`.recorder`: loads ``bpf/profile.bpf.o`` (per-workload syscall bitmaps
  and capability-deciding operations, kept in BPF maps) and reads its maps;
  :mod:`.layout` mirrors ``bpf/profile.h``;
- :mod:`.launch`: starts a command held before ``exec``, so it is followed
  from its first syscall;
- :mod:`.session`: ``run``, ``exec``, ``attach`` and ``verify``;
- :mod:`.recording`: what was recorded, by phase and outcome (JSON, merge);
- :mod:`.capabilities`: the inference table (operation -> capability);
- :mod:`.seccomp`: the OCI/Docker seccomp profile, reading default profiles;
- :mod:`.baselines`: the runtimes' measured init phases (``baselines/``);
- :mod:`.runtime`: containers, runtimes and ``run`` command options;
- :mod:`.report`: the human report;
- :mod:`.syscall_table`: x86_64 syscall names by number.

Importing this package loads nothing. See ``docs/least-privilege.md``.
"""
