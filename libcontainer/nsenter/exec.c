// The last steps of a process executed into a running container (berth
// exec), once nsenter.c has joined the container's namespaces: read the
// parent's plan (ExecPlan in plan.go, which documents its encoding), make
// the process what it says, in the order of runc's setns init, and execute
// the program. The parent decided everything; no Go runtime starts here.
// Only system calls: the process never returns to the C library's start.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "nsenter.h"

// From the kernel's uapi headers, which musl's compiler does not see.
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#define KEY_USR_SEARCH 0x00080000
#define KEY_OTH_SEARCH 0x00000008
#define CAP_VERSION_3 0x20080522
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

enum {
	PLAN_CHROOT = 1 << 0,
	PLAN_TERMINAL = 1 << 1,
	PLAN_CAPS = 1 << 2,
	PLAN_NO_NEW_PRIVS = 1 << 3,
	PLAN_KEYRING = 1 << 4,
	PLAN_KEYRING_OTHERS = 1 << 5,
};

struct plan {
	uint64_t flags, uid, gid, umask, root;
	uint64_t bounding, effective, permitted, inheritable, ambient;
	uint64_t seccomp_flags, seccomp_len, ngroups;
	const void *seccomp;
	gid_t *groups;
	const char *cwd, *keyring, *apparmor, *selinux, *path;
	char **argv, **envp;
};

static char *cur, *end;
static int proc_fd;

static uint64_t word(void)
{
	uint64_t v;

	if (end - cur < 8)
		die(EINVAL, "exec plan: truncated");
	memcpy(&v, cur, 8);
	cur += 8;
	return v;
}

static const char *bytes(uint64_t n)
{
	const char *p = cur;

	if ((uint64_t)(end - cur) < n)
		die(EINVAL, "exec plan: truncated");
	cur += n;
	return p;
}

static const char *str(void)
{
	uint64_t n = word();
	const char *s = bytes(n + 1);

	if (s[n] != '\0')
		die(EINVAL, "exec plan: malformed string");
	return s;
}

static char **strv(void)
{
	uint64_t n = word();
	char **v;

	if (n > (uint64_t)(end - cur) / 9)
		die(EINVAL, "exec plan: malformed list");
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		die(ENOMEM, "exec plan");
	for (uint64_t i = 0; i < n; i++)
		v[i] = (char *)str();
	return v;
}

// read_full reads n bytes from the socket, or exits: the parent is gone,
// and there is nobody to tell.
static void read_full(void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(sock, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(1);
		got += (size_t)r;
	}
}

static void read_plan(struct plan *p)
{
	uint64_t size;
	char *buf;

	read_full(&size, sizeof(size));
	if (size > 64 << 20 || (buf = malloc(size)) == NULL)
		die(EINVAL, "exec plan: %llu bytes", (unsigned long long)size);
	read_full(buf, size);
	cur = buf;
	end = buf + size;
	p->flags = word();
	p->uid = word();
	p->gid = word();
	p->umask = word();
	p->root = word();
	p->bounding = word();
	p->effective = word();
	p->permitted = word();
	p->inheritable = word();
	p->ambient = word();
	p->seccomp_flags = word();
	p->seccomp_len = word();
	p->ngroups = word();
	if (p->seccomp_len % 8 != 0 || p->seccomp_len / 8 > 0xffff || p->ngroups > NGROUPS_MAX)
		die(EINVAL, "exec plan: malformed");
	p->seccomp = bytes(p->seccomp_len);
	p->groups = calloc(p->ngroups + 1, sizeof(gid_t));
	if (p->groups == NULL)
		die(ENOMEM, "exec plan");
	for (uint64_t i = 0; i < p->ngroups; i++)
		p->groups[i] = (gid_t)word();
	p->cwd = str();
	p->keyring = str();
	p->apparmor = str();
	p->selinux = str();
	p->path = str();
	p->argv = strv();
	p->envp = strv();
	if (p->argv[0] == NULL)
		die(EINVAL, "process.args: empty");
}

// write_attr writes value to the calling thread's attr/<name> in the
// host's procfs.
static int write_attr(const char *name, const char *value)
{
	char path[64];
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "thread-self/attr/%s", name);
	fd = openat(proc_fd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	err = errno;
	close(fd);
	errno = err;
	return n < 0 ? -1 : 0;
}

static void join_keyring(const struct plan *p)
{
	char desc[512], *f = desc;
	long id, n;
	unsigned long perm;

	if (p->selinux[0] != '\0' && write_attr("keycreate", p->selinux) < 0 && errno != ENOENT)
		die(errno, "session keyring: set selinux key label \"%s\"", p->selinux);
	id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, p->keyring);
	if (id < 0 && errno == ENOSYS)
		return;
	if (id < 0)
		die(errno, "session keyring: join session keyring %s", p->keyring);
	// "type;uid;gid;perm;description", perm in hex.
	n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof(desc) - 1);
	if (n < 0)
		die(errno, "session keyring: describe session keyring %s", p->keyring);
	desc[n < (long)sizeof(desc) ? n : (long)sizeof(desc) - 1] = '\0';
	for (int i = 0; i < 3 && f != NULL; i++)
		if ((f = strchr(f, ';')) != NULL)
			f++;
	if (f == NULL)
		die(EINVAL, "session keyring: describe session keyring %s", p->keyring);
	perm = strtoul(f, NULL, 16) | (p->flags & PLAN_KEYRING_OTHERS ? KEY_OTH_SEARCH : KEY_USR_SEARCH);
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm) < 0)
		die(errno, "session keyring: set permissions of session keyring %s", p->keyring);
	if (p->selinux[0] != '\0')
		write_attr("keycreate", "");
}

static void drop_bounding(uint64_t keep)
{
	for (int c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0 && errno == EINVAL)
			break; // past the kernel's last capability
		if (in < 0)
			die(errno, "capabilities: read bounding capability %d", c);
		if (in && !(keep >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			die(errno, "capabilities: drop bounding capability %d", c);
	}
}

static void set_caps(const struct plan *p)
{
	struct { uint32_t version; int pid; } hdr = { CAP_VERSION_3, 0 };
	struct { uint32_t effective, permitted, inheritable; } data[2] = {
		{ (uint32_t)p->effective, (uint32_t)p->permitted, (uint32_t)p->inheritable },
		{ (uint32_t)(p->effective >> 32), (uint32_t)(p->permitted >> 32), (uint32_t)(p->inheritable >> 32) },
	};

	if (syscall(SYS_capset, &hdr, data) < 0)
		die(errno, "capabilities: set capabilities");
	// EINVAL: a kernel without ambient capabilities (before 4.3).
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die(errno, "capabilities: clear ambient capabilities");
	for (int c = 0; c < 64; c++)
		if (p->ambient >> c & 1 && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			die(errno, "capabilities: raise ambient capability %d", c);
}

// chdir_checked changes to the process's cwd and refuses one outside the
// root, where a leaked descriptor would take it (CVE-2024-21626). It
// returns -1 with errno EACCES or EPERM, when the user may try again.
static int chdir_checked(const char *cwd)
{
	char buf[PATH_MAX];

	if (chdir(cwd) < 0) {
		if (errno == EACCES || errno == EPERM)
			return -1;
		die(errno, "process.cwd: chdir to cwd (\"%s\") set in config.json", cwd);
	}
	if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
		die(errno ? errno : ENOENT, "process.cwd: chdir to cwd (\"%s\") set in config.json: "
		    "outside the container's root, a possible breakout: getcwd", cwd);
	return 0;
}

// fix_stdio gives the user its stdio, as runc does, so that it can reopen
// them through /proc/self/fd; /dev/null and what it owns stay as they are,
// and so does what the container's root may not chown.
static void fix_stdio(uid_t uid)
{
	struct stat null, st;

	if (stat("/dev/null", &null) < 0)
		die(errno, "stdio: stat /dev/null");
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			die(errno, "stdio: stat fd %d", fd);
		}
		if ((S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev) || st.st_uid == uid)
			continue;
		if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
			die(errno, "stdio: chown fd %d", fd);
	}
}

static void set_labels(const struct plan *p)
{
	char value[PATH_MAX];

	if (p->apparmor[0] != '\0') {
		snprintf(value, sizeof(value), "exec %s", p->apparmor);
		if (write_attr("apparmor/exec", value) < 0 && (errno != ENOENT || write_attr("exec", value) < 0))
			die(errno, "process.apparmorProfile: apply apparmor profile \"%s\"", p->apparmor);
	}
	if (p->selinux[0] != '\0' && write_attr("exec", p->selinux) < 0)
		die(errno, "process.selinuxLabel: set selinux exec label \"%s\"", p->selinux);
}

static void load_seccomp(const struct plan *p)
{
	struct { unsigned short len; const void *filter; } prog = { (unsigned short)(p->seccomp_len / 8), p->seccomp };
	const char frame[] = "{\"kind\":\"seccomp-listener\"}\n";
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, answer[128];
	struct iovec iov = { (void *)frame, sizeof(frame) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	size_t got = 0;
	long fd;
	ssize_t n;

	if (p->seccomp_len == 0)
		return;
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
	if (fd < 0)
		die(errno, "seccomp: load seccomp filter (flags %#llx)", (unsigned long long)p->seccomp_flags);
	if (!(p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
		return;
	// The parent hands the listener to the agent and answers: a
	// seccomp-done frame, or it ends this process.
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &(int){ (int)fd }, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0)
		die(errno, "seccomp: send the listener");
	close((int)fd);
	while (got < sizeof(answer) - 1 && (n = read(sock, answer + got, 1)) == 1 && answer[got] != '\n')
		got++;
	answer[got] = '\0';
	if (strstr(answer, "\"seccomp-done\"") == NULL)
		_exit(1);
}

static void set_user(const struct plan *p)
{
	char deny[16] = "";
	int fd, err;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		die(errno, "process.user: prctl PR_SET_KEEPCAPS");
	if (syscall(SYS_setgroups, p->ngroups, p->groups) < 0) {
		// Skipped when the user namespace denies it (runc does too).
		err = errno;
		fd = err == EPERM ? openat(proc_fd, "self/setgroups", O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0 || read(fd, deny, sizeof(deny) - 1) < 0 || strncmp(deny, "deny", 4) != 0)
			die(err, "process.user: setgroups");
		close(fd);
	}
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		die(errno, "process.user: setresgid %llu%s", (unsigned long long)p->gid,
		    errno == EINVAL ? ": gid is not mapped in the user namespace" : "");
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		die(errno, "process.user: setresuid %llu%s", (unsigned long long)p->uid,
		    errno == EINVAL ? ": uid is not mapped in the user namespace" : "");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		die(errno, "process.user: prctl PR_SET_KEEPCAPS");
}

// executable is os/exec's findExecutable: not a directory, and executable
// by this process (faccessat2 AT_EACCESS, so a noexec mount fails here).
static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (syscall(SYS_faccessat2, AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -1;
	errno = EACCES;
	return st.st_mode & 0111 ? 0 : -1;
}

// lookup finds the program as exec.LookPath does, in the plan's PATH.
static const char *lookup(const char *file, const char *path)
{
	static char buf[PATH_MAX];
	const char *dir = path, *colon;

	if (strchr(file, '/') != NULL) {
		if (executable(file) < 0)
			die(errno, "exec: \"%s\"", file);
		return file;
	}
	for (;; dir = colon + 1) {
		colon = strchrnul(dir, ':');
		if (colon == dir)
			snprintf(buf, sizeof(buf), "./%s", file); // "" is "."
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)(colon - dir), dir, file);
		if (executable(buf) == 0) {
			if (buf[0] != '/')
				die(0, "exec: \"%s\": cannot run executable found relative to current directory", file);
			return buf;
		}
		if (*colon == '\0')
			die(0, "exec: \"%s\": executable file not found in $PATH", file);
	}
}

void berth_exec(int proc)
{
	struct plan p;
	const char *exe;
	int retry_cwd = 0;

	proc_fd = proc;
	// Every descriptor from the protocol's up stays out of the program
	// (CVE-2024-21626); the process's own extra files come before it.
	if (syscall(SYS_close_range, sock, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = sock; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	read_plan(&p);
	if (getsid(0) != getpid() && setsid() < 0)
		die(errno, "session: setsid");
	if (p.flags & PLAN_CHROOT && (fchdir((int)p.root) < 0 || chroot(".") < 0 || chdir("/") < 0))
		die(errno, "root: chroot to the container's root");
	if (p.flags & PLAN_TERMINAL && ioctl(0, TIOCSCTTY, 0) < 0)
		die(errno, "terminal: make the pty the controlling terminal");
	if (p.flags & PLAN_KEYRING)
		join_keyring(&p);
	if (p.flags & PLAN_CAPS)
		drop_bounding(p.bounding);
	if (p.cwd[0] != '\0')
		retry_cwd = chdir_checked(p.cwd) < 0;
	fix_stdio((uid_t)p.uid);
	set_labels(&p);
	if (!(p.flags & PLAN_NO_NEW_PRIVS))
		load_seccomp(&p); // needs CAP_SYS_ADMIN without no_new_privs
	set_user(&p);
	if (retry_cwd && chdir_checked(p.cwd) < 0)
		die(errno, "process.cwd: chdir to cwd (\"%s\") set in config.json", p.cwd);
	if (p.flags & PLAN_CAPS)
		set_caps(&p);
	if (p.flags & PLAN_NO_NEW_PRIVS && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(errno, "no_new_privs: prctl PR_SET_NO_NEW_PRIVS");
	exe = lookup(p.argv[0], p.path);
	if (p.flags & PLAN_NO_NEW_PRIVS)
		load_seccomp(&p); // last: the filter sees as little as possible
	umask((mode_t)p.umask);
	if (dprintf(sock, "{\"kind\":\"ready\"}\n") < 0)
		_exit(1);
	execve(exe, p.argv, p.envp);
	die(errno, "exec %s", p.argv[0]);
}
