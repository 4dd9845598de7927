// SPDX-License-Identifier: GPL-2.0-or-later
/* sandbox.c - --enable-sandbox and --enable-seccomp, as slirp4netns does
 * them (UPSTREAM.md §14, §15).
 *
 * The sandbox runs after the TAP, libslirp and the API socket exist, so
 * nothing after it needs the filesystem but /etc (libslirp reads
 * /etc/resolv.conf on the first DNS query) and /run. Host sockets still work:
 * forwards added later through the API bind as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "options.h"
#include "sandbox.h"

/* sandbox_enter_userns() made us root in the target's user namespace */
static bool in_target_userns;

int sandbox_enter_userns(const struct opts *o, struct err *e)
{
	char path[PATH_MAX];
	const char *userns = o->userns_path;
	int fd;

	if (geteuid() == 0)
		return 0;
	if (!userns && o->netns_type == NETNS_PID) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", o->pid);
		userns = path;
	}
	if (!userns)
		return err_set(e, -EINVAL,
			       "--enable-sandbox as non-root needs the target's "
			       "user namespace: give --userns-path");
	fd = open(userns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", userns, strerror(errno));
	/* root in that namespace must not be able to ptrace us or walk our
	 * /proc files: that needs CAP_SYS_PTRACE where we were started */
	prctl(PR_SET_DUMPABLE, 0);
	if (setns(fd, CLONE_NEWUSER) < 0) {
		close(fd);
		return err_set(e, -errno, "setns(CLONE_NEWUSER): %s",
			       strerror(errno));
	}
	close(fd);
	if (setegid(0) < 0)
		return err_set(e, -errno, "setegid(0)");
	if (seteuid(0) < 0)
		return err_set(e, -errno, "seteuid(0)");
	in_target_userns = true;
	return 0;
}

bool sandbox_keeps_net_admin(const struct opts *o)
{
	return !o->sandbox || (o->tcp_bypass && in_target_userns);
}

/**
 * empty_root() - A mount namespace of our own whose root is an empty,
 * read-only tmpfs, with nothing of the old tree left in it
 * @e:		message on failure
 *
 * pivot_root(".", ".") stacks the old root on the new one; detaching it
 * leaves the tmpfs as the namespace's only mount, and ".." at a namespace's
 * root stays there, for us and for a walk through /proc/PID/root alike.
 * Return: 0 or -errno
 */
static int empty_root(struct err *e)
{
	if (unshare(CLONE_NEWNS) < 0)
		return err_set(e, -errno, "unshare(CLONE_NEWNS): %s",
			       strerror(errno));
	/* nothing of ours may propagate back into the host's mounts */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_set(e, -errno, "remount / private: %s",
			       strerror(errno));
	if (mount("tmpfs", "/tmp", "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0") < 0)
		return err_set(e, -errno, "tmpfs: %s", strerror(errno));
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return err_set(e, -errno, "pivot_root: %s", strerror(errno));
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC,
		  NULL) < 0)
		return err_set(e, -errno, "remount read-only: %s",
			       strerror(errno));
	return 0;
}

static int bind_ro(const char *src, const char *dst, struct err *e)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_set(e, -errno, "cannot bind mount %s to %s (errno: %d)",
			       src, dst, errno);
	if (mount(NULL, dst, NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_set(e, -errno,
			       "cannot make mount propagation slave %s", dst);
	if (mount(NULL, dst, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC,
		  NULL) < 0)
		return err_set(e, -errno, "cannot remount ro %s", dst);
	return 0;
}

/**
 * bind_resolv_conf() - Keep DNS working when resolv.conf points elsewhere
 * @e:		message on failure
 *
 * /etc/resolv.conf is often a symlink into /run (systemd-resolved, fine)
 * or somewhere else (NixOS, some VMs): bind that file into the new root at
 * the same path, read-only. Call with the new root at /tmp.
 * Return: 0 or -errno
 */
static int bind_resolv_conf(struct err *e)
{
	char real[PATH_MAX], dst[PATH_MAX + 8];
	int fd;

	if (!realpath("/etc/resolv.conf", real) || !strncmp(real, "/etc/", 5) ||
	    !strncmp(real, "/run/", 5) || !strncmp(real, "/tmp/", 5))
		return 0;
	printf("sandbox: /etc/resolv.conf (-> %s) seems a symlink to a file "
	       "outside {/etc, /run}, attempting to bind it as well.\n",
	       real);
	snprintf(dst, sizeof(dst), "/tmp%s", real);
	for (char *p = dst + 5; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(dst, 0755);
		*p = '/';
	}
	fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	return bind_ro(real, dst, e);
}

static int new_root(struct err *e)
{
	if (unshare(CLONE_NEWNS) < 0)
		return err_set(e, -errno, "cannot unshare new mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_set(e, -errno, "cannot remount / private");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=1k") < 0)
		return err_set(e, -errno, "cannot mount tmpfs on /tmp");
	if (mkdir("/tmp/etc", 0755) < 0)
		return err_set(e, -errno, "cannot mkdir /etc");
	if (mkdir("/tmp/old", 0755) < 0)
		return err_set(e, -errno, "cannot mkdir /old");
	if (mkdir("/tmp/run", 0755) < 0)
		return err_set(e, -errno, "cannot mkdir /run");
	if (bind_ro("/etc", "/tmp/etc", e) < 0 ||
	    bind_ro("/run", "/tmp/run", e) < 0 || bind_resolv_conf(e) < 0)
		return e->code;
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", "old") < 0)
		return err_set(e, -errno, "cannot pivot_root to /tmp");
	if (chdir("/") < 0 || umount2("/old", MNT_DETACH) < 0)
		return err_set(e, -errno, "cannot unmount the old root");
	rmdir("/old");
	/* as upstream, a failure here is not fatal */
	mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
	return 0;
}

/**
 * drop_caps() - no_new_privs, and no capability but those in @keep,
 * bounding set too
 * @keep:	the ones to keep
 * @n:		how many
 * @e:		message on failure
 * Return: 0 or -errno
 */
static int drop_caps(const cap_value_t *keep, int n, struct err *e)
{
	cap_t caps;
	int rc = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(e, -errno, "cannot set no_new_privs");
	cap_reset_ambient();
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool kept = false;

		for (int i = 0; i < n; i++)
			kept |= keep[i] == c;
		if (!kept && cap_drop_bound(c) < 0 && errno != EINVAL)
			return err_set(e, -errno, "cannot drop capability %d",
				       c);
	}
	caps = cap_init();
	if (!caps)
		return err_set(e, -ENOMEM, "cap_init");
	if (cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_INHERITABLE, n, keep, CAP_SET) < 0 ||
	    cap_set_proc(caps) < 0)
		rc = err_set(e, -errno, "cannot set capabilities");
	cap_free(caps);
	return rc;
}

int sandbox_apply(const struct opts *o, struct err *e)
{
	/* in the target's user namespace, CAP_NET_ADMIN is power over the
	 * namespace we serve, which its own root holds already, and nothing
	 * over the host's; the kernel path's SYN verdicts need it on every
	 * call (sandbox_keeps_net_admin()). As root it would be the host's,
	 * so root drops it as slirp4netns does. */
	const cap_value_t keep[] = { CAP_NET_BIND_SERVICE, CAP_NET_ADMIN };
	int rc = new_root(e);

	return rc ? rc
		  : drop_caps(keep, sandbox_keeps_net_admin(o) ? 2 : 1, e);
}

int sandbox_helper_apply(struct err *e)
{
	/* CAP_NET_RAW: outbound UDP's ICMP errors and answers go to the
	 * guest by a raw socket in the namespace (fwd/udp_out.c);
	 * CAP_NET_BIND_SERVICE: the DNS forwarder's sockets at port 53 of
	 * the DNS address (dns/dns.c). The namespace's root holds these
	 * powers over it already */
	const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_NET_RAW,
				     CAP_NET_BIND_SERVICE };
	int rc = empty_root(e);

	return rc ? rc : drop_caps(keep, ARRAY_SIZE(keep), e);
}

static const char *const denied[] = {
	"execve",	     "lookup_dcookie",
	"pidfd_getfd",	     "ptrace",
	"process_vm_readv",  "process_vm_writev",
	"delete_module",     "finit_module",
	"init_module",	     "chroot",
	"fsconfig",	     "fsmount",
	"fsopen",	     "fspick",
	"mount",	     "move_mount",
	"open_tree",	     "pivot_root",
	"umount",	     "umount2",
	"open_by_handle_at", "execveat",
	"pidfd_open",	     "pidfd_send_signal",
	"prctl",	     "setns",
	"unshare",	     "kexec_file_load",
	"kexec_load",	     "reboot",
	"name_to_handle_at", "io_uring_setup",
};

int seccomp_apply(struct err *e)
{
	uint32_t act = seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS
					       : SCMP_ACT_KILL;
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!f)
		return err_set(e, -ENOMEM, "seccomp_init failed");
#ifdef __x86_64__
	seccomp_arch_add(f, SCMP_ARCH_X86);
	seccomp_arch_add(f, SCMP_ARCH_X32);
#endif
	for (unsigned i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);

		if (nr == __NR_SCMP_ERROR) {
			log_warn("seccomp: unknown syscall %s", denied[i]);
			continue;
		}
		rc = seccomp_rule_add(f, act, nr, 0);
		if (rc < 0)
			log_warn("seccomp: cannot block %s: %s", denied[i],
				 strerror(-rc));
	}
	rc = seccomp_load(f);
	seccomp_release(f);
	if (rc < 0)
		return err_set(e, rc, "seccomp: seccomp_load(): %s",
			       strerror(-rc));
	printf("seccomp: The following syscalls are blocked:");
	for (unsigned i = 0; i < ARRAY_SIZE(denied); i++)
		printf(" %s", denied[i]);
	printf("\n");
	return 0;
}

/* What helper_serve() does, and nothing else: wait (poll), read a
 * request, make a socket (mark it, make it transparent, bind it), send it,
 * close it; talk netlink (the SYN queue too) and write a sysctl on fds
 * opened before the filter; exit.
 * (sigaltstack and munmap: a sanitizer build's _exit() takes down its
 * signal stack.) */
static const char *const helper_allowed[] = {
	"recvmsg",	"sendmsg",	   "sendto",	      "close",
	"setsockopt",	"bind",		   "pread64",	      "pwrite64",
	"exit",		"exit_group",	   "rt_sigreturn",    "restart_syscall",
	"sigaltstack",	"munmap",	   "poll",	      "ppoll",
	"recvfrom",	"brk",		   "madvise",	      "mremap",
};

int seccomp_helper_apply(struct err *e)
{
	scmp_filter_ctx f = seccomp_init(seccomp_api_get() >= 3
						 ? SCMP_ACT_KILL_PROCESS
						 : SCMP_ACT_KILL);
	int rc = 0;

	if (!f)
		return err_set(e, -ENOMEM, "seccomp_init failed");
	for (unsigned i = 0; i < ARRAY_SIZE(helper_allowed) && !rc; i++)
		rc = seccomp_rule_add(
			f, SCMP_ACT_ALLOW,
			seccomp_syscall_resolve_name(helper_allowed[i]), 0);
	/* memory: the nftables batches are built on the heap, whose growth
	 * is a syscall (and always one under ASan); never executable */
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* sockets to reach the namespace's services, and raw IP ones for
	 * what outbound UDP owes the guest: IP only, never a packet
	 * socket, netlink or a unix socket */
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	/* a persistent TAP's offloads off again as it goes (helper.c) */
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, TUNSETOFFLOAD));
	/* (libseccomp takes one comparison per argument and rule) */
	for (int fam = 0; fam < AF_MAX && !rc; fam++)
		if (fam != AF_INET && fam != AF_INET6)
			rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT),
					      SCMP_SYS(socket), 1,
					      SCMP_A0(SCMP_CMP_EQ, fam));
	if (!rc)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EAFNOSUPPORT),
				      SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_GE, AF_MAX));
	if (!rc)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc < 0)
		return err_set(e, rc, "seccomp (helper): %s", strerror(-rc));
	return 0;
}
