package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Errors of an invocation.
var (
	// ErrTimeout: the function ran past its timeout; its environment was stopped.
	ErrTimeout = errors.New("the function timed out")
	// ErrFailed: the function crashed or returned an error; a crashed environment was
	// stopped and the next request starts a new one.
	ErrFailed = errors.New("the function failed")
	// ErrThrottled: every environment is busy and the concurrency limit is reached, and
	// none became free before the request's context ended.
	ErrThrottled = errors.New("the function's concurrency limit is reached")
	// ErrClosed: the pool is stopped.
	ErrClosed = errors.New("the pool is stopped")

	errTimeout  = fmt.Errorf("%w", ErrTimeout)
	errCrashed  = fmt.Errorf("environment crashed: %w", ErrFailed)
	errFunction = fmt.Errorf("function error: %w", ErrFailed)
)

// Config is one function as Lambda runs it.
type Config struct {
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME, and the logs' prefix).
	Name string
	// Bootstrap is the function's binary (Build).
	Bootstrap string
	// Emulator is the aws-lambda-rie binary (EmulatorPath).
	Emulator string
	// Env is the function's environment, as the program sets it on the Lambda.
	Env map[string]string
	// Timeout and MemoryMB are the function's settings (AWS_LAMBDA_FUNCTION_TIMEOUT and
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
	Timeout  time.Duration
	MemoryMB int
	// Concurrency is the most environments that run at once; 0: DefaultConcurrency.
	Concurrency int
	// IdleTimeout is how long an idle environment is kept; 0: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Log receives every environment's output, each line prefixed "[name n] "; nil: stderr.
	Log io.Writer
}

// Defaults where a Config sets none.
const (
	DefaultConcurrency = 10
	DefaultIdleTimeout = 5 * time.Minute
)

// environ is the process environment of one environment: only the function's variables and
// those Lambda sets, nothing of the parent's (the emulator forwards its own to the function).
func (c Config) environ() []string {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        c.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(c.Timeout / time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.Name,
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	maps.Copy(env, c.Env)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Stats count a pool's environments.
type Stats struct {
	// Started is how many environments were started (cold starts).
	Started int
	// Running is how many run now, Idle how many of those wait for a request.
	Running, Idle int
}

// Pool runs one function's environments.
type Pool struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	idle    []*idleEnv
	running int
	started int
	// served counts the invocations sent to each environment, by its number.
	served map[int]int
	closed bool
	// freed is signalled (without blocking) when an environment becomes idle or stops.
	freed chan struct{}
	stop  chan struct{}
	done  sync.WaitGroup
}

type idleEnv struct {
	env   *environment
	since time.Time
}

// NewPool returns the pool of cfg's function; it starts no environment until a request
// needs one.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.Name == "" || cfg.Bootstrap == "" || cfg.Emulator == "" || cfg.Timeout <= 0 || cfg.MemoryMB <= 0 {
		return nil, fmt.Errorf("emulator: function %q needs a name, bootstrap, emulator, timeout and memory size", cfg.Name)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	p := &Pool{cfg: cfg, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		served: map[int]int{}, freed: make(chan struct{}, 1), stop: make(chan struct{})}
	p.done.Add(1)
	go p.reapIdle()
	return p, nil
}

// Invoke sends event to an idle environment, starting one when none is idle and the
// concurrency limit allows, else waiting for one to become free, and returns the
// function's answer.
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	env, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	out, err := env.invoke(ctx, p.client, p.cfg.Timeout, event)
	p.mu.Lock()
	p.served[env.id]++
	p.mu.Unlock()
	switch {
	case errors.Is(err, ErrTimeout), errors.Is(err, errCrashed), !env.alive():
		// Lambda replaces an environment that timed out or crashed.
		p.discard(env)
	default:
		p.release(env)
	}
	return out, err
}

func (p *Pool) acquire(ctx context.Context) (*environment, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		for len(p.idle) > 0 {
			// The most recently used first, as Lambda keeps the warmest environments busy.
			e := p.idle[len(p.idle)-1].env
			p.idle = p.idle[:len(p.idle)-1]
			if e.alive() {
				more := len(p.idle) > 0
				p.mu.Unlock()
				if more {
					// Pass it on: of frees that came together only one signal may have been
					// kept, and another request may be waiting for the next idle one.
					p.signal()
				}
				return e, nil
			}
			p.running--
		}
		if p.running < p.cfg.Concurrency {
			id := p.reserve()
			p.mu.Unlock()
			return p.start(ctx, id)
		}
		p.mu.Unlock()
		select {
		case <-p.freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %v", ErrThrottled, ctx.Err())
		case <-p.stop:
			return nil, ErrClosed
		}
	}
}

// reserve counts a new environment as running and returns its number; p.mu is held.
func (p *Pool) reserve() int {
	p.running++
	p.started++
	return p.started
}

// start starts the environment reserve numbered id, giving its place back if it fails.
func (p *Pool) start(ctx context.Context, id int) (*environment, error) {
	e, err := startEnvironment(ctx, p.cfg, id)
	if err != nil {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
		p.signal()
		return nil, err
	}
	return e, nil
}

func (p *Pool) release(e *environment) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		e.stop()
		return
	}
	p.idle = append(p.idle, &idleEnv{env: e, since: time.Now()})
	p.mu.Unlock()
	p.signal()
}

func (p *Pool) discard(e *environment) {
	e.stop()
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	p.signal()
}

func (p *Pool) signal() {
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// reapIdle stops environments idle for longer than the idle timeout.
func (p *Pool) reapIdle() {
	defer p.done.Done()
	t := time.NewTicker(min(p.cfg.IdleTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		var stale []*environment
		kept := p.idle[:0]
		for _, ie := range p.idle {
			if time.Since(ie.since) > p.cfg.IdleTimeout {
				stale = append(stale, ie.env)
				p.running--
			} else {
				kept = append(kept, ie)
			}
		}
		p.idle = kept
		p.mu.Unlock()
		for _, e := range stale {
			e.stop()
		}
	}
}

// Provision starts environments until n run (at most the concurrency limit) and leaves the
// new ones idle, as provisioned concurrency has environments initialised before the requests
// that need them arrive.
func (p *Pool) Provision(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if p.running >= min(n, p.cfg.Concurrency) {
			p.mu.Unlock()
			return nil
		}
		id := p.reserve()
		p.mu.Unlock()
		e, err := p.start(ctx, id)
		if err != nil {
			return err
		}
		p.release(e)
	}
}

// Served counts the invocations sent to each environment (failed ones too), by the
// environment's number (the n of its log prefix), stopped environments included.
func (p *Pool) Served() map[int]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.served)
}

// Concurrency is the most environments the pool runs at once.
func (p *Pool) Concurrency() int { return p.cfg.Concurrency }

// Name is the function's name.
func (p *Pool) Name() string { return p.cfg.Name }

// Stats returns the pool's counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Started: p.started, Running: p.running, Idle: len(p.idle)}
}

// Close stops every idle environment and each busy one as its request ends; it waits for
// the idle ones.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	close(p.stop)
	for _, ie := range idle {
		ie.env.stop()
	}
	p.done.Wait()
	p.client.CloseIdleConnections()
}

// isFunctionError says whether a payload is Lambda's answer for a handler that returned an
// error or panicked: {"errorMessage": ..., "errorType": ...}.
func isFunctionError(body []byte) bool {
	var e struct {
		ErrorType    *string `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	return json.Unmarshal(body, &e) == nil && e.ErrorType != nil && e.ErrorMessage != nil
}

// Pids are the process ids of the pool's idle environments (emulators and bootstraps).
func (p *Pool) Pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, ie := range p.idle {
		out = append(out, ie.env.Pids()...)
	}
	return out
}
