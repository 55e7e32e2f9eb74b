package libcontainer

import (
	"fmt"
	"io"
	"os"

	"github.com/berthrt/berth/libcontainer/internal/terminal"
)

// Console is the caller's side of a foreground process's terminal: it
// receives the pty master that the container sends to the process's
// ConsoleSocket and wires it to the caller's own terminal, in raw mode,
// following the caller's window size (SIGWINCH).
type Console struct {
	master *os.File
	proxy  *terminal.Proxy
}

// NewConsole receives the pty master from sock, the other end of a
// socketpair whose first end was the Process's ConsoleSocket, once the
// process has started, and proxies it to in and out. When in is a terminal
// it is put in raw mode until Close.
func NewConsole(sock *os.File, in *os.File, out io.Writer) (*Console, error) {
	master, err := terminal.RecvFd(sock)
	if err != nil {
		return nil, fmt.Errorf("receive the pty master: %w", err)
	}
	p, err := terminal.NewProxy(master, in, out)
	if err != nil {
		master.Close()
		return nil, err
	}
	return &Console{master: master, proxy: p}, nil
}

// Wait waits until the container side of the terminal is closed by its
// last holder and everything it wrote has been copied out.
func (c *Console) Wait() { c.proxy.Wait() }

// Close restores the caller's terminal and closes the master.
func (c *Console) Close() error {
	err := c.proxy.Close()
	c.master.Close()
	return err
}
