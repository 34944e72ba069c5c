package emulator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shop-serverless/shop/functions/local/servers"
)

// invokePath is the emulator's invoke endpoint (Lambda's Invoke API).
const invokePath = "/2015-03-31/functions/function/invocations"

// timedOutPrefix starts the emulator's answer to an invocation that exceeded the timeout.
var timedOutPrefix = []byte("Task timed out after")

// environment is one running emulator process with the function's bootstrap inside.
type environment struct {
	id      int
	url     string
	cmd     *exec.Cmd
	exited  chan struct{}
	logDone sync.WaitGroup
}

// errExitedEarly: the emulator exited before it listened, as it does when a port it was
// given was taken between servers.FreePort and its bind (other tests share the machine).
var errExitedEarly = errors.New("the emulator exited before it listened")

// startEnvironment starts an emulator on free loopback ports running cfg's bootstrap, and
// waits until it accepts invocations; an emulator that exits before it listens is started
// again on other ports, twice at the most.
func startEnvironment(ctx context.Context, cfg Config, id int) (*environment, error) {
	for attempt := 1; ; attempt++ {
		env, err := tryEnvironment(ctx, cfg, id)
		if errors.Is(err, errExitedEarly) && attempt < 3 && ctx.Err() == nil {
			continue
		}
		return env, err
	}
}

func tryEnvironment(ctx context.Context, cfg Config, id int) (*environment, error) {
	rieAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Emulator,
		"--log-level", "error",
		"--runtime-interface-emulator-address", rieAddr,
		"--runtime-api-address", apiAddr,
		cfg.Bootstrap)
	cmd.Env = cfg.environ()
	// Its own process group, so stopping it stops the bootstrap too; and killed with the
	// process that started it, so no environment outlives a test that fails or panics.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	env := &environment{id: id, url: "http://" + rieAddr + invokePath, cmd: cmd, exited: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s environment %d: %w", cfg.Name, id, err)
	}
	prefix := fmt.Sprintf("[%s %d] ", cfg.Name, id)
	for _, r := range []io.Reader{stdout, stderr} {
		env.logDone.Add(1)
		go func() {
			defer env.logDone.Done()
			copyLines(cfg.Log, prefix, r)
		}()
	}
	go func() {
		env.logDone.Wait()
		_ = cmd.Wait()
		close(env.exited)
	}()
	if err := env.waitReady(ctx, rieAddr); err != nil {
		env.stop()
		return nil, fmt.Errorf("%s environment %d: %w", cfg.Name, id, err)
	}
	return env, nil
}

func (e *environment) waitReady(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.exited:
			return errExitedEarly
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("the emulator did not listen within 30s")
}

// invoke sends one event and returns the function's answer. errTimeout: the function ran past
// its timeout; errCrashed: the environment died or answered no result.
func (e *environment) invoke(ctx context.Context, client *http.Client, timeout time.Duration, event []byte) ([]byte, error) {
	// The emulator enforces the timeout itself; the grace covers its report and a hung process.
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, errTimeout
		}
		return nil, fmt.Errorf("%w: %v", errCrashed, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCrashed, err)
	}
	switch {
	case bytes.HasPrefix(body, timedOutPrefix):
		return nil, errTimeout
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: status %d: %s", errCrashed, resp.StatusCode, body)
	case isFunctionError(body):
		return nil, fmt.Errorf("%w: %s", errFunction, body)
	}
	return body, nil
}

// stop kills the environment: the emulator's process group and the bootstrap's, which the
// emulator starts in a group of its own; then it waits for the emulator.
func (e *environment) stop() {
	if e.cmd.Process != nil {
		for _, pid := range e.Pids()[1:] {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-e.exited
}

// Pids are the emulator's process id and those of its children (the bootstrap).
func (e *environment) Pids() []int {
	pid := e.cmd.Process.Pid
	out := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func (e *environment) alive() bool {
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

func copyLines(w io.Writer, prefix string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fmt.Fprintf(w, "%s%s\n", prefix, sc.Bytes())
	}
	_, _ = io.Copy(io.Discard, r)
}

func freeAddr() (string, error) {
	port, err := servers.FreePort()
	return "127.0.0.1:" + strconv.Itoa(port), err
}
