/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The maps of the least-privilege recorder (profile.bpf.c), shared with the
 * Python side (secengine/profile/layout.py). This header is the single source
 * of truth: tests/profile/test_layout.py parses it and checks the mirror.
 *
 * Nothing here travels through a ring buffer: the kernel sets bits and
 * counts operations in maps, and userspace reads the maps when recording ends.
 *
 *   pf_config_map  [0] -> pf_config        is anything recorded; the mount-ns targets (attach);
 *                                          the runtime to catch when a daemon starts it
 *   slots          [slot] -> pf_slot       one per workload being recorded
 *   tasks          task storage -> pf_task the workload of a task (set from userspace for a
 *                                          root pid, inherited at fork, cached for mount-ns
 *                                          targets): an unfollowed task costs one pointer test
 *   sets           [index] -> pf_bits      the syscall bitmaps, one per workload and mount ns
 *   set_index      pf_key -> u32           the index of (workload, mount ns) in sets
 *   set_claim      u32 -> pf_key           who owns an index (the first to insert it)
 *   set_count      [0] -> u32              the next index to try
 *   creds          tid -> pf_creds         last known ids of a followed thread
 *   opspec         [nr] -> u8 PF_OP_*      which syscalls have capability-deciding arguments
 *   ops            pf_op_key -> pf_op_val  the capability-deciding operations seen (deduplicated)
 *   pf_stats       per-CPU counters PF_STAT_*
 *
 * Only fixed-width types; every struct is naturally aligned with no implicit
 * padding, so the Python formats are plain "<" formats.
 */
#ifndef SECENGINE_PROFILE_H
#define SECENGINE_PROFILE_H

#define PF_MAX_SYSCALLS 512
#define PF_WORDS 8 /* 64-bit words per bitmap (PF_MAX_SYSCALLS / 64) */
#define PF_MAX_SLOTS 16
#define PF_MAX_MNTNS 4 /* mount namespaces recorded in place at once */
#define PF_MAX_TASKS 16384
#define PF_MAX_KEYS 256
#define PF_MAX_OPS 8192
#define PF_NV 10

/* phases (pf_task.phase, pf_bits index, pf_op_key.phase) */
#define PF_PHASE_PRE 0  /* in the container, before the runtime installed its seccomp filter */
#define PF_PHASE_INIT 1 /* under the filter, before the entrypoint's execve succeeded */
#define PF_PHASE_WORK 2 /* the workload: from the entrypoint's execve on */
#define PF_NPHASES 3

/* outcome sets (pf_bits index): how a syscall returned */
#define PF_SET_OK 0     /* return value >= 0 (or the task exited in it) */
#define PF_SET_EPERM 1  /* -EPERM (what a seccomp SCMP_ACT_ERRNO denial returns) */
#define PF_SET_ENOSYS 2 /* -ENOSYS (the program then falls back to an older call) */
#define PF_SET_OTHER 3  /* any other error */
#define PF_NSETS 4

/* operation kinds (opspec values, pf_op_key.op); the v[] each carries */
#define PF_OP_NONE 0
#define PF_OP_ARGS 1   /* v[0..5] = the low 32 bits of the six arguments */
#define PF_OP_BIND 2   /* v = family, port, the net namespace's ip_unprivileged_port_start */
#define PF_OP_SOCKET 3 /* v = domain, type & 0xf, protocol (raw and packet sockets only) */
#define PF_OP_CHOWN 4  /* v = uid arg, gid arg, fsuid, fsgid, gid arg is one of the caller's groups */
#define PF_OP_SETID 5  /* v = arg0..2, old ids (uid euid suid fsuid, or the gid four), new ids */
#define PF_OP_OPEN 6   /* v = i_mode, i_uid, i_gid, fsuid, fsgid, wanted MAY_*, created, nr */
#define PF_OP_PTRACE 7 /* v = request, pid, ids match, tracee is a descendant, tracee uid, caller uid */
#define PF_OP_KILL 8   /* v = signal, needs privilege, target uid, sender euid, same thread group
			 * (a refused call: v = signal, 1) */
#define PF_OP_NS 9     /* v = namespace flags (clone, clone3, unshare), setns: fd, nstype */
#define PF_NOPS 10

/* pf_op_key.flags */
#define PF_OPF_OLD_KNOWN 1 /* PF_OP_SETID: the ids before the call were known */
#define PF_OPF_DIR 2       /* PF_OP_OPEN: the check was on the parent directory (file created) */

/* per-CPU counters (pf_stats) */
#define PF_STAT_RECORDED 0  /* syscall exits recorded into a bitmap */
#define PF_STAT_COMPAT 1    /* 32-bit syscalls of followed tasks (not recorded by name) */
#define PF_STAT_OPS_FULL 2  /* operations lost: the ops map was full */
#define PF_STAT_SETS_FULL 3 /* syscall exits lost: the sets map was full */
#define PF_STAT_TASKS_FULL 4 /* tasks not followed: no memory for their task storage */
#define PF_STAT_COUNT 5

struct pf_config {
	__u32 active;  /* 0: every program returns at once */
	__u32 catch_slot;    /* a runtime started by a daemon: an exec of catch_comm ... */
	__u8 catch_comm[16]; /* ... (e.g. runc) is followed from there in catch_slot */
};

/* The mount namespaces recorded in place (`profile attach`), in a global (section
 * .data.pf_gate) rather than a map: the sys_exit program tests them for every task that
 * carries no task storage, so they are plain loads from a fixed address. */
struct pf_gate {
	__u32 n_mntns; /* entries used in mntns[] */
	__u32 pad;
	__u64 mntns[PF_MAX_MNTNS];	/* mount namespaces recorded in place ... */
	__u32 mntns_slot[PF_MAX_MNTNS]; /* ... and the slot of each */
};

struct pf_slot {
	__u32 active;
	__u32 min_filters;   /* INIT only once a task runs under this many seccomp filters ... */
	__u64 exclude_mntns; /* ... and nothing from this mount namespace (0: anywhere) */
	__s64 live;	     /* followed tasks alive (threads; userspace sets 1 for the root) */
};

struct pf_task {
	__u32 slot;
	__u8 phase;   /* PF_PHASE_INIT or PF_PHASE_WORK */
	__u8 tree;    /* 1: followed from a root pid (counted in live); 0: found by mount namespace */
	__u8 has_set; /* set_idx is the bitmap of (slot, set_mntns) */
	__u8 pad;
	__u32 set_idx;
	__u32 pad2;
	__u64 set_mntns;
};

struct pf_key {
	__u32 slot;
	__u32 pad;
	__u64 mntns;
};

struct pf_bits {
	__u64 w[PF_NPHASES][PF_NSETS][PF_WORDS];
};

struct pf_creds {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
	__u64 cap_eff; /* set*id() clears it: the op records the value from before the call */
};

struct pf_op_key {
	__u32 slot;
	__u16 op;
	__u8 phase;
	__u8 flags;
	__s32 err; /* positive errno, 0 on success */
	__u32 nr;
	__u64 cap_eff; /* the caller's effective capabilities at the time */
	__u32 v[PF_NV];
};

struct pf_op_val {
	__u64 count;
	__u32 pid; /* the first process seen doing it */
	__u32 pad;
};

#endif
