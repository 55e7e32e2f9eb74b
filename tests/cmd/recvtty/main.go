// Command recvtty is a reference consumer of a container's console socket
// (berth create/run --console-socket), for tests: it listens on an AF_UNIX
// stream socket, receives the pty master that berth sends there (one
// SCM_RIGHTS message whose data is the master's name), and drives it.
//
//	recvtty [--mode single|null] [--pid-file FILE] SOCKETPATH
//
// In single mode (the default) it accepts one connection, copies the
// master's output to its stdout and its stdin to the master, and exits when
// the master hangs up (every slave descriptor in the container is closed).
// In null mode it accepts connections until it is killed and, for each,
// reads and discards the master's output until it hangs up, so that one
// recvtty serves every container of a test. It prints nothing else; errors
// go to stderr with exit status 1.
//
// It implements the receive itself with golang.org/x/sys/unix, as any
// outside consumer must: libcontainer/internal is not importable from here.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	fs := flag.NewFlagSet("recvtty", flag.ContinueOnError)
	mode := fs.String("mode", "single", "`single` (proxy stdio to one pty) or null (discard the output of every pty)")
	pidFile := fs.String("pid-file", "", "write recvtty's pid to `FILE` once the socket listens")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: recvtty [--mode single|null] [--pid-file FILE] SOCKETPATH")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	if err := run(fs.Arg(0), *mode, *pidFile); err != nil {
		fmt.Fprintln(os.Stderr, "recvtty:", err)
		os.Exit(1)
	}
}

func run(path, mode, pidFile string) error {
	if mode != "single" && mode != "null" {
		return fmt.Errorf("--mode %q: want single or null", mode)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	defer l.Close()
	if pidFile != "" {
		if err := writePidFile(pidFile); err != nil {
			return err
		}
	}
	if mode == "null" {
		return serveNull(l)
	}
	return serveSingle(l)
}

// writePidFile writes this process's pid to path atomically, so that a
// reader never sees a partial file.
func writePidFile(path string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// serveSingle proxies stdio to the master received on the first
// connection until the master hangs up.
func serveSingle(l *net.UnixListener) error {
	conn, err := l.AcceptUnix()
	if err != nil {
		return err
	}
	l.Close()
	master, err := recvMaster(conn)
	conn.Close()
	if err != nil {
		return err
	}
	defer master.Close()
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	return copyUntilHangup(os.Stdout, master)
}

// serveNull drains the master of every connection until it is killed.
func serveNull(l *net.UnixListener) error {
	for {
		conn, err := l.AcceptUnix()
		if err != nil {
			return err
		}
		go func() {
			master, err := recvMaster(conn)
			conn.Close()
			if err != nil {
				fmt.Fprintln(os.Stderr, "recvtty:", err)
				return
			}
			defer master.Close()
			if err := copyUntilHangup(io.Discard, master); err != nil {
				fmt.Fprintln(os.Stderr, "recvtty:", err)
			}
		}()
	}
}

// copyUntilHangup copies master to w until the master hangs up, which a
// pty master reports as EIO.
func copyUntilHangup(w io.Writer, master *os.File) error {
	_, err := io.Copy(w, master)
	if errors.Is(err, unix.EIO) {
		return nil
	}
	return err
}

// recvMaster reads the one message that carries the master: its data is
// the master's name and its SCM_RIGHTS the master's descriptor.
func recvMaster(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("receive master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive master: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receive master: got %d descriptors, want 1", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
