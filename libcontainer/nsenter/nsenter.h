// Shared by the bootstrap's two files: nsenter.c joins the namespaces,
// exec.c finishes a process executed into a running container.

#ifndef BERTH_NSENTER_H
#define BERTH_NSENTER_H

// sock is the descriptor of the protocol socket to the parent.
extern int sock;

// die reports an error frame on sock, the message formatted from fmt and
// followed by strerror(err) unless err is 0, and exits with status 1.
__attribute__((noreturn, format(printf, 2, 3)))
void die(int err, const char *fmt, ...);

// berth_exec reads the parent's exec plan from sock and executes the
// process it describes; proc is a descriptor of the host's /proc, opened
// before any namespace was joined. It returns only on error, after die.
__attribute__((noreturn))
void berth_exec(int proc);

#endif
