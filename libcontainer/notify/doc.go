// Package notify is berth's sd_notify proxy for a container started with
// NOTIFY_SOCKET set (systemd's Type=notify units, podman --sdnotify=container).
//
// The container cannot reach the caller's notify socket, and its processes
// do not have the pid the host manager should watch. So berth binds its own
// datagram socket in the container's state directory, which the container
// sees at ContainerPath, waits there for the container's "READY=1", and then
// tells the host socket "READY=1" and "MAINPID=<the init's host pid>",
// followed by a BARRIER=1 (sd_notify_barrier(3)) so that the host has read
// both before berth exits. Other messages from the container (STATUS=,
// RELOADING=, file descriptors) are read and dropped, as runc does.
//
// The kernel interfaces are AF_UNIX SOCK_DGRAM sockets (path or abstract
// addresses, unix(7)), SCM_RIGHTS to pass the barrier pipe, and pipe2(2).
// The protocol is systemd's sd_notify(3).
//
// Do not use this package as a general sd_notify client (it sends only the
// readiness of a container) or when NOTIFY_SOCKET is unset.
package notify
