// The early bootstrap of "berth init": joins existing namespaces while the
// process still has one thread, before the Go runtime starts, and, for a
// process executed into a running container, finishes it (exec.c). The
// request, its format and the frames written back are documented with the
// Go side, in doc.go, request.go and plan.go; this file only carries it
// out, in one pass.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "nsenter.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int sock = -1;

static const char *ns_name(long type)
{
	switch (type) {
	case CLONE_NEWUSER:   return "user";
	case CLONE_NEWIPC:    return "ipc";
	case CLONE_NEWUTS:    return "uts";
	case CLONE_NEWNET:    return "net";
	case CLONE_NEWPID:    return "pid";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME:   return "time";
	case CLONE_NEWNS:     return "mnt";
	}
	return "unknown";
}

void die(int err, const char *fmt, ...)
{
	char msg[512], frame[1200], *o = frame;
	const char *end = frame + sizeof(frame) - 64;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o += sprintf(o, "{\"kind\":\"error\",\"error\":\"");
	// The message may quote the user's paths and names: escape it.
	for (const unsigned char *c = (const unsigned char *)msg; *c != '\0' && o < end; c++) {
		if (*c == '"' || *c == '\\')
			o += sprintf(o, "\\%c", *c);
		else if (*c < 0x20)
			o += sprintf(o, "\\u%04x", *c);
		else
			*o++ = (char)*c;
	}
	if (err != 0)
		o += sprintf(o, ": %s", strerror(err));
	o += sprintf(o, "\"}\n");
	if (write(sock, frame, (size_t)(o - frame)) < 0)
		_exit(1);
	_exit(1);
}

// fail reports the failed step, step (a format) with arg, and exits.
static void fail(const char *step, const char *arg, int err)
{
	char msg[128];

	snprintf(msg, sizeof(msg), step, arg);
	die(err, "nsenter: %s", msg);
}

// next parses one decimal number of the request and the separator after
// it, which must be one of seps ("" accepts only the end of the string).
static long next(char **p, const char *seps)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno != 0 || end == *p || (*end != '\0' && (seps[0] == '\0' || strchr(seps, *end) == NULL)))
		fail("%s", "malformed request", EINVAL);
	*p = *end ? end + 1 : end;
	return v;
}

// become_root makes the process root of the user namespace it just joined,
// as runc does: files it creates must belong to a mapped user. The kernel
// makes the process non-dumpable when its uids change, which suits it.
// setgroups(2) may be denied in that namespace ("deny" in
// /proc/<pid>/setgroups): the groups are then left alone.
static void become_root(void)
{
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		fail("join user namespace: %s", "setgroups", errno);
	if (setresgid(0, 0, 0) < 0)
		fail("join user namespace: %s", "become root (is 0 mapped?)", errno);
	if (setresuid(0, 0, 0) < 0)
		fail("join user namespace: %s", "become root (is 0 mapped?)", errno);
}

// fork_into_pid_ns forks so that the process runs in the pid namespace it
// joined or created (setns and unshare only change the namespace of the
// caller's children). CLONE_PARENT makes the child berth's own, so berth
// waits for it directly; the parent here reports the child's pid, as berth
// sees it, and exits. The raw clone returns twice, like fork(2), without
// glibc's or musl's fork bookkeeping, which a single-threaded process
// before any other code ran has no use for (runc clones the same way).
static void fork_into_pid_ns(void)
{
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);

	if (pid < 0)
		fail("%s", "fork into the pid namespace", errno);
	if (pid > 0) {
		dprintf(sock, "{\"kind\":\"pid\",\"pid\":%ld}\n", pid);
		_exit(0);
	}
}

__attribute__((constructor)) static void berth_nsenter(void)
{
	char *req = getenv("_BERTH_NSENTER");
	char *p;
	long unshare_flags, exec_mode, joined = 0;
	int proc = -1;

	if (req == NULL)
		return;
	p = req;
	sock = (int)next(&p, " ");
	unshare_flags = next(&p, " ");
	exec_mode = next(&p, " ");
	if (exec_mode) {
		// The host's /proc, for the process's own attr files later:
		// once in the container's mount namespace, its /proc is the
		// container's to fake.
		proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (proc < 0)
			fail("%s", "open /proc", errno);
	}

	// From here on the process is in a namespace that another process,
	// a container's, may share: that process must not ptrace it while it
	// still holds berth's descriptors (CVE-2016-9962). execve of the
	// container's program makes it dumpable again.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("%s", "set non-dumpable", errno);

	// Join in the order given: the user namespace first (the others may
	// belong to it), the mount namespace last (it changes "/").
	while (*p != '\0') {
		int fd = (int)next(&p, ":");
		long type = next(&p, " ");

		if (setns(fd, (int)type) < 0)
			fail("join %s namespace", ns_name(type), errno);
		close(fd);
		joined |= type;
		if (type == CLONE_NEWUSER)
			become_root();
	}
	if (unshare_flags != 0 && unshare((int)unshare_flags) < 0)
		fail("%s", "unshare new namespaces", errno);
	if ((joined | unshare_flags) & CLONE_NEWPID)
		fork_into_pid_ns();
	if (exec_mode)
		berth_exec(proc);
	unsetenv("_BERTH_NSENTER");
}
