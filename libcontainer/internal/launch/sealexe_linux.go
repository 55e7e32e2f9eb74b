package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// sealedExeMinFd is the lowest descriptor number of the sealed copy: above
// any number exec.Cmd gives the init's ExtraFiles, so that the child's
// dup2 of those cannot replace the copy before execve reads it.
const sealedExeMinFd = 256

// sealedExe copies the binary at exe into a memfd, seals it against any
// change, and returns the memfd and the path that execs it
// (/proc/self/fd/N). It protects the host's binary against CVE-2019-5736
// when the container has no mount namespace of its own, where protectExe's
// read-only bind mount cannot be used (the init must stay in the host's
// mount namespace): the init's /proc/<pid>/exe is then the sealed copy, and
// a container process that opens it for writing gets EPERM. It costs a
// copy of the binary per start, a few milliseconds, paid only by such
// containers.
func sealedExe(exe string) (_ *os.File, path string, retErr error) {
	src, err := os.Open(exe)
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", exe, err)
	}
	defer src.Close()
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("berth-init", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 6.3 there is no MFD_EXEC: a memfd is executable.
		fd, err = unix.MemfdCreate("berth-init", flags)
	}
	if err != nil {
		return nil, "", fmt.Errorf("memfd_create for a sealed copy of %s: %w", exe, err)
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, sealedExeMinFd)
	unix.Close(fd)
	if err != nil {
		return nil, "", fmt.Errorf("move the sealed copy of %s above fd %d: %w", exe, sealedExeMinFd, err)
	}
	f := os.NewFile(uintptr(high), "berth-init")
	defer func() {
		if retErr != nil {
			f.Close()
		}
	}()
	if _, err := io.Copy(f, src); err != nil {
		return nil, "", fmt.Errorf("copy %s into a memfd: %w", exe, err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, "", fmt.Errorf("seal the copy of %s: %w", exe, err)
	}
	return f, "/proc/self/fd/" + strconv.Itoa(high), nil
}
