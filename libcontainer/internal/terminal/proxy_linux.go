package terminal

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// Proxy connects a container's pty master to the caller's terminal for a
// foreground process (berth run or exec with a terminal and no console
// socket): the caller's input goes to the master, the master's output to
// the caller, and the caller's window size follows to the master.
type Proxy struct {
	master *os.File
	in     *os.File
	// saved is in's termios before raw mode; nil when in is not a tty.
	saved *unix.Termios
	winch chan os.Signal
	// stop ends the window size forwarding; resized closes when it has.
	stop    chan struct{}
	resized chan struct{}
	// outDone closes when the copy from the master ends.
	outDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewProxy starts proxying between master and the caller's in and out. If
// in is a terminal it is put in raw mode (cfmakeraw(3)) and its window size
// is copied to master now and on every SIGWINCH; otherwise (a pipe, a file)
// it is only copied. in may be nil (no input). Proxy never closes master,
// in or out: the caller does, after Close.
//
// The copy from in runs until in reaches EOF or fails; a read of in that
// blocks (a terminal with no input) outlives Close, as in runc, and ends
// when in is closed or the process exits.
func NewProxy(master *os.File, in *os.File, out io.Writer) (*Proxy, error) {
	p := &Proxy{
		master:  master,
		in:      in,
		stop:    make(chan struct{}),
		resized: make(chan struct{}),
		outDone: make(chan struct{}),
	}
	if in != nil {
		var tios *unix.Termios
		err := control(in, func(fd int) (err error) {
			tios, err = unix.IoctlGetTermios(fd, unix.TCGETS)
			return err
		})
		if err == nil {
			if err := p.makeRaw(tios); err != nil {
				return nil, err
			}
			p.saved = tios
		}
	}
	if p.saved != nil {
		p.resize()
		p.winch = make(chan os.Signal, 1)
		signal.Notify(p.winch, unix.SIGWINCH)
		go p.forwardResize()
	} else {
		close(p.resized)
	}
	go func() {
		defer close(p.outDone)
		// The master reads EIO once every slave descriptor is closed: that
		// is the container's hang-up, the normal end.
		_, _ = io.Copy(out, master)
	}()
	if in != nil {
		go func() { _, _ = io.Copy(master, in) }()
	}
	return p, nil
}

// makeRaw sets in to raw mode, starting from its current termios tios
// (which it does not change).
func (p *Proxy) makeRaw(tios *unix.Termios) error {
	raw := *tios
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	err := control(p.in, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, &raw) })
	if err != nil {
		return fmt.Errorf("make %s raw: %w", p.in.Name(), err)
	}
	return nil
}

// forwardResize copies the window size on every SIGWINCH until Close.
func (p *Proxy) forwardResize() {
	defer close(p.resized)
	for {
		select {
		case <-p.stop:
			return
		case <-p.winch:
			p.resize()
		}
	}
}

// resize copies in's window size to the master. Errors are dropped: a
// terminal that cannot report its size leaves the container's as it is.
func (p *Proxy) resize() {
	var ws *unix.Winsize
	err := control(p.in, func(fd int) (err error) {
		ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err
	})
	if err != nil {
		return
	}
	_ = control(p.master, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

// Wait waits until the copy from the master ends: the container's last
// holder of the slave closed it (EIO), or the master was closed.
func (p *Proxy) Wait() {
	<-p.outDone
}

// Close stops the window size forwarding and restores the caller's terminal
// to the mode it had before NewProxy. It does not close any file. It may be
// called more than once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		if p.winch != nil {
			signal.Stop(p.winch)
		}
		close(p.stop)
		<-p.resized
		if p.saved == nil {
			return
		}
		err := control(p.in, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, p.saved) })
		if err != nil {
			p.closeErr = fmt.Errorf("restore terminal %s: %w", p.in.Name(), err)
		}
	})
	return p.closeErr
}

// control runs fn on f's descriptor without taking f out of Go's poller
// (as f.Fd would).
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}
