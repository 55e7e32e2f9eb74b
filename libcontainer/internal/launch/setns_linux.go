package launch

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/berthrt/berth/libcontainer/configs"
	"github.com/berthrt/berth/libcontainer/nsenter"
)

// NamespaceFile is an open namespace file that the init joins.
type NamespaceFile struct {
	// Type is the namespace's kind.
	Type configs.NamespaceType
	// File is the namespace (an nsfs file: /proc/<pid>/ns/<kind>, or a
	// bind mount of one). Its owner closes it once Start has returned.
	File *os.File
}

// OpenNamespace opens the namespace file at path and checks that it is a
// namespace of kind t, so that a wrong path fails with an error that says
// so before anything is forked.
func OpenNamespace(t configs.NamespaceType, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s namespace: %w", t.ProcName(), err)
	}
	if err := checkNamespace(f, t); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkNamespace checks that f is a namespace file of kind t: on nsfs
// (statfs(2)), and of that type (ioctl NS_GET_NSTYPE, Linux 4.11; an older
// kernel leaves the type to setns(2), which checks it too).
func checkNamespace(f *os.File, t configs.NamespaceType) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", f.Name(), err)
	}
	if st.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("%s is not a namespace file", f.Name())
	}
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if errors.Is(err, unix.ENOTTY) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("namespace type of %s: %w", f.Name(), err)
	}
	if uintptr(got) != t.CloneFlag() {
		return fmt.Errorf("%s is a %s namespace, not a %s namespace", f.Name(), nsKindName(uintptr(got)), t.ProcName())
	}
	return nil
}

func nsKindName(flag uintptr) string {
	for _, t := range configs.NamespaceTypes() {
		if t.CloneFlag() == flag {
			return t.ProcName()
		}
	}
	return fmt.Sprintf("unknown (%#x)", flag)
}

// joinPlan says who creates and who joins each of the init's namespaces.
//
//   - The forking thread joins what a thread of a multi-threaded process may
//     join (ipc, uts, net, pid), when no user namespace is joined: then the
//     clone's new namespaces, a new user namespace included, are created
//     after the joins, as runc orders them.
//   - The bootstrap (libcontainer/nsenter) joins the rest after execve of
//     the init: the cgroup namespace (once the init is in its cgroup: where
//     the cgroup v2 hierarchy is mounted with nsdelegate, clone3 refuses
//     CLONE_INTO_CGROUP from a cgroup outside the caller's cgroup
//     namespace, with ENOENT), the time namespace (single-threaded
//     processes only), the mount namespace (last: it changes "/", and the
//     init's binary is found in berth's own) and, when a user namespace is
//     joined, every namespace, the user namespace first. The new namespaces
//     are then unshared by the bootstrap too, once it has joined, so that
//     they belong to the joined user namespace. (With a new user namespace
//     the thread joins the cgroup namespace: the bootstrap, in the new user
//     namespace, would have no privilege over it.)
//   - New cgroup and time namespaces are always the init's own (Bootstrap
//     CgroupNS and TimeNS).
type joinPlan struct {
	thread  []NamespaceFile // joined by the forking thread, in order
	boot    []NamespaceFile // joined by the bootstrap, in order
	clone   uintptr         // CLONE_NEW* flags of the clone
	unshare uintptr         // CLONE_NEW* flags the bootstrap unshares
}

// planNamespaces decides the plan for the init of b, whose namespaces
// given by path (for b.Exec: all of the container's) are open in joins (one
// per kind, any order).
func planNamespaces(b *Bootstrap, joins []NamespaceFile) (*joinPlan, error) {
	byType := make(map[configs.NamespaceType]*os.File, len(joins))
	for _, j := range joins {
		byType[j.Type] = j.File
	}
	_, userJoined := byType[configs.NEWUSER]
	newUser := !b.Exec && !userJoined && b.Config.Namespaces.Contains(configs.NEWUSER)
	p := &joinPlan{}
	for _, t := range configs.NamespaceTypes() {
		f, ok := byType[t]
		if !ok {
			continue
		}
		switch {
		case userJoined, t == configs.NEWNS, t == configs.NEWTIME,
			// From inside a new user namespace the bootstrap could
			// not join a cgroup namespace of another: the thread does.
			t == configs.NEWCGROUP && !newUser:
			p.boot = append(p.boot, NamespaceFile{t, f})
		default:
			p.thread = append(p.thread, NamespaceFile{t, f})
		}
	}
	var newFlags uintptr
	if !b.Exec {
		newFlags = b.Config.Namespaces.CloneFlags() &^ (unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME)
	}
	if userJoined {
		p.unshare = newFlags
	} else {
		p.clone = newFlags
	}
	if p.clone&unix.CLONE_NEWUSER != 0 {
		for _, j := range p.boot {
			// From inside a new user namespace, the bootstrap has no
			// privilege over a namespace that belongs to another.
			return nil, fmt.Errorf("join %s namespace: joining a %s namespace by path needs the user namespace joined by path too, not a new one", j.Type.ProcName(), j.Type.ProcName())
		}
	}
	if len(p.boot) > 0 && !nsenter.Available {
		return nil, fmt.Errorf("join %s namespace: this binary was built without cgo, so without the bootstrap (libcontainer/nsenter) that joins it", p.boot[0].Type.ProcName())
	}
	return p, nil
}

// request is the bootstrap's request, given the descriptor numbers that
// the boot namespaces get in the init (fds[i] for p.boot[i]), and whether
// the bootstrap finishes an exec'd process; nil when the bootstrap has
// nothing to do.
func (p *joinPlan) request(sock int, fds []int, exec bool) *nsenter.Request {
	if len(p.boot) == 0 && p.unshare == 0 && !exec {
		return nil
	}
	r := &nsenter.Request{Sock: sock, Unshare: p.unshare, Exec: exec}
	for i, j := range p.boot {
		r.Join = append(r.Join, nsenter.Join{FD: fds[i], Type: j.Type.CloneFlag()})
	}
	return r
}

// joinOnThread joins, on the calling (locked, throwaway) thread, the
// namespaces of files in order. The forked init inherits them.
func joinOnThread(files []NamespaceFile) error {
	for _, j := range files {
		if err := unix.Setns(int(j.File.Fd()), int(j.Type.CloneFlag())); err != nil {
			return fmt.Errorf("join %s namespace %s: %w", j.Type.ProcName(), j.File.Name(), err)
		}
	}
	return nil
}

// openConfigNamespaces opens the namespaces that c gives by path. The
// caller closes them.
func openConfigNamespaces(c *configs.Config) ([]NamespaceFile, error) {
	var out []NamespaceFile
	for _, t := range configs.NamespaceTypes() {
		path := c.Namespaces.PathOf(t)
		if path == "" {
			continue
		}
		f, err := OpenNamespace(t, path)
		if err != nil {
			closeNamespaces(out)
			return nil, err
		}
		out = append(out, NamespaceFile{t, f})
	}
	return out, nil
}

func closeNamespaces(files []NamespaceFile) {
	for _, j := range files {
		j.File.Close()
	}
}
