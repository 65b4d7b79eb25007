/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * The record layout shared by the probe (probe.bpf.c) and the Python reader
 * (secengine/bpf/layout.py). This header is the single source of truth:
 * tests/bpf/test_layout.py parses it and checks the Python mirror.
 *
 * Every record in the ring buffer is
 *
 *     struct se_hdr               fixed, 80 bytes
 *     [sections]                  what the syscall's spec asks for, in order:
 *        for each argument whose kind is not SE_ARG_INT, one blob
 *        (u16 length + bytes, no NUL);
 *        then, for each extra bit set, in bit order, its struct
 *        (se_file is followed by one blob: the unix socket path).
 *
 * Exec, clone and exit records (evt != SE_EVT_SYSCALL) have their own fixed
 * sections, described next to their event codes.
 *
 * Only fixed-width types are used; every struct is naturally aligned with
 * no implicit padding, so the Python struct formats are plain "<" formats.
 */
#ifndef SECENGINE_EVENTS_H
#define SECENGINE_EVENTS_H

#define SE_MAX_SYSCALLS 512
#define SE_NARGS 6

/* sizes of the per-CPU scratch buffers (struct se_aux) */
#define SE_DATA_SIZE 20480
#define SE_OFF_LIMIT 16384 /* a section starts below this, or is left out */
#define SE_STR_MAX 4094    /* longest string or buffer section */
#define SE_SCRATCH_SIZE 8192
#define SE_ARGS_MAX 4094 /* exec arguments, and the environment (NUL-separated); the driver's
			   cap is 4096 for each */
#define SE_BUF_MAX 256   /* SE_ARG_BUF: user buffer bytes copied at most */
#define SE_NL_HEAD 512   /* bytes of a netlink send copied (the first messages' headers) */
#define SE_PATH_DEPTH 32 /* path components walked for d_path */
#define SE_CGROUP_DEPTH 10

/* se_hdr.evt */
#define SE_EVT_SYSCALL 1 /* a syscall exit; sections per its spec */
#define SE_EVT_EXEC 2    /* successful execve/execveat: se_proc + 7 blobs:
                            filename, args, exepath, cwd, comm, cgroup, env */
#define SE_EVT_CLONE 3   /* a new task, seen in the child: se_proc + 1 blob: comm */
#define SE_EVT_EXIT 4    /* a task exited: args[0]=exit code, args[1]=1 if the
                            whole thread group is gone */
#define SE_EVT_FLOOD 5   /* a producer (thread group) went over its budget and its events are
                            being counted instead of sent; at most one per producer per
                            se_config.flood_interval_ns. nr = the last suppressed syscall;
                            args[0]=suppressed since the last flood record, args[1]=suppressed
                            in all, args[2]=admitted in all, args[3]=budget class (SE_CLASS_*);
                            2 blobs: comm, cgroup path */

/* se_hdr.flags */
#define SE_F_TRUNCATED 1 /* sections past the buffer limit were left out */
#define SE_F_COMPAT 2    /* a 32-bit (ia32) syscall: `nr` is in the ia32 table, the arguments
			  * come from ebx, ecx, edx, esi, edi, ebp (zero-extended) */
#define SE_F_URING 4     /* an io_uring operation, as the syscall record it stands for */
#define SE_F_CWD_OUTSIDE_ROOT 8 /* the working directory in this record (chdir/fchdir's after
				 * the call, an exec's) is not under the task's root: the walk
				 * up to its mount namespace's root never met fs->root */
#define SE_F_EXE_OUTSIDE_ROOT 16 /* an exec's executable is not under the task's root */
#define SE_F_FILE_OUTSIDE_ROOT 32 /* the file an openat/openat2 relative to a directory fd
				   * (not AT_FDCWD) opened, or for a refused one with a relative
				   * path that directory, is not under the task's root */

/* se_interest[nr]: which tables capture number nr (a compat syscall's spec is at
 * specs[SE_MAX_SYSCALLS + nr]) */
#define SE_WANT_NATIVE 1
#define SE_WANT_COMPAT 2

/* se_spec.argkind[i] */
#define SE_ARG_INT 0      /* only the raw register, in se_hdr.args */
#define SE_ARG_STR 1      /* user NUL-terminated string -> blob */
#define SE_ARG_SOCKADDR 2 /* user sockaddr, length in the next argument -> blob */
#define SE_ARG_OPENHOW 3  /* struct open_how (24 bytes) -> blob */
#define SE_ARG_INT2 4     /* two ints written by the call (pipe, socketpair) -> blob of 8 */
#define SE_ARG_BUF 5      /* user buffer, length in the next argument (at most SE_BUF_MAX) -> blob */

/* se_spec.extras (bit order = section order) */
#define SE_X_FILE_ARG0 0x01 /* se_file of the fd in argument 0 */
#define SE_X_FILE_RES 0x02  /* se_file of the fd the call returned */
#define SE_X_CREDS 0x04     /* se_creds after the call */
#define SE_X_CWD 0x08       /* blob: current working directory after the call */
#define SE_X_FAILED_ONLY 0x10 /* emit only when the call failed (execve: success is SE_EVT_EXEC) */
#define SE_X_SKIP_STREAM 0x20 /* drop the call when the fd in argument 0 is a stream socket */
#define SE_X_SUCCESS_ONLY 0x40 /* drop the call when it failed (no loaded rule can match that) */
#define SE_X_PRIORITY 0x80 /* a call rules most need (exec, credentials, namespaces, connect):
                              own budget class, and may use the ring's priority headroom */
#define SE_X_PRIORITY_PATH 0x100 /* priority when the first string argument (the path) is in
                                    the se_paths trie (files the loaded rules name) */
#define SE_X_NL_BUF 0x200 /* blob: when the fd in argument 0 is an AF_NETLINK socket, the first
			     SE_NL_HEAD bytes of the buffer in argument 1 (length in argument 2);
			     else empty (sendto) */
#define SE_X_NL_MSG 0x400 /* the same from the first iovec of the msghdr in argument 1 (sendmsg) */
#define SE_X_NS 0x800     /* se_ns of the caller after the call (unshare, setns) */
#define SE_X_NETLINK_ONLY 0x1000 /* drop the call unless the fd in argument 0 is an AF_NETLINK
				  * socket (no loaded rule can match another) */
#define SE_X_FAILED_WRITES_A1 0x2000 /* drop the call when it failed and its open flags, in
				      * argument 1, are not for writing (no loaded rule can match a
				      * failed read-only open) */
#define SE_X_FAILED_WRITES_A2 0x4000 /* the same, the flags in argument 2 (openat) */
#define SE_X_FAILED_PATHS 0x8000 /* with SE_X_FAILED_WRITES_*: keep the failed read-only open
				  * when its path as passed starts with a prefix in the
				  * se_fail_paths trie (paths a loaded rule reads such failures of) */

/* budget classes: each producer has one token bucket per class */
#define SE_CLASS_BULK 0
#define SE_CLASS_PRIORITY 1
#define SE_CLASSES 2

/* se_path_key.path: the bytes of a path the priority trie compares (longer paths: a prefix) */
#define SE_PATH_KEY 64

/* se_proc.flags, as the driver's execve flags (PPM_EXE_*) */
#define SE_EXE_WRITABLE 1
#define SE_EXE_UPPER_LAYER 2
#define SE_EXE_FROM_MEMFD 4
#define SE_EXE_LOWER_LAYER 8

/* se_stats indexes (per-CPU counters) */
#define SE_STAT_EMITTED 0
#define SE_STAT_DROPPED 1 /* record lost: the ring buffer was full (the reader fell behind) */
#define SE_STAT_TRUNCATED 2
#define SE_STAT_WAKEUPS 3
#define SE_STAT_BUSY 4 /* reserve failed with room left: ring lock contended (not the reader's fault) */
#define SE_STAT_BUDGET 5 /* suppressed: the producer was over its budget (counted, summarised) */
#define SE_STAT_FILTERED 6 /* dropped by a filter pushed down from the rules (no rule could match) */
#define SE_STAT_FLOODS 7 /* flood records emitted */
#define SE_STAT_HEADROOM 8 /* a bulk record refused: only the priority headroom was left */
#define SE_STAT_COUNT 9

struct se_hdr {
	__u64 ts;      /* boot-time clock, ns */
	__u32 tid;     /* thread id (global pid namespace) */
	__u32 pid;     /* thread group id */
	__u16 nr;      /* native syscall number */
	__u16 evt;     /* SE_EVT_* */
	__u16 len;     /* whole record, bytes */
	__u16 flags;   /* SE_F_* */
	__s64 res;     /* return value */
	__u64 args[SE_NARGS]; /* syscall arguments as passed (registers) */
};

struct se_spec {
	__u8 enabled;
	__u8 argkind[SE_NARGS];
	__u8 pad;
	__u16 extras;
	__u16 pad2;
};

struct se_config {
	__u32 self_tgid;      /* records of this process are not emitted */
	__u32 wakeup_bytes;   /* wake the reader when this much data is pending */
	__u64 budget_ns;      /* per producer and class, one event per this many ns; 0: no budget */
	__u64 budget_tau;     /* burst: how far ahead (ns) a producer may run (burst * budget_ns) */
	__u64 flood_interval_ns; /* at most one flood record per producer per this interval */
	__u32 bulk_limit;     /* bulk records stop here (ring size less the headroom); 0: none */
	__u32 urgent;         /* 1: a priority record forces a wake-up (once per reader batch) */
	__u64 urgent_cons;    /* written by the probe: consumer position at the last such wake-up */
};

/* per producer (thread group), in the se_budget LRU map: a GCRA token bucket per class */
struct se_budget {
	__u64 tat[SE_CLASSES]; /* theoretical arrival time, ktime ns */
	__u64 admitted;        /* events that passed the budget */
	__u64 suppressed;      /* events counted instead of sent */
	__u64 reported;        /* `suppressed` when the last flood record was sent */
	__u64 last_report;     /* ktime ns of the last flood record */
	__u32 last_nr;         /* the last suppressed syscall */
	__u32 last_class;
};

struct se_path_key {
	__u32 prefixlen; /* bits */
	__u8 path[SE_PATH_KEY];
};

struct se_file {
	__u32 mode;   /* inode i_mode; 0 when the fd is not open */
	__u32 dev;    /* encoded as the driver does: major << 20 | minor */
	__u64 ino;
	__u32 fmode;  /* file f_mode (FMODE_CREATED = 0x100000) */
	__u16 family; /* socket family; 0 when not a socket */
	__u16 stype;  /* socket type (SOCK_STREAM ...) */
	__u16 proto;  /* IPPROTO_* */
	__u16 lport;  /* local port, host order */
	__u16 rport;  /* remote port, host order */
	__u16 overlay; /* 0 not overlayfs, 1 lower layer, 2 upper layer */
	__u8 laddr[16];
	__u8 raddr[16];
};

struct se_creds {
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 loginuid;
	__u32 pad;
	__u64 cap_inheritable;
	__u64 cap_permitted;
	__u64 cap_effective;
};

/* namespace inodes (ns_common.inum) of a task: the user namespace of its credentials, the
 * mount and network namespaces of its nsproxy, its own (active) pid namespace */
struct se_ns {
	__u32 user;
	__u32 mnt;
	__u32 net;
	__u32 pid;
};

struct se_proc {
	__u32 ptid;   /* real parent's thread group id */
	__u32 sid;
	__u32 pgid;
	__u32 vpgid;
	__u32 vpid;
	__u32 vtid;
	__u32 tty;
	__u32 flags;  /* SE_EXE_* (exec), clone flags (clone) */
	__u64 exe_ino;
	__u64 exe_ctime; /* ns since the epoch */
	__u64 exe_mtime;
	__u64 start_time;       /* task start, boot-time clock ns */
	__u64 pidns_init_start; /* start of the pid namespace's init, boot-time ns */
	__u64 fdlimit;
	struct se_creds creds;
	__u32 exe_mode; /* the executable's inode: mode (set-uid/set-gid bits), owner (exec only) */
	__u32 exe_uid;
	__u32 exe_gid;
	__u32 pad;
	struct se_ns ns;
};

/* ------------------------------------------------------------------ */
/* in-kernel kill (docs/response.md)                                    */
/* ------------------------------------------------------------------ */

/* se_hdr.evt of the record a kill rule's match leaves: nr = the syscall (flags SE_F_COMPAT),
 * res = its result; args[0] = the rule's slot, args[1] = the outcome (SE_KILL_*), args[2] = the
 * rule's id (se_kill_rule.id), args[3] = ktime (boot ns) when the probe was done, args[4] =
 * bpf_send_signal's result (0, or a negative errno), args[5] = ktime just before it was called
 * (0: not called); ts = when a rule passed the cheap checks, before any path was read; 3 blobs:
 * comm, the opened file's
 * path (empty unless a rule needed it), the executable's path (likewise) */
#define SE_EVT_KILL 6

/* se_interest bits: a kill rule looks at the native / the ia32 syscall of that number */
#define SE_WANT_KILL 4
#define SE_WANT_KILL_COMPAT 8
/* se_interest bit: the native call is wanted only on a netlink socket (SE_X_NETLINK_ONLY),
 * which the program checks before any other work */
#define SE_WANT_NETLINK_ONLY 16

#define SE_KILL_RULES 16    /* slots of se_kill_rules */
#define SE_KILL_PATH 126    /* path bytes of a se_kill_path_key (longer paths: compared as a prefix) */
#define SE_KILL_SYS_BYTES 128 /* a rule's syscall bitmap: 2 * SE_MAX_SYSCALLS bits */

/* se_kill_rule.flags: what the event must be for the rule to match (all of them) */
#define SE_KR_DRY_RUN 0x01   /* record "would kill", kill nothing */
#define SE_KR_CONTAINER 0x02 /* the task is in a container: neither the host's mount nor its pid
				 namespace */
#define SE_KR_HOST 0x04      /* the task is on the host: the host's mount and pid namespaces */
#define SE_KR_SUCCESS 0x08   /* the call succeeded (res >= 0) */
#define SE_KR_COMM 0x10      /* comm is in se_kill_comms under (slot, SE_KK_IN) */
#define SE_KR_NOT_COMM 0x20  /* comm is not in se_kill_comms under (slot, SE_KK_NOT) */
#define SE_KR_FILE 0x40      /* the opened file's path (the fd the call returned) is in
				 se_kill_paths under (slot, SE_KK_FILE) */
#define SE_KR_NOT_FILE 0x80  /* ... is not under (slot, SE_KK_NOT_FILE) */
#define SE_KR_EXE 0x100      /* the executable's path is in se_kill_paths under (slot, SE_KK_EXE) */
#define SE_KR_NOT_EXE 0x200  /* ... is not under (slot, SE_KK_NOT_EXE) */
#define SE_KR_READ 0x400     /* the opened file was opened for reading (FMODE_READ) */
#define SE_KR_WRITE 0x800    /* ... for writing (FMODE_WRITE) */
#define SE_KR_REG 0x1000     /* the opened file is a regular file */

/* kinds of se_kill_paths / se_kill_comms keys */
#define SE_KK_IN 0
#define SE_KK_NOT 1
#define SE_KK_FILE 2
#define SE_KK_NOT_FILE 3
#define SE_KK_EXE 4
#define SE_KK_NOT_EXE 5

/* outcomes (a kill record's args[1]; se_kill_stats indexes them) */
#define SE_KILL_CHECKED 0   /* se_kill_stats only: syscalls a kill rule looked at */
#define SE_KILL_KILLED 1    /* SIGKILL sent to the thread group */
#define SE_KILL_DRY_RUN 2   /* would have been killed (global or rule dry run) */
#define SE_KILL_RATE_LIMITED 3 /* not killed: over the kill rate */
#define SE_KILL_FAILED 4    /* bpf_send_signal refused (args[4] says why) */
#define SE_KILL_PROTECTED 5 /* not killed: pid 1, a kernel thread, secengine, or allow-listed */
#define SE_KILL_NS 6        /* se_kill_stats only: ns spent checking (with se_kill_config.timing) */
#define SE_KILL_OUTCOMES 7

struct se_kill_config {
	__u32 enabled;     /* 0: no kill rule is looked at */
	__u32 dry_run;     /* every rule is a dry run */
	__u32 nrules;      /* slots in use, from 0 */
	__u32 host_mnt_ns; /* the host's mount namespace inode: others are containers */
	__u64 rate_ns;     /* kills: one per this many ns on average (0: no limit) */
	__u64 burst_ns;    /* how far ahead (ns) kills may run: burst * rate_ns */
	__u32 timing;      /* time each check into se_kill_stats[SE_KILL_NS] (the benchmark) */
	__u32 protect_tgid; /* never killed, nor its children (besides se_config.self_tgid) */
};

struct se_kill_rule {
	__u32 id;    /* user space's number for the rule, echoed in its records */
	__u32 flags; /* SE_KR_* */
	__u8 sys[SE_KILL_SYS_BYTES]; /* bit per entry key: native nr, SE_MAX_SYSCALLS + ia32 nr */
};

struct se_kill_comm_key {
	__u8 slot;
	__u8 kind; /* SE_KK_IN, SE_KK_NOT */
	__u8 comm[16];
};

struct se_kill_path_key {
	__u32 prefixlen; /* bits, the slot and kind bytes included */
	__u8 slot;
	__u8 kind; /* SE_KK_FILE ... SE_KK_NOT_EXE */
	__u8 path[SE_KILL_PATH];
};

/* a process name on the allow-list: exact (the NUL included in prefixlen) or a prefix */
struct se_kill_comm_prefix {
	__u32 prefixlen; /* bits */
	__u8 comm[16];
};

/* an executable on the allow-list: its inode, as the kernel numbers its device (major << 20 | minor) */
struct se_kill_exe_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#endif
