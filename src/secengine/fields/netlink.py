"""Names of netlink protocols and message types, for ``evt.netlink.proto``/``evt.netlink.msgtypes``.

Netlink is how a process configures the kernel's networking (routes, links, traffic control,
nf_tables): a container escape through those subsystems shows as messages sent on an
``AF_NETLINK`` socket, not as a syscall of its own. The probe copies the head of each such send
and the decoder walks its ``nlmsghdr`` chain; this module names what it finds, with the kernel's
own names (``include/uapi/linux/netlink.h``, ``rtnetlink.h``, ``netfilter/nfnetlink.h``,
``netfilter/nf_tables.h``). Unknown numbers are rendered as decimal text.
"""

from __future__ import annotations

from typing import Final

__all__ = ["message_type_name", "protocol_name"]

NETLINK_ROUTE: Final = 0
NETLINK_NETFILTER: Final = 12

_PROTOCOLS: Final = {
    0: "NETLINK_ROUTE",
    2: "NETLINK_USERSOCK",
    3: "NETLINK_FIREWALL",
    4: "NETLINK_SOCK_DIAG",
    5: "NETLINK_NFLOG",
    6: "NETLINK_XFRM",
    7: "NETLINK_SELINUX",
    8: "NETLINK_ISCSI",
    9: "NETLINK_AUDIT",
    10: "NETLINK_FIB_LOOKUP",
    11: "NETLINK_CONNECTOR",
    12: "NETLINK_NETFILTER",
    13: "NETLINK_IP6_FW",
    14: "NETLINK_DNRTMSG",
    15: "NETLINK_KOBJECT_UEVENT",
    16: "NETLINK_GENERIC",
    18: "NETLINK_SCSITRANSPORT",
    19: "NETLINK_ECRYPTFS",
    20: "NETLINK_RDMA",
    21: "NETLINK_CRYPTO",
    22: "NETLINK_SMC",
}

#: control messages, the same in every protocol (below NLMSG_MIN_TYPE, 16)
_CONTROL: Final = {1: "NLMSG_NOOP", 2: "NLMSG_ERROR", 3: "NLMSG_DONE", 4: "NLMSG_OVERRUN"}


def _rtm() -> dict[int, str]:
    """RTM_{NEW,DEL,GET,SET}<object>: objects in groups of four from RTM_BASE (16)."""
    objects = (
        "LINK", "ADDR", "ROUTE", "NEIGH", "RULE", "QDISC", "TCLASS", "TFILTER", "ACTION",
        "PREFIX", "MULTICAST", "ANYCAST", "NEIGHTBL", "NDUSEROPT", "ADDRLABEL", "DCB",
        "NETCONF", "MDB", "NSID", "STATS", "CACHEREPORT", "CHAIN", "NEXTHOP", "LINKPROP",
        "VLAN", "NEXTHOPBUCKET", "TUNNEL",
    )  # fmt: skip
    out = {}
    for i, obj in enumerate(objects):
        for j, verb in enumerate(("NEW", "DEL", "GET", "SET")):
            out[16 + 4 * i + j] = f"RTM_{verb}{obj}"
    return out


_RTM: Final = _rtm()

_NFT: Final = (
    "NEWTABLE", "GETTABLE", "DELTABLE", "NEWCHAIN", "GETCHAIN", "DELCHAIN", "NEWRULE",
    "GETRULE", "DELRULE", "NEWSET", "GETSET", "DELSET", "NEWSETELEM", "GETSETELEM",
    "DELSETELEM", "NEWGEN", "GETGEN", "TRACE", "NEWOBJ", "GETOBJ", "DELOBJ", "GETOBJ_RESET",
    "NEWFLOWTABLE", "GETFLOWTABLE", "DELFLOWTABLE", "GETRULE_RESET", "DESTROYTABLE",
    "DESTROYCHAIN", "DESTROYRULE", "DESTROYSET", "DESTROYSETELEM", "DESTROYOBJ",
    "DESTROYFLOWTABLE", "GETSETELEM_RESET",
)  # fmt: skip
_NFNL_SUBSYS_NFTABLES: Final = 10
#: nfnetlink subsystems (the high byte of the type), for messages other than nf_tables'
_NFNL_SUBSYS: Final = {
    1: "CTNETLINK",
    2: "CTNETLINK_EXP",
    3: "QUEUE",
    4: "ULOG",
    5: "OSF",
    6: "IPSET",
    7: "ACCT",
    8: "CTNETLINK_TIMEOUT",
    9: "CTHELPER",
    10: "NFTABLES",
    11: "NFT_COMPAT",
    12: "HOOK",
}


def protocol_name(proto: int) -> str:
    """``NETLINK_ROUTE`` ... for a netlink protocol number."""
    return _PROTOCOLS.get(proto, str(proto))


def message_type_name(proto: int, mtype: int) -> str:
    """The name of message type ``mtype`` on a socket of netlink protocol ``proto``: control
    messages, ``RTM_*`` (route), ``NFNL_MSG_BATCH_*``/``NFT_MSG_*``/``NFNL_SUBSYS_*:N``
    (netfilter); decimal text otherwise."""
    if mtype in _CONTROL:
        return _CONTROL[mtype]
    if proto == NETLINK_ROUTE:
        return _RTM.get(mtype, str(mtype))
    if proto == NETLINK_NETFILTER:
        if mtype == 16:
            return "NFNL_MSG_BATCH_BEGIN"
        if mtype == 17:
            return "NFNL_MSG_BATCH_END"
        subsys, msg = mtype >> 8, mtype & 0xFF
        if subsys == _NFNL_SUBSYS_NFTABLES and msg < len(_NFT):
            return f"NFT_MSG_{_NFT[msg]}"
        if subsys in _NFNL_SUBSYS:
            return f"NFNL_SUBSYS_{_NFNL_SUBSYS[subsys]}:{msg}"
    return str(mtype)
