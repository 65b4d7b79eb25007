"""The CVE pack keeps the probe's kernel-side filters: TCP socket I/O stays dropped.

The netlink rules (CVE-2024-1086, CVE-2022-2588/CVE-2023-3776) look at ``sendto`` and
``sendmsg``; unless their conditions say they cannot match a TCP socket, every TCP send on
the host would be captured and handed to userspace for nothing.
"""

from __future__ import annotations

from secengine.ruleset.paths import default_rules_files
from secengine.sources.specs import load_rules
from secengine.sources.syscall_interest import stream_skippable


def test_the_shipped_rules_never_look_at_tcp_socket_io() -> None:
    rs = load_rules([str(p) for p in default_rules_files()])
    assert rs.successful, rs.render_text()
    netlink = [r for r in rs.rules if r.evttypes is not None and "sendmsg" in r.evttypes]
    assert {"CVE-2024-1086", "CVE-2022-2588"} <= {t for r in netlink for t in r.tags}
    assert stream_skippable(rs.rules) == {"sendto", "sendmsg", "recvfrom", "recvmsg"}
