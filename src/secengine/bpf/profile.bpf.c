// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * secengine's least-privilege recorder: which syscalls a workload makes, and
 * the operations that decide its capabilities, kept in maps in the kernel.
 *
 * A workload is a process tree followed from a root pid (its tasks carry a
 * `tasks` task-storage entry, set from userspace for the root and copied to
 * each child at sched_process_fork) or every task in a mount namespace (the
 * few namespaces listed in the config; a task found there gets an entry on
 * its first syscall). On each syscall exit of such a task one bit is set in
 * its bitmap (`sets`, one per workload and mount namespace), chosen by phase
 * and outcome. Any other task costs a task-storage pointer test (and, while a
 * mount namespace is recorded in place, reading its own). Nothing is sent to
 * userspace per event.
 *
 * The phase follows the container runtime: PRE until the task runs under the
 * workload's seccomp filter (`pf_slot.min_filters`), INIT from then until the
 * entrypoint's execve succeeds, WORK afterwards. A seccomp denial (SCMP_ACT_ERRNO)
 * skips the syscall but not its exit tracepoint, so denied calls are seen
 * here with their -EPERM (the sys_enter tracepoint never sees them).
 *
 * Capabilities cannot be traced on this kernel (no fentry, no BPF-LSM), so
 * the arguments that decide them are recorded instead (`ops`, deduplicated,
 * with the caller's effective capabilities and the result) for the syscalls
 * userspace lists in `opspec`, and for signals sent by kill(2) and friends
 * (signal_generate, where the target is known). The inference is done in
 * Python (secengine/profile/capabilities.py).
 *
 * Layout: profile.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "profile.h"
#include "creds.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define PF_EPERM 1
#define PF_ENOSYS 38
#define PF_EACCES 13
#define PF_TS_COMPAT 0x0002
#define PF_FMODE_READ 0x1
#define PF_FMODE_WRITE 0x2
#define PF_FMODE_PATH 0x4000
#define PF_FMODE_CREATED 0x100000
#define PF_MAY_EXEC 1
#define PF_MAY_WRITE 2
#define PF_MAY_READ 4
#define PF_NS_FLAGS 0x7E020080 /* CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME} */
#define PF_MAX_GROUPS 32
#define PF_MAX_ANCESTORS 16

#define NR_CLONE 56
#define NR_EXECVE 59
#define NR_KILL 62
#define NR_PRCTL 157
#define NR_TKILL 200
#define NR_TGKILL 234
#define NR_RT_SIGQUEUEINFO 129
#define NR_RT_TGSIGQUEUEINFO 297
#define NR_SECCOMP 317
#define NR_EXECVEAT 322
#define NR_PIDFD_SEND_SIGNAL 424
#define NR_CLONE3 435
#define NR_SETID_FIRST 105

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_config);
} pf_config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct pf_slot);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pf_task);
} tasks SEC(".maps");

/* the bitmaps, by index; set_index maps (workload, mount namespace) to an index, which a
 * task caches with its mount namespace, so a syscall costs an array access, not a hash */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PF_MAX_KEYS);
	__type(key, __u32);
	__type(value, struct pf_bits);
} sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_KEYS);
	__type(key, struct pf_key);
	__type(value, __u32);
} set_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_KEYS);
	__type(key, __u32);
	__type(value, struct pf_key);
} set_claim SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} set_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_TASKS);
	__type(key, __u32);
	__type(value, struct pf_creds);
} creds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PF_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u8);
} opspec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_OPS);
	__type(key, struct pf_op_key);
	__type(value, struct pf_op_val);
} ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} pf_stats SEC(".maps");

/* the workload a task belongs to, found by `resolve` */
struct pf_ctx {
	__u32 slot;
	__u32 phase;
	__u64 mntns;
	struct pf_task *task; /* the task's `tasks` entry */
};

static __always_inline void stat(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&pf_stats, &idx);
	if (v)
		*v += 1;
}

/* `task` is a BTF pointer (the current task, a tracepoint argument): plain loads, which
 * the verifier turns into fault-safe ones, cost less than bpf_probe_read_kernel calls. */
static __always_inline __u64 mntns_of(struct task_struct *task)
{
	return task->nsproxy->mnt_ns->ns.inum;
}

static __always_inline __u32 filters_of(struct task_struct *task)
{
	if (bpf_core_field_exists(task->seccomp.filter_count))
		return task->seccomp.filter_count.counter;
	return task->seccomp.mode == 2; /* SECCOMP_MODE_FILTER */
}

struct pf_gate pf_gate SEC(".data.pf_gate");

/* The slot recording mount namespace `mntns` in place, or PF_MAX_SLOTS. */
static __always_inline __u32 mntns_slot(__u64 mntns)
{
	__u32 n = pf_gate.n_mntns;
#pragma unroll
	for (int i = 0; i < PF_MAX_MNTNS; i++)
		if (i < n && pf_gate.mntns[i] == mntns)
			return pf_gate.mntns_slot[i];
	return PF_MAX_SLOTS;
}

static __always_inline __u64 cap_eff_of(struct task_struct *task)
{
	return cred_cap_effective(BPF_CORE_READ(task, cred));
}

/* Is `task` part of a workload being recorded? Fills `c`. */
static __always_inline int resolve(struct task_struct *task, struct pf_ctx *c)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&pf_config_map, &zero);
	if (!cfg || !cfg->active)
		return 0;
	/* most tasks have no BPF task storage at all: skip the helper call for them */
	struct pf_task *t = task->bpf_storage ? bpf_task_storage_get(&tasks, task, 0, 0) : 0;
	__u64 mntns = 0;
	if (!t) {
		if (!pf_gate.n_mntns)
			return 0;
		mntns = mntns_of(task);
		__u32 slot = mntns_slot(mntns);
		if (slot >= PF_MAX_SLOTS)
			return 0;
		t = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!t) {
			stat(PF_STAT_TASKS_FULL);
			return 0;
		}
		t->slot = slot;
		t->phase = PF_PHASE_WORK;
		t->tree = 0;
		t->has_set = 0;
	}
	__u32 slot = t->slot;
	c->slot = slot;
	c->phase = t->phase;
	struct pf_slot *sl = bpf_map_lookup_elem(&slots, &slot);
	if (!sl || !sl->active)
		return 0;
	if (!mntns)
		mntns = mntns_of(task);
	if (sl->exclude_mntns && mntns == sl->exclude_mntns)
		return 0;
	if (c->phase == PF_PHASE_INIT && sl->min_filters && filters_of(task) < sl->min_filters)
		c->phase = PF_PHASE_PRE;
	c->mntns = mntns;
	c->task = t;
	return 1;
}

/* The index of the bitmap of (slot, mntns), handed out on first use; PF_MAX_KEYS if none is
 * left. An index is owned by whoever inserts it into set_claim first (a map insert is the
 * arbiter: BPF's atomics cannot return the old value without -mcpu=v3). */
static __noinline __u32 set_index_of(__u32 slot, __u64 mntns)
{
	struct pf_key key = {.slot = slot, .mntns = mntns};
	__u32 *idx = bpf_map_lookup_elem(&set_index, &key);
	if (idx)
		return *idx;
	__u32 zero = 0;
	__u32 *count = bpf_map_lookup_elem(&set_count, &zero);
	if (!count)
		return PF_MAX_KEYS;
	for (int i = 0; i < 8; i++) {
		__u32 n = *count;
		__sync_fetch_and_add(count, 1);
		if (n >= PF_MAX_KEYS)
			return PF_MAX_KEYS;
		if (bpf_map_update_elem(&set_claim, &n, &key, BPF_NOEXIST) == 0) {
			if (bpf_map_update_elem(&set_index, &key, &n, BPF_NOEXIST) == 0)
				return n;
			idx = bpf_map_lookup_elem(&set_index, &key); /* another CPU was first */
			return idx ? *idx : PF_MAX_KEYS;
		}
	}
	return PF_MAX_KEYS;
}

static __always_inline void set_bit(struct pf_ctx *c, __u32 nr, __u32 set)
{
	struct pf_task *t = c->task;
	__u32 idx;
	if (t->set_mntns == c->mntns && t->has_set) {
		idx = t->set_idx;
	} else {
		idx = set_index_of(c->slot, c->mntns);
		if (idx >= PF_MAX_KEYS) {
			stat(PF_STAT_SETS_FULL);
			return;
		}
		t->set_idx = idx;
		t->set_mntns = c->mntns;
		t->has_set = 1;
	}
	struct pf_bits *b = bpf_map_lookup_elem(&sets, &idx);
	__u32 phase = c->phase;
	if (!b || phase >= PF_NPHASES || set >= PF_NSETS)
		return;
	__u32 word = (nr >> 6) & (PF_WORDS - 1);
	__u64 bit = 1ULL << (nr & 63);
	__u64 *w = &b->w[phase][set][word];
	if (!(*w & bit))
		__sync_fetch_and_or(w, bit);
	stat(PF_STAT_RECORDED);
}

/* ------------------------------------------------------------------ */
/* operations                                                           */
/* ------------------------------------------------------------------ */

/* Count operation `k`, done with effective capabilities `cap_eff`. */
static __always_inline void put_op_caps(struct pf_ctx *c, struct pf_op_key *k, __u64 cap_eff)
{
	k->slot = c->slot;
	k->phase = c->phase;
	k->cap_eff = cap_eff;
	struct pf_op_val *v = bpf_map_lookup_elem(&ops, k);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		return;
	}
	struct pf_op_val nv = {.count = 1, .pid = bpf_get_current_pid_tgid() >> 32};
	if (bpf_map_update_elem(&ops, k, &nv, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&ops, k);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
		else
			stat(PF_STAT_OPS_FULL);
	}
}

static __always_inline void put_op(struct pf_ctx *c, struct pf_op_key *k, struct task_struct *task)
{
	put_op_caps(c, k, cap_eff_of(task));
}

static __always_inline void read_creds(const struct cred *cr, struct pf_creds *o)
{
	o->cap_eff = cred_cap_effective(cr);
	READ_CRED_IDS(o, cr);
	o->fsuid = BPF_CORE_READ(cr, fsuid.val);
	o->fsgid = BPF_CORE_READ(cr, fsgid.val);
}

/* in_group_p: gid is the caller's fsgid or one of its supplementary groups */
static __always_inline int in_group(const struct cred *cr, __u32 gid)
{
	if (BPF_CORE_READ(cr, fsgid.val) == gid)
		return 1;
	struct group_info *gi = BPF_CORE_READ(cr, group_info);
	if (!gi)
		return 0;
	int n = BPF_CORE_READ(gi, ngroups);
	for (int i = 0; i < PF_MAX_GROUPS; i++) {
		if (i >= n)
			break;
		__u32 g = 0;
		bpf_core_read(&g, sizeof(g), &gi->gid[i]);
		if (g == gid)
			return 1;
	}
	return 0;
}

/* generic_permission's mode-bit check, without ACLs or capabilities */
static __always_inline int mode_allows(const struct cred *cr, __u32 mode, __u32 iuid, __u32 igid,
				       __u32 mask)
{
	__u32 bits;
	if (BPF_CORE_READ(cr, fsuid.val) == iuid)
		bits = (mode >> 6) & 7;
	else if (in_group(cr, igid))
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return (bits & mask) == mask;
}

static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return 0;
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	if ((unsigned long)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	return f;
}

/* open/openat/openat2/creat: record the open only if the mode bits alone would refuse it */
static __always_inline void op_open(struct pf_ctx *c, struct task_struct *task, __u32 nr, long ret)
{
	const struct cred *cr = BPF_CORE_READ(task, cred);
	struct pf_op_key k = {.op = PF_OP_OPEN, .nr = nr};
	if (ret < 0) {
		/* a root caller refused by the mode bits: the kernel's own check, seen */
		if (ret != -PF_EACCES || BPF_CORE_READ(cr, fsuid.val) != 0)
			return;
		k.err = PF_EACCES;
		put_op(c, &k, task);
		return;
	}
	/* without DAC_OVERRIDE (1) or DAC_READ_SEARCH (2), a successful open was allowed
	 * by the mode bits (or an ACL): nothing to judge */
	if (!(cap_eff_of(task) & 0x6))
		return;
	struct file *f = fd_file(task, ret);
	if (!f)
		return;
	__u32 fmode = BPF_CORE_READ(f, f_mode);
	if (fmode & PF_FMODE_PATH)
		return;
	struct inode *inode;
	__u32 mask;
	if (fmode & PF_FMODE_CREATED) {
		inode = BPF_CORE_READ(f, f_path.dentry, d_parent, d_inode);
		mask = PF_MAY_WRITE | PF_MAY_EXEC;
		k.flags = PF_OPF_DIR;
	} else {
		inode = BPF_CORE_READ(f, f_inode);
		mask = (fmode & PF_FMODE_READ ? PF_MAY_READ : 0) |
		       (fmode & PF_FMODE_WRITE ? PF_MAY_WRITE : 0);
	}
	if (!inode || !mask)
		return;
	__u32 mode = BPF_CORE_READ(inode, i_mode);
	__u32 iuid = BPF_CORE_READ(inode, i_uid.val);
	__u32 igid = BPF_CORE_READ(inode, i_gid.val);
	if (mode_allows(cr, mode, iuid, igid, mask))
		return;
	k.v[0] = mode;
	k.v[1] = iuid;
	k.v[2] = igid;
	k.v[3] = BPF_CORE_READ(cr, fsuid.val);
	k.v[4] = BPF_CORE_READ(cr, fsgid.val);
	k.v[5] = mask;
	k.v[6] = !!(fmode & PF_FMODE_CREATED);
	k.v[7] = nr;
	put_op(c, &k, task);
}

static __always_inline void op_bind(struct pf_ctx *c, struct task_struct *task, __u32 nr,
				    long ret, __u64 addr)
{
	struct {
		__u16 family;
		__u16 port;
	} sa = {};
	if (!addr || bpf_probe_read_user(&sa, sizeof(sa), (void *)addr))
		return;
	if (sa.family != 2 && sa.family != 10) /* AF_INET, AF_INET6 */
		return;
	__u32 port = bpf_ntohs(sa.port);
	int prot = BPF_CORE_READ(task, nsproxy, net_ns, ipv4.sysctl_ip_prot_sock);
	if (port == 0 || (port >= 1024 && port >= (__u32)prot))
		return;
	struct pf_op_key k = {.op = PF_OP_BIND, .nr = nr, .err = ret < 0 ? -ret : 0};
	k.v[0] = sa.family;
	k.v[1] = port;
	k.v[2] = prot;
	put_op(c, &k, task);
}

static __always_inline void op_socket(struct pf_ctx *c, struct task_struct *task, __u32 nr,
				      long ret, __u64 *a)
{
	__u32 domain = a[0], type = a[1] & 0xf, proto = a[2];
	if (domain != 17 && type != 3) /* AF_PACKET, SOCK_RAW */
		return;
	struct pf_op_key k = {.op = PF_OP_SOCKET, .nr = nr, .err = ret < 0 ? -ret : 0};
	k.v[0] = domain;
	k.v[1] = type;
	k.v[2] = proto;
	put_op(c, &k, task);
}

static __always_inline void op_chown(struct pf_ctx *c, struct task_struct *task, __u32 nr,
				     long ret, __u64 *a)
{
	/* chown(path, u, g), fchown(fd, u, g), lchown(path, u, g); fchownat(dfd, path, u, g, f) */
	__u32 u = nr == 260 ? a[2] : a[1];
	__u32 g = nr == 260 ? a[3] : a[2];
	const struct cred *cr = BPF_CORE_READ(task, cred);
	struct pf_op_key k = {.op = PF_OP_CHOWN, .nr = nr, .err = ret < 0 ? -ret : 0};
	k.v[0] = u;
	k.v[1] = g;
	k.v[2] = BPF_CORE_READ(cr, fsuid.val);
	k.v[3] = BPF_CORE_READ(cr, fsgid.val);
	k.v[4] = g == 0xffffffff ? 1 : in_group(cr, g);
	put_op(c, &k, task);
}

static __always_inline void op_setid(struct pf_ctx *c, struct task_struct *task, __u32 nr,
				     long ret, __u64 *a)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pf_creds now = {};
	read_creds(BPF_CORE_READ(task, cred), &now);
	struct pf_creds *old = bpf_map_lookup_elem(&creds, &tid);
	/* setuid 105, setreuid 113, setresuid 117, setfsuid 122 act on uids */
	int uids = nr == 105 || nr == 113 || nr == 117 || nr == 122;
	struct pf_op_key k = {.op = PF_OP_SETID, .nr = nr, .err = ret < 0 ? -ret : 0};
	k.v[0] = a[0];
	k.v[1] = a[1];
	k.v[2] = a[2];
	if (old) {
		k.flags = PF_OPF_OLD_KNOWN;
		k.v[3] = uids ? old->uid : old->gid;
		k.v[4] = uids ? old->euid : old->egid;
		k.v[5] = uids ? old->suid : old->sgid;
		k.v[6] = uids ? old->fsuid : old->fsgid;
	}
	k.v[7] = uids ? now.uid : now.gid;
	k.v[8] = uids ? now.euid : now.egid;
	k.v[9] = uids ? now.suid : now.sgid;
	/* a change away from uid 0 clears the capabilities: keep those it was checked against */
	put_op_caps(c, &k, old ? old->cap_eff : now.cap_eff);
	bpf_map_update_elem(&creds, &tid, &now, BPF_ANY);
}

static __always_inline void op_ptrace(struct pf_ctx *c, struct task_struct *task, __u32 nr,
				      long ret, __u64 *a)
{
	__u32 req = a[0];
	if (req != 16 && req != 0x4206) /* PTRACE_ATTACH, PTRACE_SEIZE: the access checks */
		return;
	struct pf_op_key k = {.op = PF_OP_PTRACE, .nr = nr, .err = ret < 0 ? -ret : 0};
	k.v[0] = req;
	k.v[1] = a[1];
	if (ret == 0) {
		/* the new tracee is at the head of current->ptraced */
		struct list_head *n = BPF_CORE_READ(task, ptraced.next);
		struct task_struct *t =
			(void *)n - bpf_core_field_offset(struct task_struct, ptrace_entry);
		const struct cred *tc = BPF_CORE_READ(t, real_cred);
		const struct cred *cc = BPF_CORE_READ(task, cred);
		__u32 cu = BPF_CORE_READ(cc, uid.val), cg = BPF_CORE_READ(cc, gid.val);
		k.v[2] = BPF_CORE_READ(t, tgid) == BPF_CORE_READ(task, tgid) ||
			 (cu == BPF_CORE_READ(tc, uid.val) && cu == BPF_CORE_READ(tc, euid.val) &&
			  cu == BPF_CORE_READ(tc, suid.val) && cg == BPF_CORE_READ(tc, gid.val) &&
			  cg == BPF_CORE_READ(tc, egid.val) && cg == BPF_CORE_READ(tc, sgid.val));
		__u32 me = BPF_CORE_READ(task, tgid);
		struct task_struct *p = t;
		for (int i = 0; i < PF_MAX_ANCESTORS; i++) {
			p = BPF_CORE_READ(p, real_parent);
			if (!p)
				break;
			__u32 ptgid = BPF_CORE_READ(p, tgid);
			if (ptgid == me) {
				k.v[3] = 1;
				break;
			}
			if (ptgid <= 1)
				break;
		}
		k.v[4] = BPF_CORE_READ(tc, uid.val);
		k.v[5] = cu;
	}
	put_op(c, &k, task);
}

static __always_inline void op_ns(struct pf_ctx *c, struct task_struct *task, __u32 nr, long ret,
				  __u64 *a)
{
	__u64 flags = 0;
	struct pf_op_key k = {.op = PF_OP_NS, .nr = nr, .err = ret < 0 ? -ret : 0};
	if (nr == NR_CLONE3) {
		if (ret == 0 || !a[0] || bpf_probe_read_user(&flags, sizeof(flags), (void *)a[0]))
			return;
	} else if (nr == NR_CLONE) {
		if (ret == 0) /* the child's return */
			return;
		flags = a[0];
	} else if (nr == 308) { /* setns(fd, nstype) */
		k.v[1] = a[1];
		flags = ~0ULL;
	} else {
		flags = a[0]; /* unshare */
	}
	if (!(flags & PF_NS_FLAGS))
		return;
	k.v[0] = nr == 308 ? a[0] : (__u32)flags;
	put_op(c, &k, task);
}

static __always_inline void op_args(struct pf_ctx *c, struct task_struct *task, __u32 nr, long ret,
				    __u64 *a)
{
	struct pf_op_key k = {.op = PF_OP_ARGS, .nr = nr, .err = ret < 0 ? -ret : 0};
#pragma unroll
	for (int i = 0; i < 6; i++)
		k.v[i] = a[i];
	put_op(c, &k, task);
}

static __always_inline int is_kill_nr(__u32 nr)
{
	return nr == NR_KILL || nr == NR_TKILL || nr == NR_TGKILL || nr == NR_RT_SIGQUEUEINFO ||
	       nr == NR_RT_TGSIGQUEUEINFO || nr == NR_PIDFD_SEND_SIGNAL;
}

static __always_inline int is_setid_nr(__u32 nr)
{
	return nr == 105 || nr == 106 || nr == 113 || nr == 114 || nr == 117 || nr == 119 ||
	       nr == 122 || nr == 123;
}

/* ------------------------------------------------------------------ */
/* programs                                                             */
/* ------------------------------------------------------------------ */

static __noinline int record_exit(struct pt_regs *regs, long ret);

SEC("tp_btf/sys_exit")
int BPF_PROG(pf_sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* a task can be recorded when it carries the recorder's task storage (followed from
	 * its start) or is in a mount namespace recorded in place: every other task of the
	 * machine returns here */
	if (!task->bpf_storage && (!pf_gate.n_mntns || mntns_slot(mntns_of(task)) >= PF_MAX_SLOTS))
		return 0;
	/* a separate function, so that its frame and registers are set up only for tasks that
	 * may be recorded */
	return record_exit(regs, ret);
}

static __noinline int record_exit(struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)regs->orig_ax;
	if (nr >= PF_MAX_SYSCALLS)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pf_ctx c = {};
	if (!resolve(task, &c))
		return 0;
	if (task->thread_info.status & PF_TS_COMPAT) {
		stat(PF_STAT_COMPAT);
		return 0;
	}
	__u64 a[6] = {regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9};
	/* the call that installs the runtime's filter was not itself filtered */
	if (c.phase == PF_PHASE_INIT && ret == 0 &&
	    (nr == NR_SECCOMP || (nr == NR_PRCTL && a[0] == 22 /* PR_SET_SECCOMP */))) {
		__u32 slot = c.slot;
		struct pf_slot *sl = bpf_map_lookup_elem(&slots, &slot);
		if (sl && filters_of(task) == sl->min_filters)
			c.phase = PF_PHASE_PRE;
	}
	__u32 set = ret >= 0 ? PF_SET_OK
		  : ret == -PF_EPERM ? PF_SET_EPERM
		  : ret == -PF_ENOSYS ? PF_SET_ENOSYS : PF_SET_OTHER;
	set_bit(&c, nr, set);

	__u8 *kind = bpf_map_lookup_elem(&opspec, &nr);
	if (kind && *kind) {
		switch (*kind) {
		case PF_OP_ARGS:
			op_args(&c, task, nr, ret, a);
			break;
		case PF_OP_BIND:
			op_bind(&c, task, nr, ret, a[1]);
			break;
		case PF_OP_SOCKET:
			op_socket(&c, task, nr, ret, a);
			break;
		case PF_OP_CHOWN:
			op_chown(&c, task, nr, ret, a);
			break;
		case PF_OP_SETID:
			op_setid(&c, task, nr, ret, a);
			break;
		case PF_OP_OPEN:
			op_open(&c, task, nr, ret);
			break;
		case PF_OP_PTRACE:
			op_ptrace(&c, task, nr, ret, a);
			break;
		case PF_OP_NS:
			op_ns(&c, task, nr, ret, a);
			break;
		case PF_OP_KILL:
			if (ret == -PF_EPERM) {
				struct pf_op_key k = {.op = PF_OP_KILL, .nr = nr, .err = PF_EPERM};
				k.v[0] = nr == NR_TGKILL || nr == NR_RT_TGSIGQUEUEINFO ? a[2] : a[1];
				k.v[1] = 1; /* the kernel refused: CAP_KILL would have been needed */
				put_op(&c, &k, task);
			}
			break;
		default:
			break;
		}
	}
	if ((nr == NR_EXECVE || nr == NR_EXECVEAT) && ret == 0) {
		/* a setuid or setgid program changed the ids */
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct pf_creds now = {};
		read_creds(BPF_CORE_READ(task, cred), &now);
		bpf_map_update_elem(&creds, &tid, &now, BPF_ANY);
		if (c.phase != PF_PHASE_WORK)
			c.task->phase = PF_PHASE_WORK; /* the entrypoint runs */
	}
	return 0;
}

/* A signal sent by kill(2) and friends: here the target is known. */
SEC("tp_btf/signal_generate")
int BPF_PROG(pf_signal, int sig, struct kernel_siginfo *info, struct task_struct *target,
	     int group, int result)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	__u32 nr = BPF_CORE_READ(regs, orig_ax);
	if (!is_kill_nr(nr) || (unsigned long)info <= 1) /* SEND_SIG_NOINFO, SEND_SIG_PRIV */
		return 0;
	struct pf_ctx c = {};
	if (!resolve(task, &c))
		return 0;
	const struct cred *cc = BPF_CORE_READ(task, cred);
	const struct cred *tc = BPF_CORE_READ(target, real_cred);
	__u32 ceuid = BPF_CORE_READ(cc, euid.val), cuid = BPF_CORE_READ(cc, uid.val);
	__u32 tuid = BPF_CORE_READ(tc, uid.val), tsuid = BPF_CORE_READ(tc, suid.val);
	int same_tg = BPF_CORE_READ(target, tgid) == BPF_CORE_READ(task, tgid);
	int by_cred = ceuid == tsuid || ceuid == tuid || cuid == tsuid || cuid == tuid;
	int same_session = BPF_CORE_READ(target, signal, pids[PIDTYPE_SID]) ==
			   BPF_CORE_READ(task, signal, pids[PIDTYPE_SID]);
	struct pf_op_key k = {.op = PF_OP_KILL, .nr = nr};
	k.v[0] = sig;
	k.v[1] = !same_tg && !by_cred && !(sig == 18 /* SIGCONT */ && same_session);
	k.v[2] = tuid;
	k.v[3] = ceuid;
	k.v[4] = same_tg;
	put_op(&c, &k, task);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(pf_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&pf_config_map, &zero);
	if (!cfg || !cfg->active)
		return 0;
	struct pf_task *pt = bpf_task_storage_get(&tasks, parent, 0, 0);
	if (pt) {
		/* every new task of a followed one is followed, threads included */
		struct pf_task *ct =
			bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!ct) {
			stat(PF_STAT_TASKS_FULL);
			return 0;
		}
		*ct = *pt;
		if (pt->tree) {
			__u32 slot = pt->slot;
			struct pf_slot *sl = bpf_map_lookup_elem(&slots, &slot);
			if (sl)
				__sync_fetch_and_add(&sl->live, 1);
		}
	} else if (!pf_gate.n_mntns || mntns_slot(mntns_of(parent)) >= PF_MAX_SLOTS) {
		return 0;
	}
	struct pf_creds now = {};
	read_creds(BPF_CORE_READ(child, cred), &now);
	__u32 ctid = BPF_CORE_READ(child, pid);
	bpf_map_update_elem(&creds, &ctid, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pf_exit, struct task_struct *task)
{
	struct pf_task *t = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!t)
		return 0;
	struct pf_ctx c = {};
	if (resolve(task, &c)) {
		/* exit and exit_group never return, so sys_exit never sees them */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		__u32 nr = regs ? BPF_CORE_READ(regs, orig_ax) : PF_MAX_SYSCALLS;
		if (nr < PF_MAX_SYSCALLS)
			set_bit(&c, nr, PF_SET_OK);
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&creds, &tid);
	if (t->tree) {
		__u32 slot = t->slot;
		struct pf_slot *sl = bpf_map_lookup_elem(&slots, &slot);
		if (sl)
			__sync_fetch_and_add(&sl->live, -1);
	}
	bpf_task_storage_delete(&tasks, task);
	return 0;
}

/* A container engine's daemon (dockerd, podman's API service) runs the runtime: the
 * container is not in the command's tree. Follow every exec of the runtime's binary
 * (its comm) from there; secengine tells the containers apart by mount namespace. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pf_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&pf_config_map, &zero);
	if (!cfg || !cfg->active || !cfg->catch_comm[0])
		return 0;
	if (task->bpf_storage && bpf_task_storage_get(&tasks, task, 0, 0))
		return 0; /* already followed (its own re-exec, or a command's descendant) */
	char comm[16];
	bpf_get_current_comm(comm, sizeof(comm));
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (comm[i] != cfg->catch_comm[i])
			return 0;
		if (!comm[i])
			break;
	}
	__u32 slot = cfg->catch_slot;
	struct pf_slot *sl = bpf_map_lookup_elem(&slots, &slot);
	if (!sl || !sl->active)
		return 0;
	struct pf_task *t = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t) {
		stat(PF_STAT_TASKS_FULL);
		return 0;
	}
	t->slot = slot;
	t->phase = PF_PHASE_INIT;
	t->tree = 1;
	t->has_set = 0;
	__sync_fetch_and_add(&sl->live, 1);
	struct pf_creds now = {};
	read_creds(BPF_CORE_READ(task, cred), &now);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&creds, &tid, &now, BPF_ANY);
	return 0;
}

/* Does nothing: the overhead benchmark's floor (a program on sys_exit). */
SEC("tp_btf/sys_exit")
int BPF_PROG(pf_noop, struct pt_regs *regs, long ret)
{
	return 0;
}
