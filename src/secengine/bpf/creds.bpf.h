// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Reading a task's credentials (struct cred) in BPF: the one copy shared by the
 * syscall probe (probe.bpf.c) and the least-privilege recorder (profile.bpf.c).
 *
 * Include after vmlinux.h and <bpf/bpf_core_read.h>. The records the two
 * programs fill keep their own layouts (se_creds in events.h, pf_creds in
 * profile.h, both mirrored in Python), so the ids are copied by a macro into
 * whichever record has the fields.
 */
#ifndef SECENGINE_CREDS_BPF_H
#define SECENGINE_CREDS_BPF_H

/* kernels before 6.3 kept capabilities as two u32 */
struct kernel_cap_struct___old {
	__u32 cap[2];
} __attribute__((preserve_access_index));

/* One capability set of a cred as a u64, whichever of the two layouts this kernel has. */
static __always_inline __u64 read_cap(const kernel_cap_t *capp)
{
	if (bpf_core_field_exists(((struct kernel_cap_struct___old *)0)->cap)) {
		struct kernel_cap_struct___old c;
		bpf_probe_read_kernel(&c, sizeof(c), capp);
		return ((__u64)c.cap[1] << 32) | c.cap[0];
	}
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), capp);
	return v;
}

/* The effective capabilities of `cred` */
static __always_inline __u64 cred_cap_effective(const struct cred *cred)
{
	return read_cap(&cred->cap_effective);
}

/* Copy the real, effective and saved user and group ids of `cred` into `*out`, a record
 * with fields uid, euid, suid, gid, egid and sgid (se_creds, pf_creds). */
#define READ_CRED_IDS(out, cred)                                  \
	do {                                                      \
		(out)->uid = BPF_CORE_READ((cred), uid.val);      \
		(out)->euid = BPF_CORE_READ((cred), euid.val);    \
		(out)->suid = BPF_CORE_READ((cred), suid.val);    \
		(out)->gid = BPF_CORE_READ((cred), gid.val);      \
		(out)->egid = BPF_CORE_READ((cred), egid.val);    \
		(out)->sgid = BPF_CORE_READ((cred), sgid.val);    \
	} while (0)

#endif
