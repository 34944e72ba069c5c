package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shop-serverless/shop/components/gofunc"
)

type answer struct {
	Pid   int       `json:"pid"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Env   string    `json:"env"`
}

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// probe builds testdata/probe as the functions are built.
func probe(t *testing.T) string {
	t.Helper()
	probeOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			probeErr = err
			return
		}
		dir, err := os.MkdirTemp("", "probe")
		if err != nil {
			probeErr = err
			return
		}
		probeBin = filepath.Join(dir, "bootstrap")
		probeErr = gofunc.CompileFor(runtime.GOARCH)(context.Background(), root, "functions/local/emulator/testdata/probe", probeBin)
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probeBin
}

func newPool(t *testing.T, cfg Config) (*Pool, *bytes.Buffer) {
	t.Helper()
	rie, err := EmulatorPath()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cfg.Name, cfg.Bootstrap, cfg.Emulator, cfg.MemoryMB, cfg.Log = "probe", probe(t), rie, 128, &logs
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	cfg.Env = map[string]string{"PROBE": "declared"}
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, &logs.buf
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func invoke(t *testing.T, p *Pool, ev string) (answer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := p.Invoke(ctx, []byte(ev))
	if err != nil {
		return answer{}, err
	}
	var a answer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return a, nil
}

func TestWarmEnvironmentIsReused(t *testing.T) {
	p, logs := newPool(t, Config{})
	first, err := invoke(t, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	second, err := invoke(t, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if first.Pid != second.Pid || p.Stats().Started != 1 {
		t.Errorf("second request ran in pid %d after %d, %d environments started", second.Pid, first.Pid, p.Stats().Started)
	}
	if first.Env != "declared" {
		t.Errorf("the function's environment did not reach it: PROBE=%q", first.Env)
	}
	for _, want := range []string{"[probe 1] START RequestId:", "[probe 1] END RequestId:", "[probe 1] REPORT RequestId:", "Init Duration:"} {
		if !bytes.Contains(logs.Bytes(), []byte(want)) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// A burst starts at most the concurrency limit, and each environment serves one request at
// a time.
func TestBurstStaysWithinConcurrencyOneRequestPerEnvironment(t *testing.T) {
	const limit, burst = 3, 9
	p, _ := newPool(t, Config{Concurrency: limit})
	answers := make([]answer, burst)
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() { answers[i], errs[i] = invoke(t, p, `{"sleepMs":200}`) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Started > limit || s.Started < 1 {
		t.Errorf("%d environments started for a limit of %d", s.Started, limit)
	}
	byPid := map[int][]answer{}
	for _, a := range answers {
		byPid[a.Pid] = append(byPid[a.Pid], a)
	}
	if len(byPid) > limit {
		t.Errorf("%d processes served the burst, limit %d", len(byPid), limit)
	}
	for pid, as := range byPid {
		for i, a := range as {
			for _, b := range as[i+1:] {
				if a.Start.Before(b.End) && b.Start.Before(a.End) {
					t.Errorf("pid %d served two requests at once: %v-%v and %v-%v", pid, a.Start, a.End, b.Start, b.End)
				}
			}
		}
	}
}

func TestTimedOutEnvironmentIsStoppedAndReplaced(t *testing.T) {
	p, _ := newPool(t, Config{Timeout: time.Second})
	warm, err := invoke(t, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, p, `{"sleepMs":5000}`); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a request past the timeout: %v, want ErrTimeout", err)
	}
	waitGone(t, warm.Pid)
	next, err := invoke(t, p, `{}`)
	if err != nil {
		t.Fatalf("the request after a timeout: %v", err)
	}
	if next.Pid == warm.Pid || p.Stats().Started != 2 {
		t.Errorf("after a timeout pid %d (was %d), %d started", next.Pid, warm.Pid, p.Stats().Started)
	}
}

func TestCrashedEnvironmentIsReplaced(t *testing.T) {
	p, _ := newPool(t, Config{})
	if _, err := invoke(t, p, `{"crash":true}`); !errors.Is(err, ErrFailed) {
		t.Fatalf("a crashing request: %v, want ErrFailed", err)
	}
	if _, err := invoke(t, p, `{}`); err != nil {
		t.Fatalf("the request after a crash: %v", err)
	}
	if s := p.Stats(); s.Started != 2 || s.Running != 1 {
		t.Errorf("after a crash: %+v, want 2 started, 1 running", s)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	p, _ := newPool(t, Config{Concurrency: 2})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := invoke(t, p, `{"sleepMs":300}`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	pids := p.Pids()
	if len(pids) < 2 {
		t.Fatalf("pids %v: want the emulators and their bootstraps", pids)
	}
	p.Close()
	for _, pid := range pids {
		waitGone(t, pid)
	}
}

// A test process that dies without cleaning up (a failed test's os.Exit, a panic) leaves no
// environment behind: the emulator is killed with it, and the bootstrap exits without it.
func TestNoProcessOutlivesADyingTest(t *testing.T) {
	if os.Getenv("EMULATOR_DYING_TEST") == "1" {
		p, _ := newPool(t, Config{})
		if _, err := invoke(t, p, `{}`); err != nil {
			t.Fatal(err)
		}
		fmt.Println(p.Pids())
		os.Exit(3)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoProcessOutlivesADyingTest$")
	cmd.Env = append(os.Environ(), "EMULATOR_DYING_TEST=1")
	out, _ := cmd.Output()
	var pids []int
	for _, f := range bytes.Fields(bytes.Trim(bytes.TrimSpace(out), "[]")) {
		var n int
		if _, err := fmt.Sscan(string(f), &n); err == nil {
			pids = append(pids, n)
		}
	}
	if len(pids) < 2 {
		t.Fatalf("the dying test printed %q: want its environment's pids", out)
	}
	for _, pid := range pids {
		waitGone(t, pid)
	}
}

// waitGone waits (generously: the machine is loaded) until pid no longer runs.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && bytes.Contains(b, []byte(") Z ")) {
			return // a zombie: exited, waiting for a parent that is gone to be reaped by init
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("process %d still runs", pid)
}

// Requests waiting at the concurrency limit get every environment freed, however the frees
// and the waiters' arrivals interleave: none stays idle while a request waits.
func TestEveryFreedEnvironmentReachesAWaiter(t *testing.T) {
	const envs, waiters, rounds = 4, 16, 20000
	p, err := NewPool(Config{Name: "fake", Bootstrap: "-", Emulator: "-", Timeout: time.Second, MemoryMB: 128, Concurrency: envs})
	if err != nil {
		t.Fatal(err)
	}
	held := make([]*environment, envs)
	for i := range held {
		held[i] = &environment{id: i + 1, cmd: &exec.Cmd{}, exited: make(chan struct{})}
	}
	// Stand-ins for processes: stopping one waits for nothing.
	stopped := slices.Clone(held)
	defer func() {
		for _, e := range stopped {
			close(e.exited)
		}
		p.Close()
	}()
	p.running, p.started = envs, envs // every environment is busy, with the test
	for round := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan *environment, waiters)
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() {
				if e, err := p.acquire(ctx); err == nil {
					got <- e
				}
			})
		}
		for _, e := range held {
			go p.release(e)
		}
		held = held[:0]
		for len(held) < envs {
			select {
			case e := <-got:
				held = append(held, e)
			case <-time.After(10 * time.Second):
				cancel()
				wg.Wait()
				t.Fatalf("round %d: %d of %d freed environments reached the waiting requests; %d left idle", round, len(held), envs, p.Stats().Idle)
			}
		}
		cancel()
		wg.Wait()
	}
}

// Provisioned environments are all started before the requests, and a burst as wide as them
// is served by each of them, without a cold start.
func TestProvisionedEnvironmentsServeTheBurst(t *testing.T) {
	const envs = 3
	p, _ := newPool(t, Config{Concurrency: envs})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Provision(ctx, envs+2); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s != (Stats{Started: envs, Running: envs, Idle: envs}) {
		t.Fatalf("after provisioning %d past the limit of %d: %+v", envs+2, envs, s)
	}
	var wg sync.WaitGroup
	for range envs {
		wg.Go(func() {
			if _, err := invoke(t, p, `{"sleepMs":300}`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	served := p.Served()
	if s := p.Stats(); s.Started != envs || len(served) != envs {
		t.Errorf("the burst: %+v, served by %v; want the %d provisioned environments, one request each", s, served, envs)
	}
	for id, n := range served {
		if n != 1 {
			t.Errorf("environment %d served %d requests, want 1", id, n)
		}
	}
}

// TestEnvironmentThatExitsBeforeListeningIsStartedAgain: an emulator that exits at once (as
// it does when its port was taken after FreePort chose it) is started again on other ports.
func TestEnvironmentThatExitsBeforeListeningIsStartedAgain(t *testing.T) {
	rie, err := EmulatorPath()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	attempts := filepath.Join(dir, "attempts")
	// The first start fails as a bind failure does; the next one is the real emulator.
	wrapper := filepath.Join(dir, "rie")
	script := fmt.Sprintf("#!/bin/sh\necho x >> %q\nif [ $(wc -l < %q) -lt 2 ]; then echo 'listen tcp: bind: address already in use' >&2; exit 1; fi\nexec %q \"$@\"\n", attempts, attempts, rie)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	p, err := NewPool(Config{Name: "probe", Bootstrap: probe(t), Emulator: wrapper, MemoryMB: 128, Log: &logs,
		Timeout: 10 * time.Second, Concurrency: 1, Env: map[string]string{"PROBE": "declared"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if _, err := p.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatalf("invoke after a failed start: %v", err)
	}
	b, err := os.ReadFile(attempts)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("x")); n != 2 {
		t.Fatalf("the emulator was started %d times, want 2", n)
	}
}
