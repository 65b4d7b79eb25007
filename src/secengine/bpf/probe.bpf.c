// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * secengine's syscall probe: a CO-RE object that loads on any kernel with BTF.
 *
 * One tp_btf program on sys_exit looks the syscall number up in the `specs`
 * map (filled from userspace with the event types the loaded rules and the
 * state tracker need) and returns at once for everything else, so an
 * untraced syscall costs what a no-op program costs. A traced syscall
 * becomes one exit record with the arguments merged in (Falco >= 0.42
 * semantics), built in a per-CPU buffer and copied into the ring buffer,
 * which wakes the reader only when it has caught up (one wake-up per batch),
 * for a priority record, or when enough data is pending. A full ring buffer
 * drops the record in the kernel and counts it (`stats`, per CPU).
 *
 * Process lifecycle comes from the scheduler tracepoints: sched_process_exec
 * (successful execve/execveat, read from the new image), sched_process_fork
 * (every new task, seen in the child) and sched_process_exit.
 *
 * The record layout is in events.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "creds.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define SE_OVERLAYFS_SUPER_MAGIC 0x794c7630
#define SE_SOCKFS_MAGIC 0x534F434B
#define SE_S_IFMT 00170000
#define SE_S_IFSOCK 0140000
#define SE_AF_UNIX 1
#define SE_AF_INET 2
#define SE_AF_INET6 10
#define SE_RB_NO_WAKEUP 1
#define SE_RB_FORCE_WAKEUP 2
#define SE_RB_AVAIL_DATA 0
#define SE_RB_RING_SIZE 1
#define SE_RB_CONS_POS 2

/* kernfs_node.parent was renamed __parent in 6.15 */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* inode timestamps before 6.6 (i_ctime) and before 6.11 (__i_ctime) */
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));
struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

/* `v & mask`, computed where the verifier sees it (the compiler may otherwise
 * drop a mask it can prove redundant, and the verifier then sees no bound). */
#define BOUND(v, mask)                 \
	({                             \
		__u32 __v = (v);       \
		barrier_var(__v);      \
		__v & (mask);          \
	})

struct se_aux {
	__u8 data[SE_DATA_SIZE];
	__u8 scratch[SE_SCRATCH_SIZE + 256];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SE_MAX_SYSCALLS); /* native numbers, then the ia32 ones */
	__type(key, __u32);
	__type(value, struct se_spec);
} specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_config);
} se_config_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SE_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_aux);
} aux_map SEC(".maps");

/* Per producer (thread group) token buckets; LRU, so a host with more live producers than
 * entries forgets the least recently active ones (they start again with a full budget). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct se_budget);
} se_budget SEC(".maps");

/* Paths the loaded rules name (exact names end with a NUL byte, prefixes do not): an open
 * of one of them is a priority record. Filled by the loader from the rules. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct se_path_key);
	__type(value, __u8);
} se_paths SEC(".maps");

/* Prefixes of paths (as passed) whose failed read-only opens a loaded rule reads
 * (SE_X_FAILED_PATHS); filled by the loader from the rules, like se_paths. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct se_path_key);
	__type(value, __u8);
} se_fail_paths SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

/* A kernel pointer as a plain number, so that global functions accept it. */
static __always_inline unsigned long scalar_ptr(const void *p)
{
	unsigned long v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &p);
	return v;
}

static __always_inline struct se_aux *get_aux(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&aux_map, &zero);
}

static __always_inline struct se_config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&se_config_map, &zero);
}

/* ------------------------------------------------------------------ */
/* sections                                                             */
/* ------------------------------------------------------------------ */

/* A blob read from user or kernel memory; returns the new offset. */
#define SE_KERNEL 0
#define SE_USER 1
#define SE_KSTR 2
#define SE_USTR 3
__noinline int put_blob(struct se_aux *aux, __u32 off, unsigned long srcp, __u32 len, int how)
{
	int user = how & SE_USER;
	int str = how & SE_KSTR;
	const void *src = (const void *)srcp;
	if (!aux)
		return off;
	if (off >= SE_OFF_LIMIT) {
		((struct se_hdr *)aux->data)->flags |= SE_F_TRUNCATED;
		return off;
	}
	__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
	long n = 0;
	if (src) {
		if (str) {
			n = user ? bpf_probe_read_user_str(&aux->data[o + 2], SE_STR_MAX, src)
				 : bpf_probe_read_kernel_str(&aux->data[o + 2], SE_STR_MAX, src);
			if (n > 0)
				n -= 1; /* drop the NUL */
			else
				n = 0;
		} else {
			if (len > SE_STR_MAX)
				len = SE_STR_MAX;
			__u32 l = BOUND(len, 4095);
			if (l > 0) {
				long err = user ? bpf_probe_read_user(&aux->data[o + 2], l, src)
						: bpf_probe_read_kernel(&aux->data[o + 2], l, src);
				n = err ? 0 : l;
			}
		}
	}
	aux->data[o] = n & 0xff;
	aux->data[o + 1] = (n >> 8) & 0xff;
	return o + 2 + (n & 8191);
}

/* A blob made of scratch[start .. start+len). */
static __always_inline __u32 put_scratch(struct se_aux *aux, __u32 off, __u32 start, __u32 len)
{
	if (off >= SE_OFF_LIMIT) {
		((struct se_hdr *)aux->data)->flags |= SE_F_TRUNCATED;
		return off;
	}
	__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
	__u32 l = BOUND(len, 4095);
	__u32 st = BOUND(start, SE_SCRATCH_SIZE - 1);
	if (l && bpf_probe_read_kernel(&aux->data[o + 2], l, &aux->scratch[st]))
		l = 0;
	aux->data[o] = l & 0xff;
	aux->data[o + 1] = (l >> 8) & 0xff;
	return o + 2 + l;
}

/* Copy a fixed struct into the record. */
static __always_inline __u32 put_struct(struct se_aux *aux, __u32 off, const void *src, __u32 size)
{
	if (off >= SE_OFF_LIMIT) {
		((struct se_hdr *)aux->data)->flags |= SE_F_TRUNCATED;
		return off;
	}
	__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
	__u32 sz = BOUND(size, 1023);
	bpf_probe_read_kernel(&aux->data[o], sz, src);
	return o + sz;
}

/* A blob of `size` bytes copied from `src` (kernel memory or this program's stack). */
static __always_inline __u32 put_bytes(struct se_aux *aux, __u32 off, const void *src, __u32 size)
{
	if (off >= SE_OFF_LIMIT) {
		((struct se_hdr *)aux->data)->flags |= SE_F_TRUNCATED;
		return off;
	}
	__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
	aux->data[o] = size & 0xff;
	aux->data[o + 1] = (size >> 8) & 0xff;
	return put_struct(aux, o + 2, src, size);
}

/* The path of `path` (dentry + mount), built backwards in the scratch buffer
 * by walking d_parent and crossing mounts (one bpf_loop step per component,
 * so the verifier checks the step once); returns the new offset. A dentry
 * outside any directory tree (memfd, pipe, anon inode) yields its own name. */
struct path_walk {
	struct se_aux *aux;
	struct dentry *dentry;
	struct mount *mnt;
	struct mount *mnt_parent;
	struct dentry *mnt_root;
	__u32 cur;
	__u32 reached_root;
	/* the task's root (fs->root) when the walk is to tell whether the path is under it */
	struct dentry *root_dentry;
	struct mount *root_mnt;
	__u32 under_root;
	__u32 attached; /* the root reached is a mount namespace's (not a detached mount's) */
	__u32 check_only; /* only whether the path is under the root: nothing copied, and the
			   * walk stops once it met the root */
};

static long path_step(__u64 index, void *ctx)
{
	struct path_walk *w = ctx;
	struct se_aux *aux = w->aux;
	if (!aux)
		return 1;
	struct dentry *dentry = w->dentry;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == w->root_dentry && w->mnt == w->root_mnt) {
		w->under_root = 1;
		if (w->check_only)
			return 1;
	}
	if (dentry == w->mnt_root || dentry == parent) {
		if (dentry != w->mnt_root)
			return 1; /* a detached tree: memfd, pipe, deleted mount */
		struct mount *mnt = w->mnt;
		struct mount *up = w->mnt_parent;
		if (mnt != up) {
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->mnt = up;
			w->mnt_parent = BPF_CORE_READ(up, mnt_parent);
			w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
			return 0;
		}
		w->reached_root = 1;
		if (w->root_dentry) {
			/* the kernel's prepend_path: a global root is a namespace's when the mount
			 * is in one (a lazily unmounted one, such as the bind mount of runc's
			 * cloned binary, has none) that is not anonymous (no proc inode) */
			struct mnt_namespace *ns = BPF_CORE_READ(mnt, mnt_ns);
			w->attached = ns && BPF_CORE_READ(ns, ns.inum) != 0;
		}
		return 1;
	}
	if (w->check_only) {
		w->dentry = parent;
		return 0;
	}
	struct qstr q = BPF_CORE_READ(dentry, d_name);
	__u32 len = q.len;
	__u32 cur = w->cur;
	if (len > 255 || len + 1 > cur)
		return 1;
	cur -= len;
	bpf_probe_read_kernel(&aux->scratch[BOUND(cur, SE_SCRATCH_SIZE - 1)], BOUND(len, 255), q.name);
	cur -= 1;
	aux->scratch[BOUND(cur, SE_SCRATCH_SIZE - 1)] = '/';
	w->cur = cur;
	w->dentry = parent;
	return 0;
}

/* put_path, and with `flag` (SE_F_*_OUTSIDE_ROOT) set in the header when the walk reached
 * its mount namespace's root without meeting the current task's root (fs->root): the path is
 * not reachable from the task's `/`, as the kernel's path_is_under() would say (a directory
 * of the host reached through a descriptor leaked into a container, or a chroot's outside).
 * A walk cut short (deeper than SE_PATH_DEPTH, longer than the scratch), or ending at a
 * detached mount's root (unmounted, or of an anonymous namespace: runc's cloned binary, an
 * open_tree() clone) rather than a mount namespace's, says nothing. */
#define SE_ROOT_CHECK_ONLY (1U << 31) /* with a flag: set it, emit nothing, return `off` */
__noinline int put_path_rooted(struct se_aux *aux, __u32 off, unsigned long pathp, __u32 flag)
{
	struct path *path = (struct path *)pathp;
	if (!aux)
		return off;
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	if (!dentry || !vfsmnt)
		return put_blob(aux, off, 0, 0, SE_KERNEL);
	struct path_walk w = {};
	w.aux = aux;
	w.dentry = dentry;
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	w.mnt = mnt;
	w.mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.cur = SE_SCRATCH_SIZE;
	w.check_only = (flag & SE_ROOT_CHECK_ONLY) != 0;
	flag &= ~SE_ROOT_CHECK_ONLY;
	if (flag) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		struct vfsmount *root_mnt = BPF_CORE_READ(fs, root.mnt);
		w.root_dentry = BPF_CORE_READ(fs, root.dentry);
		w.root_mnt = root_mnt ? container_of(root_mnt, struct mount, mnt) : 0;
	}
	bpf_loop(SE_PATH_DEPTH, path_step, &w, 0);
	if (flag && w.reached_root && w.attached && !w.under_root && w.root_dentry)
		((struct se_hdr *)aux->data)->flags |= flag;
	if (w.check_only)
		return off;
	if (w.cur >= SE_SCRATCH_SIZE) {
		if (w.reached_root) {
			aux->scratch[0] = '/';
			return put_scratch(aux, off, 0, 1);
		}
		struct dentry *last = w.dentry;
		const unsigned char *name = BPF_CORE_READ(last, d_name.name);
		return put_blob(aux, off, (unsigned long)name, 0, SE_KSTR);
	}
	return put_scratch(aux, off, w.cur, SE_SCRATCH_SIZE - w.cur);
}

__noinline int put_path(struct se_aux *aux, __u32 off, unsigned long pathp)
{
	return put_path_rooted(aux, off, pathp, 0);
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	struct kernfs_node___old *old = (void *)kn;
	return BPF_CORE_READ(old, parent);
}

/* The cgroup path of the first hierarchy in which the task is not at the root
 * (cgroup v2 first, then each v1 controller); "/" when it is at every root. */
struct cg_walk {
	struct se_aux *aux;
	struct kernfs_node *kn;
	__u32 cur;
};

static long cg_step(__u64 index, void *ctx)
{
	struct cg_walk *w = ctx;
	struct se_aux *aux = w->aux;
	if (!aux || !w->kn)
		return 1;
	struct kernfs_node *kn = w->kn;
	struct kernfs_node *parent = kn_parent(kn);
	if (!parent)
		return 1;
	const char *name = BPF_CORE_READ(kn, name);
	__u32 cur = w->cur;
	if (cur < 300)
		return 1;
	__u32 slot = BOUND(cur - 256, SE_SCRATCH_SIZE - 1);
	long n = bpf_probe_read_kernel_str(&aux->scratch[slot], 256, name);
	if (n <= 1)
		return 1;
	__u32 len = BOUND(n - 1, 255);
	__u32 dst = cur - len;
	if (dst != slot && len)
		bpf_probe_read_kernel(&aux->scratch[BOUND(dst, SE_SCRATCH_SIZE - 1)], len,
				      &aux->scratch[slot]);
	cur = dst - 1;
	aux->scratch[BOUND(cur, SE_SCRATCH_SIZE - 1)] = '/';
	w->cur = cur;
	w->kn = parent;
	return 0;
}

static long cg_pick(__u64 index, void *ctx)
{
	struct cg_walk *w = ctx;
	struct css_set *cset = (struct css_set *)w->aux; /* borrowed field, see put_cgroup */
	struct cgroup_subsys_state *css = 0;
	bpf_probe_read_kernel(&css, sizeof(css), (void *)cset +
			      bpf_core_field_offset(struct css_set, subsys) + (index & 15) * 8);
	if (!css)
		return 0;
	struct cgroup *c = BPF_CORE_READ(css, cgroup);
	struct kernfs_node *k = c ? BPF_CORE_READ(c, kn) : 0;
	if (k && kn_parent(k)) {
		w->kn = k;
		return 1;
	}
	return 0;
}

__noinline int put_cgroup(struct se_aux *aux, __u32 off, unsigned long taskp)
{
	struct task_struct *task = (struct task_struct *)taskp;
	if (!aux)
		return off;
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	struct cg_walk w = {};
	if (cset) {
		struct cgroup *cg = BPF_CORE_READ(cset, dfl_cgrp);
		struct kernfs_node *kn = cg ? BPF_CORE_READ(cg, kn) : 0;
		if (kn && !kn_parent(kn))
			kn = 0;
		w.kn = kn;
		if (!w.kn) {
			w.aux = (struct se_aux *)cset;
			bpf_loop(bpf_core_field_size(cset->subsys) / 8, cg_pick, &w, 0);
		}
	}
	w.aux = aux;
	w.cur = SE_SCRATCH_SIZE;
	bpf_loop(SE_CGROUP_DEPTH, cg_step, &w, 0);
	if (w.cur >= SE_SCRATCH_SIZE) {
		aux->scratch[0] = '/';
		return put_scratch(aux, off, 0, 1);
	}
	return put_scratch(aux, off, w.cur, SE_SCRATCH_SIZE - w.cur);
}

/* ------------------------------------------------------------------ */
/* kernel reads                                                         */
/* ------------------------------------------------------------------ */

static __always_inline void fill_creds(struct se_creds *c, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	READ_CRED_IDS(c, cred);
	c->loginuid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		c->loginuid = BPF_CORE_READ(task, loginuid.val);
	c->pad = 0;
	c->cap_inheritable = read_cap(&cred->cap_inheritable);
	c->cap_permitted = read_cap(&cred->cap_permitted);
	c->cap_effective = cred_cap_effective(cred);
}

/* pid number of `pid` in the global namespace (level 0) or its own (vnr) */
static __always_inline __u32 pid_nr(struct pid *pid, int vnr)
{
	if (!pid)
		return 0;
	__u32 level = vnr ? BPF_CORE_READ(pid, level) : 0;
	int nr = 0;
	void *numbers = (void *)pid + bpf_core_field_offset(struct pid, numbers);
	bpf_probe_read_kernel(&nr, sizeof(nr),
			      numbers + (level & 31) * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, nr));
	return nr;
}

/* the pid namespace `pid` was made in (the task's active one: task_active_pid_ns) */
static __always_inline struct pid_namespace *pid_ns(struct pid *pid)
{
	if (!pid)
		return 0;
	__u32 level = BPF_CORE_READ(pid, level);
	void *numbers = (void *)pid + bpf_core_field_offset(struct pid, numbers);
	struct pid_namespace *ns = 0;
	bpf_probe_read_kernel(&ns, sizeof(ns),
			      numbers + (level & 31) * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, ns));
	return ns;
}

static __always_inline __u64 pidns_init_start(struct pid *pid)
{
	struct pid_namespace *ns = pid_ns(pid);
	if (!ns)
		return 0;
	struct task_struct *reaper = BPF_CORE_READ(ns, child_reaper);
	return reaper ? BPF_CORE_READ(reaper, start_boottime) : 0;
}

/* The task's namespace inodes (what /proc/PID/ns/{user,mnt,net,pid} name); 0 where the task has
 * none left (an exiting task's nsproxy is gone). */
static __always_inline void fill_ns(struct se_ns *n, struct task_struct *task)
{
	n->user = BPF_CORE_READ(task, cred, user_ns, ns.inum);
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	n->mnt = nsp ? BPF_CORE_READ(nsp, mnt_ns, ns.inum) : 0;
	n->net = nsp ? BPF_CORE_READ(nsp, net_ns, ns.inum) : 0;
	struct pid_namespace *pns = pid_ns(BPF_CORE_READ(task, thread_pid));
	n->pid = pns ? BPF_CORE_READ(pns, ns.inum) : 0;
}

static __always_inline __u32 read_tty(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	struct tty_driver *driver = BPF_CORE_READ(tty, driver);
	if (!driver)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(driver, major);
	int minor = BPF_CORE_READ(driver, minor_start) + index;
	/* new_encode_dev */
	return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

static __always_inline __u64 ts_ns(__s64 sec, __u32 nsec)
{
	return (__u64)sec * 1000000000ULL + nsec;
}

static __always_inline void inode_times(struct inode *inode, __u64 *ctime, __u64 *mtime)
{
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		/* >= 6.13 keeps I_CTIME_QUERIED (bit 31) in i_ctime_nsec (multigrain timestamps):
		 * inode_get_ctime_nsec() masks it, and so must we */
		*ctime = ts_ns(BPF_CORE_READ(inode, i_ctime_sec),
			       BPF_CORE_READ(inode, i_ctime_nsec) & ~(1U << 31));
		*mtime = ts_ns(BPF_CORE_READ(inode, i_mtime_sec), BPF_CORE_READ(inode, i_mtime_nsec));
		return;
	}
	struct inode___v66 *v66 = (void *)inode;
	if (bpf_core_field_exists(v66->__i_ctime)) {
		*ctime = ts_ns(BPF_CORE_READ(v66, __i_ctime.tv_sec), BPF_CORE_READ(v66, __i_ctime.tv_nsec));
		*mtime = ts_ns(BPF_CORE_READ(v66, i_mtime.tv_sec), BPF_CORE_READ(v66, i_mtime.tv_nsec));
		return;
	}
	struct inode___old *old = (void *)inode;
	*ctime = ts_ns(BPF_CORE_READ(old, i_ctime.tv_sec), BPF_CORE_READ(old, i_ctime.tv_nsec));
	*mtime = ts_ns(BPF_CORE_READ(old, i_mtime.tv_sec), BPF_CORE_READ(old, i_mtime.tv_nsec));
}

/* 0 not overlayfs, 1 lower layer, 2 upper layer (as the driver decides it) */
static __always_inline __u16 overlay_layer(struct file *file)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	if (!dentry)
		return 0;
	unsigned long magic = BPF_CORE_READ(dentry, d_sb, s_magic);
	if (magic != SE_OVERLAYFS_SUPER_MAGIC)
		return 0;
	char *vfs_inode = (char *)BPF_CORE_READ(dentry, d_inode);
	unsigned long inode_size = bpf_core_type_size(struct inode);
	if (!vfs_inode || !inode_size)
		return 1;
	/* struct ovl_inode { ... struct inode vfs_inode; struct dentry *__upperdentry; } */
	struct dentry *upper = 0;
	bpf_probe_read_kernel(&upper, sizeof(upper), vfs_inode + inode_size);
	if (upper && BPF_CORE_READ(upper, d_inode, i_ino) != 0)
		return 2;
	return 1;
}

static __always_inline int is_memfd(struct file *file)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	if (!dentry || BPF_CORE_READ(dentry, d_parent) != dentry)
		return 0;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	char buf[7] = {};
	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) != 7)
		return 0;
	return buf[0] == 'm' && buf[1] == 'e' && buf[2] == 'm' && buf[3] == 'f' && buf[4] == 'd' &&
	       buf[5] == ':';
}

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The file open as `fd` in `task` (NULL if none), as an untrusted BTF pointer: its members
 * are plain loads the verifier makes fault-safe.
 *
 * This runs on every send the rules let the probe drop in the kernel (a TCP server's or
 * client's every request: fd_is_stream, fd_is_netlink) and on every captured fd event, so it
 * walks the fd table with plain loads, not a bpf_probe_read_kernel call per step. The last
 * step, the slot `fdt->fd[fd]`, is one too: BTF types `fdt->fd` as a pointer to pointers,
 * which the verifier will not index, and a bpf_probe_read_kernel of the slot cost ~38 ns a
 * call (bench/probe_program_cost.py: a loopback TCP send dropped as not netlink, 118 -> 79 ns
 * against the no-op program's 46). Seen as a `struct kiocb`, whose member `ki_filp` is a
 * `struct file *` (CO-RE relocates its offset, subtracted here), the slot is a member load. */
static __always_inline struct file *fd_file_btf(struct task_struct *task, long fd)
{
	if (fd < 0)
		return 0;
	struct task_struct *t = bpf_rdonly_cast(task, bpf_core_type_id_kernel(struct task_struct));
	struct fdtable *fdt = t->files->fdt;
	if (!fdt || (unsigned long)fd >= fdt->max_fds)
		return 0;
	unsigned long slot = (unsigned long)fdt->fd + fd * sizeof(struct file *) -
			     bpf_core_field_offset(struct kiocb, ki_filp);
	struct kiocb *as_kiocb = bpf_rdonly_cast((void *)slot, bpf_core_type_id_kernel(struct kiocb));
	return as_kiocb->ki_filp;
}

/* The same file as a plain number, for the global functions that take one. */
static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	return (struct file *)scalar_ptr(fd_file_btf(task, fd));
}

/* The socket behind `fd` of the current task (NULL if it is none), for plain fault-safe loads. */
static __always_inline struct socket *fd_socket(long fd)
{
	struct file *file = fd_file_btf(bpf_get_current_task_btf(), fd);
	if (!file || (file->f_inode->i_mode & SE_S_IFMT) != SE_S_IFSOCK)
		return 0;
	return bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
}

static __always_inline int fd_is_stream(long fd)
{
	struct socket *sock = fd_socket(fd);
	return sock && sock->type == 1; /* SOCK_STREAM */
}

/* True when `fd` of the current task is an AF_NETLINK socket: the rules that read sendto and
 * sendmsg only for netlink (the CVE pack's nf_tables and traffic-control rules) let every
 * other send be dropped here, so a node's DNS and syslog traffic never reaches userspace. */
static __always_inline int fd_is_netlink(long fd)
{
	struct socket *sock = fd_socket(fd);
	if (!sock)
		return 0;
	struct sock *sk = bpf_rdonly_cast(sock->sk, bpf_core_type_id_kernel(struct sock));
	return sk && sk->__sk_common.skc_family == 16; /* AF_NETLINK */
}

static __always_inline __u32 encode_dev(__u32 kdev)
{
	/* kernel dev_t is major << 20 | minor; the driver keeps that encoding */
	return kdev;
}

/* The file section of `filep` (a struct file *, 0: none). */
__noinline int put_file_ptr(struct se_aux *aux, __u32 off, unsigned long filep)
{
	if (!aux)
		return off;
	struct se_file f = {};
	struct file *file = (struct file *)filep;
	const char *unix_path = 0;
	__u32 unix_len = 0;
	if (file) {
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		f.mode = BPF_CORE_READ(inode, i_mode);
		f.dev = encode_dev(BPF_CORE_READ(inode, i_sb, s_dev));
		f.ino = BPF_CORE_READ(inode, i_ino);
		f.fmode = BPF_CORE_READ(file, f_mode);
		if ((f.mode & SE_S_IFMT) == SE_S_IFSOCK) {
			struct socket *sock = BPF_CORE_READ(file, private_data);
			struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : 0;
			if (sk) {
				f.family = BPF_CORE_READ(sk, __sk_common.skc_family);
				f.stype = BPF_CORE_READ(sk, sk_type);
				f.proto = BPF_CORE_READ(sk, sk_protocol);
				if (f.family == SE_AF_INET) {
					__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
					__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
					__builtin_memcpy(f.laddr, &l, 4);
					__builtin_memcpy(f.raddr, &r, 4);
				} else if (f.family == SE_AF_INET6) {
					BPF_CORE_READ_INTO(&f.laddr, sk, __sk_common.skc_v6_rcv_saddr);
					BPF_CORE_READ_INTO(&f.raddr, sk, __sk_common.skc_v6_daddr);
				} else if (f.family == SE_AF_UNIX) {
					struct unix_sock *us = (void *)sk;
					struct unix_address *ua = BPF_CORE_READ(us, addr);
					if (!ua) {
						/* a connected client: the peer's (server's) address */
						struct unix_sock *peer = (void *)BPF_CORE_READ(us, peer);
						ua = peer ? BPF_CORE_READ(peer, addr) : 0;
					}
					if (ua) {
						int alen = BPF_CORE_READ(ua, len);
						unix_path = (const char *)&ua->name[0] +
							    bpf_core_field_offset(struct sockaddr_un, sun_path);
						unix_len = alen > 2 ? alen - 2 : 0;
					}
				}
				if (f.family == SE_AF_INET || f.family == SE_AF_INET6) {
					f.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
					f.rport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
				}
			}
		} else {
			f.overlay = overlay_layer(file);
		}
	}
	off = put_struct(aux, off, &f, sizeof(f));
	if (unix_len > 108)
		unix_len = 108;
	return put_blob(aux, off, (unsigned long)unix_path, unix_len, SE_KERNEL);
}

/* The file section of the task's `fd`. */
__noinline int put_file(struct se_aux *aux, __u32 off, unsigned long taskp, long fd)
{
	return put_file_ptr(aux, off, (unsigned long)fd_file((struct task_struct *)taskp, fd));
}

#define SE_AF_NETLINK 16

/* The head of what a send on an AF_NETLINK socket of the current task carries (netlink message
 * headers): `buf` is the buffer (sendto) or, with SE_NL_MSG in `how`, the user msghdr whose
 * first iovec is read (sendmsg; the 32-bit layout with SE_NL_COMPAT). `how`'s low 32 bits are
 * the buffer's length. An empty blob when the fd is no netlink socket. */
#define SE_NL_MSG (1ULL << 32)
#define SE_NL_COMPAT (1ULL << 33)
__noinline int put_nl_head(struct se_aux *aux, __u32 off, long fd, unsigned long buf, __u64 how)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long len = (__u32)how;
	if (!aux)
		return off;
	struct file *file = fd_file(task, fd);
	int netlink = 0;
	if (file && (BPF_CORE_READ(file, f_inode, i_mode) & SE_S_IFMT) == SE_S_IFSOCK) {
		struct socket *sock = BPF_CORE_READ(file, private_data);
		struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : 0;
		netlink = sk && BPF_CORE_READ(sk, __sk_common.skc_family) == SE_AF_NETLINK;
	}
	if (!netlink)
		return put_blob(aux, off, 0, 0, SE_USER);
	if (how & SE_NL_MSG) {
		unsigned long iov = 0;
		if (how & SE_NL_COMPAT) {
			__u32 iov32 = 0;
			__u32 base32[2] = {};
			bpf_probe_read_user(&iov32, sizeof(iov32), (void *)buf + 8);
			bpf_probe_read_user(base32, sizeof(base32), (void *)(unsigned long)iov32);
			buf = base32[0];
			len = base32[1];
		} else {
			unsigned long base[2] = {};
			bpf_probe_read_user(&iov, sizeof(iov), (void *)buf + 16);
			bpf_probe_read_user(base, sizeof(base), (void *)iov);
			buf = base[0];
			len = base[1];
		}
	}
	if (len > SE_NL_HEAD)
		len = SE_NL_HEAD;
	return put_blob(aux, off, buf, len, SE_USER);
}

/* ------------------------------------------------------------------ */
/* emitting                                                             */
/* ------------------------------------------------------------------ */

/* Copy the record into the ring. A bulk record (`prio` 0) is refused, and counted, when it
 * would leave less than the priority headroom free: what rules most need (exec, credential
 * and namespace changes, connects, opens of files rules name, flood records) still finds
 * room while bulk producers fill the ring.
 *
 * Wake-ups (docs/syscall-source.md, "Wake-ups"): flags 0 lets the kernel wake the reader only
 * when this record is the first it has not read (it had caught up and sleeps in epoll): one
 * wake-up per batch, none while it is behind, none per record (while the reader lets a batch
 * gather, the position it publishes holds back its last record, so no record is the first
 * not read). Forced ones end such a window early: when pending data crosses the threshold,
 * and for a priority record, unless one was forced since the reader last published its
 * position (a stream of them costs one wake-up per batch the reader reads, not one each). */
static __always_inline void emit(struct se_aux *aux, __u32 len, int prio)
{
	struct se_config *cfg = get_config();
	__u64 flags = 0;
	if (len > SE_DATA_SIZE)
		len = SE_DATA_SIZE;
	if (len < sizeof(struct se_hdr))
		return;
	((struct se_hdr *)aux->data)->len = len;
	__u64 pending = bpf_ringbuf_query(&events, SE_RB_AVAIL_DATA);
	if (!prio && cfg && cfg->bulk_limit && pending + len + 8 > cfg->bulk_limit) {
		count(SE_STAT_HEADROOM);
		return;
	}
	if (cfg && cfg->wakeup_bytes && pending < cfg->wakeup_bytes &&
	    pending + len >= cfg->wakeup_bytes) {
		/* once, on crossing: above it the reader is awake or about to be */
		flags = SE_RB_FORCE_WAKEUP;
		count(SE_STAT_WAKEUPS);
	} else if (prio && cfg && cfg->urgent) {
		__u64 cons = bpf_ringbuf_query(&events, SE_RB_CONS_POS);
		if (cons != cfg->urgent_cons) {
			cfg->urgent_cons = cons; /* a race between CPUs costs one extra wake-up */
			flags = SE_RB_FORCE_WAKEUP;
			count(SE_STAT_WAKEUPS);
		}
	}
	barrier_var(len);
	if (len > SE_DATA_SIZE)
		return;
	if (bpf_ringbuf_output(&events, aux->data, len, flags)) {
		/* full, or (kernels >= 6.15) the ring's lock gave up under contention */
		pending = bpf_ringbuf_query(&events, SE_RB_AVAIL_DATA);
		__u64 size = bpf_ringbuf_query(&events, SE_RB_RING_SIZE);
		count(pending + len + 8 > size ? SE_STAT_DROPPED : SE_STAT_BUSY);
	} else {
		count(SE_STAT_EMITTED);
	}
	if (((struct se_hdr *)aux->data)->flags & SE_F_TRUNCATED)
		count(SE_STAT_TRUNCATED);
}

static __always_inline int is_self(void)
{
	struct se_config *cfg = get_config();
	return cfg && cfg->self_tgid && (bpf_get_current_pid_tgid() >> 32) == cfg->self_tgid;
}

/* Start a record; `ts` 0: now (boot-time clock). */
static __always_inline struct se_hdr *start(struct se_aux *aux, __u64 ts, __u32 tid, __u32 pid,
					    __u16 nr, __u16 evt, __s64 res)
{
	struct se_hdr *h = (struct se_hdr *)aux->data;
	h->ts = ts ? ts : bpf_ktime_get_boot_ns();
	h->tid = tid;
	h->pid = pid;
	h->nr = nr;
	h->evt = evt;
	h->len = 0;
	h->flags = 0;
	h->res = res;
	return h;
}

__noinline int fill_proc(struct se_proc *p, unsigned long taskp)
{
	struct task_struct *task = (struct task_struct *)taskp;
	if (!p)
		return 0;
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	p->ptid = parent ? BPF_CORE_READ(parent, tgid) : 0;
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
	struct pid *sid = BPF_CORE_READ(sig, pids[PIDTYPE_SID]);
	struct pid *pgid = BPF_CORE_READ(sig, pids[PIDTYPE_PGID]);
	struct pid *tgidp = BPF_CORE_READ(sig, pids[PIDTYPE_TGID]);
	struct pid *tidp = BPF_CORE_READ(task, thread_pid);
	p->sid = pid_nr(sid, 0);
	p->pgid = pid_nr(pgid, 0);
	p->vpgid = pid_nr(pgid, 1);
	p->vpid = pid_nr(tgidp, 1);
	p->vtid = pid_nr(tidp, 1);
	p->tty = read_tty(task);
	p->flags = 0;
	p->exe_ino = 0;
	p->exe_ctime = 0;
	p->exe_mtime = 0;
	p->start_time = BPF_CORE_READ(task, start_boottime);
	p->pidns_init_start = pidns_init_start(tidp);
	p->fdlimit = BPF_CORE_READ(sig, rlim[7].rlim_cur); /* RLIMIT_NOFILE */
	fill_creds(&p->creds, task);
	p->exe_mode = 0;
	p->exe_uid = 0;
	p->exe_gid = 0;
	p->pad = 0;
	fill_ns(&p->ns, task);
	return 0;
}

/* ------------------------------------------------------------------ */
/* producer budgets and flood records                                   */
/* ------------------------------------------------------------------ */

/* The flood record of the current producer: who it is (ids, comm, cgroup) and what its budget
 * suppressed. Built in the per-CPU buffer, which holds no record yet at this point. */
static __noinline int emit_flood(__u32 nr, __u32 cls, __u64 since, __u64 total, __u64 admitted)
{
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct se_hdr *h = start(aux, 0, (__u32)pid_tgid, pid_tgid >> 32, nr, SE_EVT_FLOOD, 0);
	h->args[0] = since;
	h->args[1] = total;
	h->args[2] = admitted;
	h->args[3] = cls;
	h->args[4] = 0;
	h->args[5] = 0;
	unsigned long task_s = bpf_get_current_task();
	__u32 off = put_blob(aux, sizeof(struct se_hdr),
			     task_s + bpf_core_field_offset(struct task_struct, comm), 0, SE_KSTR);
	off = put_cgroup(aux, off, task_s);
	emit(aux, off, 1);
	count(SE_STAT_FLOODS);
	return 0;
}

/* True when the current producer is over its budget for `cls`: the event is then counted
 * (per CPU and in the producer's entry) instead of sent, and a flood record goes out at most
 * once per flood interval. `now` is the record's boot-time timestamp (one clock read serves
 * both). The budget is GCRA, a token bucket kept as one timestamp: each
 * event moves the producer's theoretical arrival time `budget_ns` ahead; an event that would
 * put it more than `budget_tau` ahead of now is over budget. Threads of one producer on
 * several CPUs may race on the timestamp and admit a few extra events; the counts stay exact
 * (atomic adds). */
static __noinline int over_budget(struct se_config *cfg, __u32 nr, __u32 cls, __u32 tgid,
				  __u64 now)
{
	if (!cfg)
		return 0;
	__u64 budget_ns = cfg->budget_ns;
	__u64 tau = cfg->budget_tau;
	__u64 interval = cfg->flood_interval_ns;
	struct se_budget *b = bpf_map_lookup_elem(&se_budget, &tgid);
	if (!b) {
		struct se_budget fresh = {};
		bpf_map_update_elem(&se_budget, &tgid, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&se_budget, &tgid);
		if (!b)
			return 0; /* no entry to charge: send the event */
	}
	cls &= SE_CLASSES - 1;
	__u64 tat = b->tat[cls];
	if (tat < now)
		tat = now;
	if (tat - now <= tau) {
		b->tat[cls] = tat + budget_ns;
		__sync_fetch_and_add(&b->admitted, 1);
		return 0;
	}
	__u64 suppressed = __sync_fetch_and_add(&b->suppressed, 1) + 1;
	b->last_nr = nr;
	b->last_class = cls;
	count(SE_STAT_BUDGET);
	__u64 last = b->last_report;
	if (now - last >= interval &&
	    __sync_val_compare_and_swap(&b->last_report, last, now) == last) {
		__u64 reported = b->reported;
		b->reported = suppressed;
		emit_flood(nr, cls, suppressed - reported, suppressed, b->admitted);
	}
	return 1;
}

/* True when the record's first string (an open's path) is a file the loaded rules name: the
 * se_paths trie holds exact names (with their NUL) and prefixes (directories). */
static __always_inline int path_is_priority(struct se_aux *aux)
{
	struct se_path_key *key = (struct se_path_key *)aux->scratch;
	__u32 o = sizeof(struct se_hdr);
	__u32 n = aux->data[o] | ((__u32)aux->data[o + 1] << 8);
	bpf_probe_read_kernel(key->path, SE_PATH_KEY, &aux->data[o + 2]);
	if (n < SE_PATH_KEY) {
		key->path[BOUND(n, SE_PATH_KEY - 1)] = 0;
		key->prefixlen = (n + 1) * 8;
	} else {
		key->prefixlen = SE_PATH_KEY * 8;
	}
	return bpf_map_lookup_elem(&se_paths, key) != 0;
}

/* True when the user path at `path` starts with a prefix in se_fail_paths; unreadable: true
 * (when unsure, the event is sent). A relative path given with a directory fd
 * (`dirfd_relative`: openat with a dirfd >= 0) is looked up as the one byte 0x01, which no
 * path starts with: stored when a rule reads whether that directory is outside the root
 * (FAIL_PATH_DIRFD_RELATIVE in layout.py). */
static __always_inline int failed_path_kept(unsigned long path, int dirfd_relative)
{
	struct se_aux *aux = get_aux();
	if (!aux)
		return 1;
	struct se_path_key *key = (struct se_path_key *)aux->scratch;
	key->prefixlen = SE_PATH_KEY * 8;
	if (bpf_probe_read_user_str(key->path, SE_PATH_KEY, (const void *)path) < 0)
		return 1;
	if (dirfd_relative && key->path[0] != '/') {
		key->path[0] = 1;
		key->path[1] = 0;
	}
	return bpf_map_lookup_elem(&se_fail_paths, key) != 0;
}

/* ------------------------------------------------------------------ */
/* programs                                                             */
/* ------------------------------------------------------------------ */

/* One byte per syscall number: SE_WANT_NATIVE if the x86_64 syscall of that number is captured,
 * SE_WANT_COMPAT if the ia32 one is. The same as `specs[...].enabled`, in a global (one byte load
 * from a fixed address, no map lookup) so that the program every syscall of the machine runs
 * tests it and returns in a handful of instructions. Bytes rather than bits: the index is the
 * syscall number itself, with no shift and mask (a packed 64-byte bitmap cost about 1 ns more per
 * untraced syscall). */
__u8 se_interest[SE_MAX_SYSCALLS] SEC(".data.interest");

/* x86 thread_info.status: the task is in a 32-bit syscall (int $0x80, sysenter from a 32-bit
 * process); its orig_ax is then an ia32 number (arch/x86/include/asm/thread_info.h). */
#define SE_TS_COMPAT 0x0002

static __always_inline int task_in_compat_syscall(struct task_struct *task)
{
	return (BPF_CORE_READ(task, thread_info.status) & SE_TS_COMPAT) != 0;
}

static __noinline int capture(struct pt_regs *regs, long ret, __u32 nr, __u32 want);

/* ia32 socketcall (102), the multiplexer 32-bit C libraries (Debian's i386 glibc among them)
 * send every socket call through: `call` in ebx, its arguments in a user array of 32-bit words
 * in ecx (net/socket.c, SYSCALL_DEFINE2(socketcall)). Rewrites `a` into the arguments of the
 * direct ia32 syscall the call is (syscall_32.tbl 359-373, recvmmsg, sendmmsg) and returns that
 * number, so the rest of the probe and userspace see the direct call and a rule on setsockopt
 * or sendmsg cannot be dodged by linking an old libc. As the kernel runs them, SYS_SEND and
 * SYS_RECV are sendto and recvfrom with no address, SYS_ACCEPT is accept4 with flags 0 (the
 * ia32 table has no accept). 0: a call socketcall refuses (EINVAL) or an unreadable array
 * (EFAULT), so nothing to report. */
#define SE_IA32_SOCKETCALL 102
#define SE_IA32_OPENAT 295
#define SE_X64_OPENAT 257
#define SE_OPENAT2 437 /* the same number in both tables */
static __always_inline __u32 socketcall_decode(__u64 *a)
{
	/* SYS_SOCKET (1) .. SYS_SENDMMSG (20): the direct ia32 number and the argument count */
	static const __u16 target[21] = {0,   359, 361, 362, 363, 364, 367, 368, 360, 369, 371,
					  369, 371, 373, 366, 365, 370, 372, 364, 337, 345};
	static const __u8 nargs[21] = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4,
				       6, 6, 2, 5, 5, 3, 3, 4, 5, 4};
	__u32 call = (__u32)a[0];
	if (call < 1 || call > 20)
		return 0;
	__u32 w[SE_NARGS] = {};
	__u32 n = BOUND(nargs[call], 7);
	if (n > SE_NARGS || bpf_probe_read_user(w, n * sizeof(__u32), (void *)a[1]))
		return 0;
#pragma unroll
	for (int i = 0; i < SE_NARGS; i++)
		a[i] = w[i];
	return target[call];
}

/* ------------------------------------------------------------------ */
/* in-kernel kill (docs/response.md, "In the kernel")                   */
/* ------------------------------------------------------------------ */

/* Rules with a kill response whose condition the probe can decide from the event alone are
 * compiled by user space (secengine.sources.syscall_kill) into these maps. At sys_exit of a
 * syscall a kill rule looks at (SE_WANT_KILL in se_interest), before any capture filter or
 * budget, the probe checks them: the cheap facts first (syscall, container or host, result,
 * comm), then the paths (the opened file's, the executable's) only for rules still in the
 * running. On a match it sends SIGKILL to the thread group with bpf_send_signal: the signal is
 * pending when the syscall returns, so the task dies on its way back to user space and runs
 * no further instruction of its own. A kill record (SE_EVT_KILL) says what was done. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_kill_config);
} se_kill_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SE_KILL_RULES);
	__type(key, __u32);
	__type(value, struct se_kill_rule);
} se_kill_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct se_kill_comm_key);
	__type(value, __u8);
} se_kill_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct se_kill_path_key);
	__type(value, __u8);
} se_kill_paths SEC(".maps");

/* the allow-list: never killed in the kernel. Process names (comm) exactly (the entry keeps
 * its NUL) or by prefix (``containerd-shim*``: no NUL), and executables by inode */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct se_kill_comm_prefix);
	__type(value, __u8);
} se_kill_allow_comm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct se_kill_exe_key);
	__type(value, __u8);
} se_kill_allow_exe SEC(".maps");

/* the kill rate's GCRA state: the theoretical arrival time of the next kill (ktime ns) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} se_kill_tat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SE_KILL_OUTCOMES);
	__type(key, __u32);
	__type(value, __u64);
} se_kill_stats SEC(".maps");

#define SE_PF_KTHREAD 0x00200000
#define SE_FMODE_READ 0x1
#define SE_FMODE_WRITE 0x2
#define SE_S_IFREG 0100000
#define SE_SIGKILL 9
/* facts of the event a rule's flags can require (the same bits as SE_KR_*) */
/* facts known before the opened file is looked at (the first pass), and after */
#define SE_KR_FACTS (SE_KR_CONTAINER | SE_KR_HOST | SE_KR_SUCCESS)
#define SE_KR_FILE_FACTS (SE_KR_READ | SE_KR_WRITE | SE_KR_REG)
#define SE_KR_PATHS (SE_KR_FILE | SE_KR_NOT_FILE | SE_KR_EXE | SE_KR_NOT_EXE)
#define SE_KR_NEEDS_FILE (SE_KR_FILE | SE_KR_NOT_FILE | SE_KR_FILE_FACTS)
/* where the path keys are built: past every section a kill record can have */
#define SE_KEY_FILE SE_OFF_LIMIT
#define SE_KEY_EXE (SE_OFF_LIMIT + 256)

static __always_inline void kill_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&se_kill_stats, &idx);
	if (v)
		*v += 1;
}

struct kill_eval {
	__u32 key;     /* entry key: nr, or SE_MAX_SYSCALLS + the ia32 nr */
	__u32 facts;   /* SE_KR_FACTS (then SE_KR_FILE_FACTS) bits true of this event */
	__u32 cheap;   /* slots whose cheap checks passed */
	__u32 need;    /* SE_KR_PATHS and SE_KR_FILE_FACTS those slots still need */
	__u32 has_file;
	__u32 has_exe;
	__u32 matched; /* slot + 1 of the first rule that matched; 0: none */
	__u32 id;
	__u32 flags;
	__u32 pad;
	struct se_kill_comm_key ck;
};

static long kill_cheap(__u64 index, void *ctx)
{
	struct kill_eval *e = ctx;
	__u32 slot = index;
	struct se_kill_rule *r = bpf_map_lookup_elem(&se_kill_rules, &slot);
	if (!r)
		return 1;
	__u32 k = e->key;
	if (!(r->sys[BOUND(k >> 3, SE_KILL_SYS_BYTES - 1)] & (1 << (k & 7))))
		return 0;
	__u32 f = r->flags;
	if ((e->facts & (f & SE_KR_FACTS)) != (f & SE_KR_FACTS))
		return 0;
	if (f & (SE_KR_COMM | SE_KR_NOT_COMM)) {
		e->ck.slot = slot;
		if (f & SE_KR_COMM) {
			e->ck.kind = SE_KK_IN;
			if (!bpf_map_lookup_elem(&se_kill_comms, &e->ck))
				return 0;
		}
		if (f & SE_KR_NOT_COMM) {
			e->ck.kind = SE_KK_NOT;
			if (bpf_map_lookup_elem(&se_kill_comms, &e->ck))
				return 0;
		}
	}
	e->cheap |= 1U << (slot & 31);
	e->need |= f & (SE_KR_PATHS | SE_KR_FILE_FACTS);
	return 0;
}

/* whether the path key at `at` of the per-CPU buffer is in se_kill_paths under (slot, kind) */
static __always_inline int kill_path_in(struct se_aux *aux, __u32 at, __u32 slot, __u32 kind)
{
	struct se_kill_path_key *key = (struct se_kill_path_key *)&aux->data[at];
	key->slot = slot;
	key->kind = kind;
	return bpf_map_lookup_elem(&se_kill_paths, key) != 0;
}

static long kill_paths(__u64 index, void *ctx)
{
	struct kill_eval *e = ctx;
	__u32 slot = index;
	if (!(e->cheap & (1U << (slot & 31))))
		return 0;
	struct se_kill_rule *r = bpf_map_lookup_elem(&se_kill_rules, &slot);
	struct se_aux *aux = get_aux();
	if (!r || !aux)
		return 1;
	__u32 f = r->flags;
	if ((f & SE_KR_NEEDS_FILE) && !e->has_file)
		return 0;
	if ((e->facts & (f & SE_KR_FILE_FACTS)) != (f & SE_KR_FILE_FACTS))
		return 0;
	if ((f & (SE_KR_EXE | SE_KR_NOT_EXE)) && !e->has_exe)
		return 0;
	if ((f & SE_KR_FILE) && !kill_path_in(aux, SE_KEY_FILE, slot, SE_KK_FILE))
		return 0;
	if ((f & SE_KR_NOT_FILE) && kill_path_in(aux, SE_KEY_FILE, slot, SE_KK_NOT_FILE))
		return 0;
	if ((f & SE_KR_EXE) && !kill_path_in(aux, SE_KEY_EXE, slot, SE_KK_EXE))
		return 0;
	if ((f & SE_KR_NOT_EXE) && kill_path_in(aux, SE_KEY_EXE, slot, SE_KK_NOT_EXE))
		return 0;
	e->matched = slot + 1;
	e->id = r->id;
	e->flags = f;
	return 1;
}

/* Build the trie key of the blob at `off` (a path) at `at`; as path_is_priority does. */
static __always_inline void kill_key(struct se_aux *aux, __u32 off, __u32 at)
{
	struct se_kill_path_key *key = (struct se_kill_path_key *)&aux->data[at];
	__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
	__u32 n = aux->data[o] | ((__u32)aux->data[o + 1] << 8);
	bpf_probe_read_kernel(key->path, SE_KILL_PATH, &aux->data[o + 2]);
	if (n < SE_KILL_PATH) {
		key->path[BOUND(n, 127)] = 0; /* n < SE_KILL_PATH: inside the key */
		key->prefixlen = 16 + (n + 1) * 8;
	} else {
		key->prefixlen = 16 + SE_KILL_PATH * 8;
	}
}

/* Whether the current task is one the kernel must never kill: the host's pid 1, a kernel
 * thread, a child of secengine, or on the allow-list (comm, or the executable's inode).
 * secengine itself never gets here (kill_check returns first). */
static __always_inline int kill_protected(struct task_struct *task, __u32 tgid, __u8 *comm,
					  struct file *exe, __u32 self_tgid, __u32 protect_tgid)
{
	if (tgid == 1 || (BPF_CORE_READ(task, flags) & SE_PF_KTHREAD))
		return 1;
	/* secengine's children (a response's program, a runtime client it started), and the
	 * process user space names (the agent, when it is not the probe's owner) */
	__u32 parent = BPF_CORE_READ(task, real_parent, tgid);
	if (self_tgid && parent == self_tgid)
		return 1;
	if (protect_tgid && (tgid == protect_tgid || parent == protect_tgid))
		return 1;
	struct se_kill_comm_prefix key = {};
	key.prefixlen = 16 * 8;
	__builtin_memcpy(key.comm, comm, 16);
	if (bpf_map_lookup_elem(&se_kill_allow_comm, &key))
		return 1;
	if (exe) {
		struct inode *inode = BPF_CORE_READ(exe, f_inode);
		struct se_kill_exe_key k = {};
		k.ino = BPF_CORE_READ(inode, i_ino);
		k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		if (bpf_map_lookup_elem(&se_kill_allow_exe, &k))
			return 1;
	}
	return 0;
}

/* True when a kill now would exceed the kill rate (a GCRA token bucket, as over_budget). */
static __always_inline int kill_over_rate(struct se_kill_config *kc)
{
	__u64 rate = kc->rate_ns;
	if (!rate)
		return 0;
	__u32 zero = 0;
	__u64 *tat = bpf_map_lookup_elem(&se_kill_tat, &zero);
	if (!tat)
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 t = *tat < now ? now : *tat;
	if (t - now > kc->burst_ns)
		return 1;
	*tat = t + rate;
	return 0;
}

static __noinline int kill_run(struct se_kill_config *kc, long ret, __u32 nr, __u32 want)
{
	if (!kc || nr >= SE_MAX_SYSCALLS)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int compat = task_in_compat_syscall(task);
	if (!(want & (compat ? SE_WANT_KILL_COMPAT : SE_WANT_KILL)))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct se_config *cfg = get_config();
	if (cfg && cfg->self_tgid && tgid == cfg->self_tgid)
		return 0; /* secengine itself */
	kill_count(SE_KILL_CHECKED);
	struct kill_eval e = {};
	e.key = compat ? nr + SE_MAX_SYSCALLS : nr;
	/* first pass: what is known without reading a file or a path */
	e.facts = ret >= 0 ? SE_KR_SUCCESS : 0;
	/* In a container: neither the host's pid namespace nor its mount namespace; on the host:
	 * both. A task with one but not the other (a systemd service with a private /tmp, a
	 * container sharing the host's pids) is neither, so no container or host rule kills it
	 * in the kernel: user space decides (from the cgroup, as container.id does). Plain loads
	 * through BTF pointers (fault-safe), not a probe read per step. */
	struct task_struct *bt = bpf_get_current_task_btf();
	struct nsproxy *nsp = bt->nsproxy;
	__u32 mnt_ns = nsp ? nsp->mnt_ns->ns.inum : 0;
	__u32 pid_level = bt->thread_pid ? bt->thread_pid->level : 0;
	if (mnt_ns && mnt_ns != kc->host_mnt_ns && pid_level > 0)
		e.facts |= SE_KR_CONTAINER;
	else if (mnt_ns == kc->host_mnt_ns && pid_level == 0)
		e.facts |= SE_KR_HOST;
	bpf_get_current_comm((char *)e.ck.comm, sizeof(e.ck.comm));
	__u32 nrules = kc->nrules;
	if (nrules > SE_KILL_RULES)
		nrules = SE_KILL_RULES;
	bpf_loop(nrules, kill_cheap, &e, 0);
	if (!e.cheap)
		return 0;
	/* the opened file, for the rules still in the running that look at it: the fd a
	 * syscall returning one (an open) returned */
	struct file *file = 0;
	if (ret >= 0 && (e.need & SE_KR_NEEDS_FILE)) {
		struct se_spec *spec = bpf_map_lookup_elem(&specs, &e.key);
		if (spec && (spec->extras & SE_X_FILE_RES))
			file = fd_file(task, ret);
	}
	if (file) {
		__u32 fmode = BPF_CORE_READ(file, f_mode);
		if (fmode & SE_FMODE_READ)
			e.facts |= SE_KR_READ;
		if (fmode & SE_FMODE_WRITE)
			e.facts |= SE_KR_WRITE;
		if ((BPF_CORE_READ(file, f_inode, i_mode) & SE_S_IFMT) == SE_S_IFREG)
			e.facts |= SE_KR_REG;
	}
	/* the record: header, comm, then the paths the remaining rules need (the trie keys are
	 * built from them) */
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct se_hdr *h = start(aux, 0, (__u32)pid_tgid, tgid, nr, SE_EVT_KILL, ret);
	if (compat)
		h->flags |= SE_F_COMPAT;
	unsigned long task_s = scalar_ptr(task);
	__u32 off = put_blob(aux, sizeof(struct se_hdr),
			     task_s + bpf_core_field_offset(struct task_struct, comm), 0, SE_KSTR);
	e.has_file = file != 0;
	if (file && (e.need & (SE_KR_FILE | SE_KR_NOT_FILE))) {
		__u32 at = off;
		off = put_path(aux, off, (unsigned long)&file->f_path);
		kill_key(aux, at, SE_KEY_FILE);
	} else {
		off = put_blob(aux, off, 0, 0, SE_KERNEL);
	}
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : 0;
	if (exe && (e.need & (SE_KR_EXE | SE_KR_NOT_EXE))) {
		__u32 at = off;
		off = put_path(aux, off, (unsigned long)&exe->f_path);
		kill_key(aux, at, SE_KEY_EXE);
		e.has_exe = 1;
	} else {
		off = put_blob(aux, off, 0, 0, SE_KERNEL);
	}
	bpf_loop(nrules, kill_paths, &e, 0);
	if (!e.matched)
		return 0;
	__u32 outcome;
	long err = 0;
	__u64 before = 0;
	if (kill_protected(task, tgid, e.ck.comm, exe, cfg ? cfg->self_tgid : 0, kc->protect_tgid))
		outcome = SE_KILL_PROTECTED;
	else if (kc->dry_run || (e.flags & SE_KR_DRY_RUN))
		outcome = SE_KILL_DRY_RUN;
	else if (kill_over_rate(kc))
		outcome = SE_KILL_RATE_LIMITED;
	else {
		before = bpf_ktime_get_boot_ns();
		err = bpf_send_signal(SE_SIGKILL);
		outcome = err ? SE_KILL_FAILED : SE_KILL_KILLED;
	}
	h->args[0] = e.matched - 1;
	h->args[1] = outcome;
	h->args[2] = e.id;
	h->args[3] = bpf_ktime_get_boot_ns();
	h->args[4] = (__u64)err;
	h->args[5] = before;
	kill_count(outcome);
	emit(aux, off, 1);
	return 0;
}

/* The kill rules' check of one syscall exit; timed when the benchmark asks. */
static __noinline int kill_check(long ret, __u32 nr, __u32 want)
{
	__u32 zero = 0;
	struct se_kill_config *kc = bpf_map_lookup_elem(&se_kill_conf, &zero);
	if (!kc || !kc->enabled)
		return 0;
	if (!kc->timing)
		return kill_run(kc, ret, nr, want);
	__u64 t0 = bpf_ktime_get_ns();
	kill_run(kc, ret, nr, want);
	__u32 idx = SE_KILL_NS;
	__u64 *v = bpf_map_lookup_elem(&se_kill_stats, &idx);
	if (v)
		*v += bpf_ktime_get_ns() - t0;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(se_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)regs->orig_ax;
	barrier_var(nr); /* bound the index the load uses, not a copy the verifier loses */
	if (nr >= SE_MAX_SYSCALLS)
		return 0;
	__u32 want = se_interest[nr];
	if (!want)
		return 0;
	if (want & (SE_WANT_KILL | SE_WANT_KILL_COMPAT))
		kill_check(ret, nr, want);
	/* A send the rules read only on a netlink socket: every other one (each request of a
	 * TCP server or client) is dropped here, before capture() sets anything up (125 ns a
	 * send otherwise: bench/probe_program_cost.py). Not when the ia32 call of this number is
	 * wanted too (capture() tells the two apart), nor for this process's own sends or an ia32
	 * call, which capture() would ignore without counting them as filtered. */
	if ((want & (SE_WANT_NETLINK_ONLY | SE_WANT_COMPAT)) == SE_WANT_NETLINK_ONLY) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct se_config *cfg = get_config();
		if (!(task->thread_info.status & SE_TS_COMPAT) &&
		    !(cfg && cfg->self_tgid && task->tgid == cfg->self_tgid) &&
		    !fd_is_netlink((long)(int)regs->di)) {
			count(SE_STAT_FILTERED);
			return 0;
		}
	}
	/* a separate function, so that the frame and registers it needs are set up only for
	 * the syscalls that are captured */
	return capture(regs, ret, nr, want);
}

static __noinline int capture(struct pt_regs *regs, long ret, __u32 nr, __u32 want)
{
	if (nr >= SE_MAX_SYSCALLS)
		return 0;
	/* Which table `nr` is from: the 32-bit numbers differ (5 is open there, fstat here), so
	 * reading one as the other would both miss the call and corrupt the fd table. */
	int compat = task_in_compat_syscall((struct task_struct *)bpf_get_current_task());
	if (!(want & (compat ? SE_WANT_COMPAT : SE_WANT_NATIVE)))
		return 0;
	__u64 a[SE_NARGS];
	if (compat) {
		a[0] = (__u32)regs->bx;
		a[1] = (__u32)regs->cx;
		a[2] = (__u32)regs->dx;
		a[3] = (__u32)regs->si;
		a[4] = (__u32)regs->di;
		a[5] = (__u32)regs->bp;
		if (nr == SE_IA32_SOCKETCALL) {
			nr = socketcall_decode(a);
			if (!nr || nr >= SE_MAX_SYSCALLS)
				return 0;
		}
	} else {
		a[0] = regs->di;
		a[1] = regs->si;
		a[2] = regs->dx;
		a[3] = regs->r10;
		a[4] = regs->r8;
		a[5] = regs->r9;
	}
	__u32 key = compat ? nr + SE_MAX_SYSCALLS : nr;
	struct se_spec *spec = bpf_map_lookup_elem(&specs, &key);
	if (!spec || !spec->enabled)
		return 0;
	struct se_config *cfg = get_config();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (cfg && cfg->self_tgid && (pid_tgid >> 32) == cfg->self_tgid)
		return 0;
	__u16 extras = spec->extras;
	if ((extras & SE_X_FAILED_ONLY) && ret >= 0)
		return 0;
	/* filters pushed down from the rules: no loaded rule can match these */
	if ((extras & SE_X_SUCCESS_ONLY) && ret < 0) {
		count(SE_STAT_FILTERED);
		return 0;
	}
	if ((extras & (SE_X_FAILED_WRITES_A1 | SE_X_FAILED_WRITES_A2)) && ret < 0) {
		/* O_RDONLY, or the invalid access mode 3: evt.is_open_write is false for both */
		int a1 = (extras & SE_X_FAILED_WRITES_A1) != 0;
		__u32 acc = (__u32)(a1 ? a[1] : a[2]) & 3;
		if (acc != 1 && acc != 2 &&
		    !((extras & SE_X_FAILED_PATHS) &&
		      failed_path_kept(a1 ? a[0] : a[1], !a1 && (int)a[0] >= 0))) {
			count(SE_STAT_FILTERED);
			return 0;
		}
	}
	if ((extras & SE_X_SKIP_STREAM) && fd_is_stream((long)(int)a[0])) {
		count(SE_STAT_FILTERED);
		return 0;
	}
	if ((extras & SE_X_NETLINK_ONLY) && !fd_is_netlink((long)(int)a[0])) {
		count(SE_STAT_FILTERED);
		return 0;
	}
	__u64 now = 0;
	if (cfg && cfg->budget_ns) {
		now = bpf_ktime_get_boot_ns();
		if (over_budget(cfg, nr, (extras & SE_X_PRIORITY) ? SE_CLASS_PRIORITY : SE_CLASS_BULK,
				pid_tgid >> 32, now))
			return 0;
	}
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct se_hdr *h = start(aux, now, (__u32)pid_tgid, pid_tgid >> 32, nr, SE_EVT_SYSCALL, ret);
	if (compat)
		h->flags |= SE_F_COMPAT;
	__u32 off = sizeof(struct se_hdr);

#pragma unroll
	for (int i = 0; i < SE_NARGS; i++) {
		__u8 kind = spec->argkind[i];
		const void *ptr = (const void *)a[i];
		switch (kind) {
		case SE_ARG_STR:
			off = put_blob(aux, off, (unsigned long)ptr, 0, SE_USTR);
			break;
		case SE_ARG_SOCKADDR: {
			__u32 len = i + 1 < SE_NARGS ? (__u32)a[(i + 1) % SE_NARGS] : 0;
			if (len > 128)
				len = 128;
			off = put_blob(aux, off, (unsigned long)ptr, len, SE_USER);
			break;
		}
		case SE_ARG_OPENHOW:
			off = put_blob(aux, off, (unsigned long)ptr, 24, SE_USER);
			break;
		case SE_ARG_BUF: {
			__u64 len = i + 1 < SE_NARGS ? a[(i + 1) % SE_NARGS] : 0;
			if (len > SE_BUF_MAX)
				len = SE_BUF_MAX;
			off = put_blob(aux, off, (unsigned long)ptr, (__u32)len, SE_USER);
			break;
		}
		case SE_ARG_INT2:
			off = put_blob(aux, off, ret >= 0 ? (unsigned long)ptr : 0, 8, SE_USER);
			break;
		default:
			break;
		}
	}
#pragma unroll
	for (int i = 0; i < SE_NARGS; i++)
		h->args[i] = a[i];
	int prio = (extras & SE_X_PRIORITY) != 0;
	if (!prio && (extras & SE_X_PRIORITY_PATH))
		prio = path_is_priority(aux);
	if (extras & (SE_X_FILE_ARG0 | SE_X_FILE_RES | SE_X_CREDS | SE_X_CWD | SE_X_NL_BUF |
		      SE_X_NL_MSG | SE_X_NS)) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		if (extras & SE_X_FILE_ARG0)
			off = put_file(aux, off, (unsigned long)task, (long)(int)a[0]);
		if (extras & SE_X_FILE_RES) {
			off = put_file(aux, off, (unsigned long)task, ret);
			/* an openat relative to a directory fd (openat(7, "../../etc/shadow")):
			 * whether the file it opened is outside the task's root; when refused, whether
			 * the directory it was relative to is (a relative path only: the kernel
			 * ignores the dirfd of an absolute one). Only with a dirfd, to bound the
			 * cost: a path through /proc/self/fd/N is the rules' to see */
			if ((int)a[0] >= 0 &&
			    (nr == (compat ? SE_IA32_OPENAT : SE_X64_OPENAT) || nr == SE_OPENAT2)) {
				char first = '/';
				if (ret < 0)
					bpf_probe_read_user(&first, 1, (const void *)a[1]);
				struct file *target = ret >= 0	   ? fd_file(task, ret)
						      : first != '/' ? fd_file(task, (long)(int)a[0])
								     : 0;
				if (target)
					put_path_rooted(aux, off, (unsigned long)&target->f_path,
							SE_F_FILE_OUTSIDE_ROOT | SE_ROOT_CHECK_ONLY);
			}
		}
		if (extras & SE_X_CREDS) {
			struct se_creds c = {};
			fill_creds(&c, task);
			off = put_struct(aux, off, &c, sizeof(c));
		}
		if (extras & SE_X_CWD) {
			struct fs_struct *fs = BPF_CORE_READ(task, fs);
			off = put_path_rooted(aux, off, (unsigned long)&fs->pwd,
					      SE_F_CWD_OUTSIDE_ROOT);
		}
		if (extras & (SE_X_NL_BUF | SE_X_NL_MSG))
			off = put_nl_head(aux, off, (long)(int)a[0], a[1],
					  (a[2] > SE_NL_HEAD ? SE_NL_HEAD : a[2]) |
						  ((extras & SE_X_NL_MSG) ? SE_NL_MSG : 0) |
						  (compat ? SE_NL_COMPAT : 0));
		if (extras & SE_X_NS) {
			struct se_ns n = {};
			fill_ns(&n, task);
			off = put_struct(aux, off, &n, sizeof(n));
		}
	}
	emit(aux, off, prio);
	return 0;
}

/* Whether the task may write its executable, as the driver decides exe_writable
 * (libs modern_bpf extract__exe_writable): not on a read-only superblock or an immutable
 * inode; the owner may; else the owner/group/other write bit for fsuid/fsgid; else
 * CAP_DAC_OVERRIDE. ACLs and supplementary groups are not looked at (nor by the driver). */
static __always_inline int exe_writable(struct task_struct *task, struct inode *inode)
{
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	__u16 fmt = mode & SE_S_IFMT;
	if ((BPF_CORE_READ(inode, i_sb, s_flags) & 1 /* SB_RDONLY */) &&
	    (fmt == 0100000 || fmt == 0040000 || fmt == 0120000))
		return 0;
	if (BPF_CORE_READ(inode, i_flags) & 8 /* S_IMMUTABLE */)
		return 0;
	const struct cred *cred = BPF_CORE_READ(task, cred);
	__u32 fsuid = BPF_CORE_READ(cred, fsuid.val);
	__u32 fsgid = BPF_CORE_READ(cred, fsgid.val);
	__u32 uid = BPF_CORE_READ(inode, i_uid.val);
	__u32 gid = BPF_CORE_READ(inode, i_gid.val);
	if (uid == (__u32)-1 || gid == (__u32)-1)
		return 0;
	if (fsuid == uid)
		return 1;
	__u16 bits = fsgid == gid ? mode >> 3 : mode;
	if (bits & 2 /* S_IWOTH */)
		return 1;
	return (cred_cap_effective(cred) >> 1) & 1; /* CAP_DAC_OVERRIDE */
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(se_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	if (is_self())
		return 0;
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	/* the exec set orig_ax and TS_COMPAT for the new image's bitness (set_personality_64bit,
	 * __set_personality_ia32): execve's number in the table the flag names */
	__u16 nr = regs ? BPF_CORE_READ(regs, orig_ax) : 0;
	struct se_hdr *h = start(aux, 0, task->pid, task->tgid, nr, SE_EVT_EXEC, 0);
	if (task_in_compat_syscall(task))
		h->flags |= SE_F_COMPAT;
	for (int i = 0; i < SE_NARGS; i++)
		h->args[i] = 0;
	h->args[0] = old_pid;

	struct se_proc p = {};
	unsigned long task_s = scalar_ptr(task);
	fill_proc(&p, task_s);
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct file *exe = mm ? BPF_CORE_READ(mm, exe_file) : 0;
	if (exe) {
		struct inode *inode = BPF_CORE_READ(exe, f_inode);
		p.exe_ino = BPF_CORE_READ(inode, i_ino);
		inode_times(inode, &p.exe_ctime, &p.exe_mtime);
		__u16 ol = overlay_layer(exe);
		if (ol == 2)
			p.flags |= SE_EXE_UPPER_LAYER;
		else if (ol == 1)
			p.flags |= SE_EXE_LOWER_LAYER;
		if (is_memfd(exe))
			p.flags |= SE_EXE_FROM_MEMFD;
		if (exe_writable(task, inode))
			p.flags |= SE_EXE_WRITABLE;
		p.exe_mode = BPF_CORE_READ(inode, i_mode);
		p.exe_uid = BPF_CORE_READ(inode, i_uid.val);
		p.exe_gid = BPF_CORE_READ(inode, i_gid.val);
	}
	__u32 off = put_struct(aux, sizeof(struct se_hdr), &p, sizeof(p));
	off = put_blob(aux, off, (unsigned long)BPF_CORE_READ(bprm, filename), 0, SE_KSTR);
	unsigned long arg_start = mm ? BPF_CORE_READ(mm, arg_start) : 0;
	unsigned long arg_end = mm ? BPF_CORE_READ(mm, arg_end) : 0;
	__u32 alen = arg_end > arg_start ? arg_end - arg_start : 0;
	if (alen > SE_ARGS_MAX)
		alen = SE_ARGS_MAX;
	off = put_blob(aux, off, (unsigned long)(const void *)arg_start, alen, SE_USER);
	if (exe)
		off = put_path_rooted(aux, off, (unsigned long)(struct path *)&exe->f_path,
				      SE_F_EXE_OUTSIDE_ROOT);
	else
		off = put_blob(aux, off, (unsigned long)0, 0, SE_KERNEL);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	off = put_path_rooted(aux, off, (unsigned long)&fs->pwd, SE_F_CWD_OUTSIDE_ROOT);
	off = put_blob(aux, off, task_s + bpf_core_field_offset(struct task_struct, comm), 0, SE_KSTR);
	off = put_cgroup(aux, off, task_s);
	/* the environment the new image got, NUL-separated, cut at SE_ARGS_MAX (the driver reads
	 * the same range with a 4096-byte cap) */
	unsigned long env_start = mm ? BPF_CORE_READ(mm, env_start) : 0;
	unsigned long env_end = mm ? BPF_CORE_READ(mm, env_end) : 0;
	__u32 elen = env_end > env_start ? env_end - env_start : 0;
	if (elen > SE_ARGS_MAX)
		elen = SE_ARGS_MAX;
	off = put_blob(aux, off, env_start, elen, SE_USER);
	emit(aux, off, 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(se_fork, struct task_struct *parent, struct task_struct *child)
{
	struct se_config *cfg = get_config();
	if (cfg && cfg->self_tgid && child->tgid == cfg->self_tgid)
		return 0; /* our own threads */
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(parent);
	__u16 nr = 0;
	__u64 a0 = 0;
	int compat = task_in_compat_syscall(parent);
	if (regs) {
		nr = BPF_CORE_READ(regs, orig_ax);
		a0 = compat ? (__u32)BPF_CORE_READ(regs, bx) : BPF_CORE_READ(regs, di);
	}
	/* the clone family in either table: clone, vfork, clone3 */
	int is_clone = compat ? nr == 120 : nr == 56;
	int is_vfork = compat ? nr == 190 : nr == 58;
	struct se_hdr *h = start(aux, 0, child->pid, child->tgid, nr, SE_EVT_CLONE, 0);
	if (compat)
		h->flags |= SE_F_COMPAT;
	for (int i = 0; i < SE_NARGS; i++)
		h->args[i] = 0;
	h->args[0] = a0;
	h->args[1] = parent->pid;
	struct se_proc p = {};
	unsigned long child_s = scalar_ptr(child);
	fill_proc(&p, child_s);
	if (nr == 435 && a0) { /* clone3: flags are the first field of struct clone_args */
		__u64 f = 0;
		bpf_probe_read_user(&f, sizeof(f), (void *)a0);
		p.flags = (__u32)f;
	} else if (is_clone) {
		p.flags = (__u32)a0;
	} else if (is_vfork) {
		p.flags = 0x4000 | 0x100; /* CLONE_VFORK | CLONE_VM */
	}
	__u32 off = put_struct(aux, sizeof(struct se_hdr), &p, sizeof(p));
	off = put_blob(aux, off, child_s + bpf_core_field_offset(struct task_struct, comm), 0, SE_KSTR);
	emit(aux, off, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(se_exit, struct task_struct *task)
{
	if (is_self())
		return 0;
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct se_hdr *h = start(aux, 0, task->pid, task->tgid, 0, SE_EVT_EXIT, 0);
	for (int i = 0; i < SE_NARGS; i++)
		h->args[i] = 0;
	h->args[0] = task->exit_code;
	h->args[1] = BPF_CORE_READ(task, signal, live.counter) == 0;
	emit(aux, sizeof(struct se_hdr), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* io_uring                                                             */
/* ------------------------------------------------------------------ */

/* Operations submitted through an io_uring make no syscall of their own: an IORING_OP_OPENAT
 * of /etc/shadow is an open that sys_exit never sees. They become the syscall records they
 * stand for, flagged SE_F_URING, at their completion (`io_uring_complete`, when the result is
 * known), for the submitting task (the request's io_uring_task, whatever thread completes
 * it). What a completion still holds decides what is known:
 *  - OPENAT/OPENAT2: the flags and mode (the request's open_how), the dirfd, and the path
 *    as the program gave it (as for the syscalls: `/proc/self/fd/3`, `../etc/shadow`), kept
 *    at submission (`io_uring_submit_req`, after the request's prep copied the name into a
 *    struct filename) in `se_uring_paths` until the completion, since the kernel frees that
 *    name before it completes the request, refused opens included. A request whose name was
 *    not kept (evicted from the map by more than its size of opens in flight, or submitted
 *    before the probe started) falls back to the opened file's canonical path, or none;
 *  - ACCEPT: the new fd (the result) and its socket; CONNECT: the socket (its ends after
 *    the connect), the fd number unknown (-1: the request keeps the file, not the number).
 * A request submitted with IOSQE_CQE_SKIP_SUCCESS that succeeds posts no completion, so the
 * tracepoint does not fire: not seen (docs/syscall-source.md). */
#define SE_IORING_OP_ACCEPT 13
#define SE_IORING_OP_CONNECT 16
#define SE_IORING_OP_OPENAT 18
#define SE_IORING_OP_OPENAT2 28
#define SE_NR_CONNECT 42
#define SE_NR_ACCEPT4 288
#define SE_NR_OPENAT 257
#define SE_NR_OPENAT2 437

/* The path an IORING_OP_OPENAT/OPENAT2 request was submitted with, by request address, from
 * its submission to its completion (LRU: a request that never completes, CQE_SKIP_SUCCESS,
 * is forgotten in time; a reused address is overwritten at its next submission). */
struct se_uring_path {
	__u32 len;
	char path[SE_STR_MAX + 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct se_uring_path);
} se_uring_paths SEC(".maps");

/* The syscall an io_uring operation stands for (its number in the native table), or 0 for
 * an operation the probe does not map; `opens_only`: the opens alone. */
static __always_inline __u32 uring_op_nr(__u8 op, int opens_only)
{
	if (op == SE_IORING_OP_OPENAT)
		return SE_NR_OPENAT;
	if (op == SE_IORING_OP_OPENAT2)
		return SE_NR_OPENAT2;
	if (opens_only)
		return 0;
	if (op == SE_IORING_OP_CONNECT)
		return SE_NR_CONNECT;
	if (op == SE_IORING_OP_ACCEPT)
		return SE_NR_ACCEPT4;
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(se_uring_submit, struct io_kiocb *req)
{
	__u32 nr = uring_op_nr(BPF_CORE_READ(req, opcode), 1);
	if (!nr || !(se_interest[nr] & SE_WANT_NATIVE))
		return 0;
	struct io_open *o = (void *)&req->cmd;
	struct filename *fn = BPF_CORE_READ(o, filename);
	if (!fn)
		return 0;
	const char *name = BPF_CORE_READ(fn, name);
	struct se_aux *aux = get_aux();
	if (!aux || !name)
		return 0;
	struct se_uring_path *kept = (void *)aux->scratch;
	long n = bpf_probe_read_kernel_str(kept->path, sizeof(kept->path), name);
	kept->len = n > 0 ? n - 1 : 0;
	__u64 key = (unsigned long)req;
	bpf_map_update_elem(&se_uring_paths, &key, kept, BPF_ANY);
	return 0;
}

/* The path section of an io_uring open: the path it was submitted with, else the opened
 * file's, else empty. */
static __always_inline __u32 put_uring_path(struct se_aux *aux, __u32 off, void *req,
					    struct file *opened)
{
	__u64 key = (unsigned long)req;
	struct se_uring_path *kept = bpf_map_lookup_elem(&se_uring_paths, &key);
	if (kept) {
		/* copied here: a global function takes no map value pointer */
		if (off >= SE_OFF_LIMIT) {
			((struct se_hdr *)aux->data)->flags |= SE_F_TRUNCATED;
			return off;
		}
		__u32 o = BOUND(off, SE_OFF_LIMIT - 1);
		__u32 l = kept->len;
		if (l > SE_STR_MAX)
			l = SE_STR_MAX;
		l = BOUND(l, 4095);
		if (l && bpf_probe_read_kernel(&aux->data[o + 2], l, kept->path))
			l = 0;
		aux->data[o] = l & 0xff;
		aux->data[o + 1] = (l >> 8) & 0xff;
		bpf_map_delete_elem(&se_uring_paths, &key);
		return o + 2 + l;
	}
	if (opened)
		return put_path(aux, off, (unsigned long)&opened->f_path);
	return put_blob(aux, off, 0, 0, SE_KERNEL);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(se_uring_complete, struct io_ring_ctx *ring, void *reqp, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = reqp;
	__u8 op = BPF_CORE_READ(req, opcode);
	__u32 nr = uring_op_nr(op, 0);
	if (!nr || !(se_interest[nr] & SE_WANT_NATIVE))
		return 0;
	struct se_spec *spec = bpf_map_lookup_elem(&specs, &nr);
	if (!spec || !spec->enabled)
		return 0;
	struct task_struct *task = BPF_CORE_READ(req, tctx, task);
	if (!task)
		task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 tid = BPF_CORE_READ(task, pid);
	struct se_config *cfg = get_config();
	if (cfg && cfg->self_tgid && tgid == cfg->self_tgid)
		return 0;
	long ret = BPF_CORE_READ(cqe, res);
	__u16 extras = spec->extras;
	if ((extras & SE_X_SUCCESS_ONLY) && ret < 0) {
		count(SE_STAT_FILTERED);
		return 0;
	}
	struct se_aux *aux = get_aux();
	if (!aux)
		return 0;
	struct se_hdr *h = start(aux, 0, tid, tgid, nr, SE_EVT_SYSCALL, ret);
	h->flags |= SE_F_URING;
	__u32 off = sizeof(struct se_hdr);
	struct file *opened = 0;
	for (int i = 0; i < SE_NARGS; i++)
		h->args[i] = 0;
	if (op == SE_IORING_OP_OPENAT || op == SE_IORING_OP_OPENAT2) {
		/* the request's command area is its struct io_open */
		struct io_open *o = (void *)&req->cmd;
		struct open_how how = {};
		BPF_CORE_READ_INTO(&how, o, how);
		h->args[0] = (__u64)(long)BPF_CORE_READ(o, dfd);
		if (ret >= 0)
			opened = fd_file(task, ret);
		if (op == SE_IORING_OP_OPENAT) {
			h->args[2] = how.flags;
			h->args[3] = how.mode;
			/* sections as the openat spec has them: the path (arg 1) */
			off = put_uring_path(aux, off, req, opened);
		} else {
			h->args[3] = sizeof(how);
			off = put_uring_path(aux, off, req, opened);
			off = put_bytes(aux, off, &how, sizeof(how));
		}
		off = put_file(aux, off, (unsigned long)task, ret);
	} else if (op == SE_IORING_OP_CONNECT) {
		h->args[0] = (__u64)-1;
		off = put_blob(aux, off, 0, 0, SE_KERNEL); /* the address: in the socket's ends */
		off = put_file_ptr(aux, off, (unsigned long)BPF_CORE_READ(req, file));
	} else {
		h->args[0] = (__u64)-1;
		off = put_file(aux, off, (unsigned long)task, ret);
	}
	int prio = (extras & SE_X_PRIORITY) != 0;
	if (!prio && (extras & SE_X_PRIORITY_PATH))
		prio = path_is_priority(aux);
	emit(aux, off, prio);
	return 0;
}

/* A program that does nothing, attached by the overhead benchmark to measure
 * the floor cost of a tp_btf program on sys_exit. */
SEC("tp_btf/sys_exit")
int BPF_PROG(se_noop, struct pt_regs *regs, long ret)
{
	return 0;
}
