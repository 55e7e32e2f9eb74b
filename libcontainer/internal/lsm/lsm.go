package lsm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrAppArmorNotEnabled is returned for an AppArmor profile on a host that
// does not run AppArmor. The text is runc's.
var ErrAppArmorNotEnabled = errors.New("apparmor: config provided but apparmor not supported")

// ErrSELinuxNotEnabled is returned for an SELinux process label on a host
// that does not run SELinux. The text is runc's (its config validator).
var ErrSELinuxNotEnabled = errors.New("selinux label is specified in config, but selinux is disabled or not supported")

// Host says where the kernel interfaces of the security modules are. Its
// zero value is this host's.
type Host struct {
	// Sys is the root of sysfs; "" means "/sys".
	Sys string
	// IsSELinuxFS reports whether path is a writable selinuxfs mount. Nil
	// asks statfs(2) (SELINUX_MAGIC, not ST_RDONLY).
	IsSELinuxFS func(path string) bool
	// OpenAttr opens the calling thread's /proc/thread-self/attr/<name>
	// ("exec", "apparmor/exec", "keycreate", "current") with flags
	// (O_RDONLY or O_WRONLY). Nil opens it in a verified procfs.
	OpenAttr func(name string, flags int) (*os.File, error)
}

func (h *Host) sys(p string) string {
	root := h.Sys
	if root == "" {
		root = "/sys"
	}
	return filepath.Join(root, p)
}

func (h *Host) openAttr(name string, flags int) (*os.File, error) {
	if h.OpenAttr != nil {
		return h.OpenAttr(name, flags)
	}
	return openProcAttr(name, flags)
}

// AppArmorEnabled reports whether the host runs AppArmor: securityfs has
// its directory and the module's "enabled" parameter is "Y" (runc's and
// libapparmor's test).
func (h *Host) AppArmorEnabled() bool {
	if _, err := os.Stat(h.sys("kernel/security/apparmor")); err != nil {
		return false
	}
	b, err := os.ReadFile(h.sys("module/apparmor/parameters/enabled"))
	return err == nil && len(b) > 0 && b[0] == 'Y'
}

// SELinuxEnabled reports whether the host runs SELinux: selinuxfs is
// mounted writable at /sys/fs/selinux and the calling thread's context is
// not "kernel" (the context of every task before a policy is loaded), as
// go-selinux's GetEnabled decides.
func (h *Host) SELinuxEnabled() bool {
	isFS := h.IsSELinuxFS
	if isFS == nil {
		isFS = isSELinuxFS
	}
	if !isFS(h.sys("fs/selinux")) {
		return false
	}
	cur, err := h.readAttr("current")
	return err == nil && cur != "kernel"
}

// Check refuses what the host cannot apply: an AppArmor profile without
// AppArmor, an SELinux process label without SELinux. It runs in the
// parent, before anything is created.
//
// The rule is runc's outcome. runc's apparmor.ApplyProfile writes the
// profile whenever one is named, without asking IsEnabled: on a host
// without AppArmor the write to attr/exec fails (EINVAL when no module
// takes the attribute, ENOENT without one) and the container does not
// start ("unable to apply apparmor profile"); no profile is ever silently
// dropped. For SELinux, runc's validator refuses a process label when
// selinux.GetEnabled is false, with ErrSELinuxNotEnabled's text; for berth
// exec --process-label runc's setns init fails on the same write. berth
// refuses both before forking, with runc's messages. A mount label is not
// checked here, as runc does not check it: it becomes a context= option,
// which the kernel refuses on a host without SELinux (see FormatMountLabel).
func (h *Host) Check(profile, label string) error {
	if profile != "" && !h.AppArmorEnabled() {
		return fmt.Errorf("apparmor profile %q: %w", profile, ErrAppArmorNotEnabled)
	}
	if label != "" && !h.SELinuxEnabled() {
		return fmt.Errorf("selinux label %q: %w", label, ErrSELinuxNotEnabled)
	}
	return nil
}

// ApplyAppArmorProfile makes the calling thread exec into AppArmor profile
// name: "exec <name>" written to attr/apparmor/exec, or to attr/exec when
// the kernel has no per-module directory (before Linux 5.8), as
// aa_change_onexec does. An empty name does nothing. AppArmor answers
// ENOENT for a profile it has not loaded; the error says so.
func (h *Host) ApplyAppArmorProfile(name string) error {
	if name == "" {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	attr := "apparmor/exec"
	f, err := h.openAttr(attr, os.O_WRONLY)
	if errors.Is(err, os.ErrNotExist) {
		attr = "exec"
		f, err = h.openAttr(attr, os.O_WRONLY)
	}
	if err != nil {
		return fmt.Errorf("apply apparmor profile %q: open attr/%s: %w", name, attr, err)
	}
	defer f.Close()
	if err := writeAttr(f, "exec "+name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("apply apparmor profile %q: profile not loaded: %w", name, err)
		}
		return fmt.Errorf("apply apparmor profile %q: write attr/%s: %w", name, attr, err)
	}
	return nil
}

// SetExecLabel sets the SELinux label the calling thread's next execve(2)
// runs with (attr/exec). An empty label does nothing: a new process has
// none set.
func (h *Host) SetExecLabel(label string) error {
	if label == "" {
		return nil
	}
	if err := h.writeAttrFile("exec", label); err != nil {
		return fmt.Errorf("set selinux exec label %q: %w", label, err)
	}
	return nil
}

// SetKeyLabel sets the SELinux label of the keyrings the calling thread
// creates next (attr/keycreate): the session keyring the init joins gets
// the process's label. An empty label clears it, and is a no-op on a host
// without SELinux. A kernel without the attribute is not an error, as in
// go-selinux (keyrings are a best-effort protection), and neither is a
// refused clear.
//
// runc writes /proc/self/attr/keycreate, which only the thread-group
// leader may write; /proc/thread-self is the same file there and the right
// one on any other thread.
func (h *Host) SetKeyLabel(label string) error {
	if label == "" && !h.SELinuxEnabled() {
		return nil
	}
	err := h.writeAttrFile("keycreate", label)
	if errors.Is(err, os.ErrNotExist) || label == "" && errors.Is(err, os.ErrPermission) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("set selinux key label %q: %w", label, err)
	}
	return nil
}

// writeAttrFile writes value to the calling thread's attr/<name>. The
// goroutine stays on its thread from open to write: the descriptor names
// the thread that opened it, and only that thread may write it.
func (h *Host) writeAttrFile(name, value string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := h.openAttr(name, os.O_WRONLY)
	if err != nil {
		return fmt.Errorf("open attr/%s: %w", name, err)
	}
	defer f.Close()
	if err := writeAttr(f, value); err != nil {
		return fmt.Errorf("write attr/%s: %w", name, err)
	}
	return nil
}

func (h *Host) readAttr(name string) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := h.openAttr(name, os.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b[:n]), "\x00\n"), nil
}

// FormatMountLabel adds the SELinux context label to mount data, as the
// context="<label>" option (quoted: an MLS range has commas), the way
// runc's label.FormatMountLabel does; an empty label leaves data as it is.
// Like runc, it does not ask whether the host runs SELinux: without it the
// filesystem refuses the unknown option, and the mount fails.
func FormatMountLabel(data, label string) string {
	if label == "" {
		return data
	}
	opt := `context="` + label + `"`
	if data == "" {
		return opt
	}
	return data + "," + opt
}
