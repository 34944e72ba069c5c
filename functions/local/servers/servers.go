// Package servers starts the real local servers the shop runs on without AWS: redis-server,
// DynamoDB Local and s3rver, each on a free loopback port. It waits until each answers and
// stops everything it started, also when the caller dies (the children get SIGKILL with their
// parent through Pdeathsig).
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one server the package started.
type Process struct {
	Name string
	// Addr is "127.0.0.1:<port>".
	Addr string
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{}
	err  error
	once sync.Once
}

// URL is the server's base URL for HTTP servers.
func (p *Process) URL() string { return "http://" + p.Addr }

func (p *Process) Port() int {
	_, port, _ := net.SplitHostPort(p.Addr)
	n, _ := strconv.Atoi(port)
	return n
}

// Stop ends the process (SIGTERM, then SIGKILL after a grace period) and waits for it.
func (p *Process) Stop() {
	p.once.Do(func() {
		if p.cmd.Process == nil {
			return
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// start runs argv in its own process group with its output kept for error messages.
func start(name, addr string, argv []string, dir string) (*Process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	buf := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = buf, buf
	// Own process group: Stop signals the server and anything it spawned. Pdeathsig: the
	// server dies with us, so a failed test or a killed `make dev` leaves no stray process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Addr: addr, cmd: cmd, log: buf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startTimeout bounds how long a server may take to answer after it started (DynamoDB
// Local's JVM gets three): generous, because the machines are shared and DynamoDB Local
// took over a minute under a load of 30; a server that exits is reported at once.
const startTimeout = time.Minute

// waitReady polls ready until it succeeds, the process exits or the deadline passes.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", p.Name, p.err, p.log)
		case <-ctx.Done():
			p.Stop()
			return fmt.Errorf("%s not ready after %s: %v; its output:\n%s", p.Name, timeout, last, p.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startOnFreePort runs start with a free loopback port, and again with another when the
// server could not bind it: between FreePort closing its listener and the server binding,
// another process may take the port (a server of a test running in parallel, or the
// ephemeral port of any outgoing connection).
func startOnFreePort(start func(port int) (*Process, error)) (*Process, error) {
	const attempts = 5
	for i := 1; ; i++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		p, err := start(port)
		if err == nil || i == attempts || !portTaken(err) {
			return p, err
		}
	}
}

// portTaken reports whether a server failed to start because its port was in use, by the
// words redis-server, Java and Node use.
func portTaken(err error) bool {
	return strings.Contains(err.Error(), "Address already in use") || strings.Contains(err.Error(), "EADDRINUSE")
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// ToolsDir is where the Makefile installs the npm packages: $SHOP_TOOLS_DIR, or .tools at the
// module root (found by walking up from the working directory to go.mod).
func ToolsDir() (string, error) {
	if d := os.Getenv("SHOP_TOOLS_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".tools"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; set SHOP_TOOLS_DIR")
		}
		dir = parent
	}
}

func needFile(path, hint string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s is missing: %s", path, hint)
	}
	return nil
}

func needCommand(name, hint string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH: %s", name, hint)
	}
	return p, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
