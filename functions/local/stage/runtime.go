package stage

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/shop-serverless/shop/functions/local/emulator"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Runtime is how the stage runs its functions.
type Runtime string

const (
	// Lambda runs each function's deployment binary (its bootstrap, built as the program
	// builds it for the cloud) in environments of AWS's Runtime Interface Emulator, one
	// request at a time each, with the environment the program sets on the Lambda: what
	// ships, as Lambda runs it. `make dev` and the stage's end-to-end suites use it.
	Lambda Runtime = "lambda"
	// InProcess calls each function's handler inside the stage's process, one instance
	// per function standing in for every environment: fast to start, for tests of the
	// stores and for the benchmarks that compare designs rather than runtimes.
	InProcess Runtime = "inprocess"
)

// RuntimeEnv names the variable that chooses the runtime when Options.Runtime is empty.
const RuntimeEnv = "SHOP_RUNTIME"

// RuntimeFromEnv is the runtime $SHOP_RUNTIME names; unset: Lambda.
func RuntimeFromEnv() (Runtime, error) {
	switch r := Runtime(os.Getenv(RuntimeEnv)); r {
	case "":
		return Lambda, nil
	case Lambda, InProcess:
		return r, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", RuntimeEnv, r, Lambda, InProcess)
	}
}

// localConcurrency is the most environments a function without reserved concurrency runs
// at once locally: the account's limit (1,000) would be more processes than the machine has
// room for, and a dozen already shows each environment serving one request at a time.
const localConcurrency = emulator.DefaultConcurrency

// stackName is the stack whose configuration (Pulumi.dev.yaml) sizes and configures the
// local stage's functions.
const stackName = "dev"

// project is the Pulumi project's name, the first part of every physical name.
const project = "shop"

// lambdaFunctions are the functions that run in environments in Lambda mode: every HTTP
// function, and those the stage invokes for events.
func lambdaFunctions() []manifest.Function {
	var out []manifest.Function
	for _, fn := range manifest.Functions {
		if _, ok := httpFunctions[fn.Name]; ok || fn.Name == manifest.ImageCheck || fn.StreamOf != nil {
			out = append(out, fn)
		}
	}
	return out
}

// buildBootstraps compiles every function Lambda mode runs into dir, as the program builds
// them for the cloud, two at a time (the linker is the slow part and the machine has two
// cores); it returns each binary's path by function name.
func buildBootstraps(ctx context.Context, dir string) (map[string]string, error) {
	fns := lambdaFunctions()
	paths := make([]string, len(fns))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for i, fn := range fns {
		g.Go(func() error {
			p, err := emulator.Build(ctx, dir, fn.Name)
			if err != nil {
				return fmt.Errorf("build %s: %w", fn.Name, err)
			}
			paths[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, fn := range fns {
		out[fn.Name] = paths[i]
	}
	return out, nil
}

// newPool returns the environments of fn with the environment env, sized as the dev stack
// sizes fn: its memory, timeout and reserved concurrency (else localConcurrency).
func (s *Stage) newPool(fn manifest.Function, env map[string]string) (*emulator.Pool, error) {
	bin, ok := s.bootstraps[fn.Name]
	if !ok {
		return nil, fmt.Errorf("function %s has no bootstrap", fn.Name)
	}
	sizes := s.stack.Functions.SizesFor(fn.Name)
	concurrency := sizes.ReservedConcurrency
	if concurrency <= 0 {
		concurrency = localConcurrency
	}
	p, err := emulator.NewPool(emulator.Config{
		Name: fn.Name, Bootstrap: bin, Emulator: s.emulator, Env: env,
		Timeout: time.Duration(sizes.TimeoutSeconds) * time.Second, MemoryMB: sizes.MemoryMB,
		Concurrency: concurrency, Log: s.opts.FunctionLog,
	})
	if err != nil {
		return nil, err
	}
	s.pools = append(s.pools, p)
	return p, nil
}

// Environments counts each function's environments (Lambda mode; empty in-process).
func (s *Stage) Environments() map[string]emulator.Stats {
	out := map[string]emulator.Stats{}
	for _, p := range s.pools {
		st := p.Stats()
		prev := out[p.Name()]
		out[p.Name()] = emulator.Stats{Started: prev.Started + st.Started, Running: prev.Running + st.Running, Idle: prev.Idle + st.Idle}
	}
	return out
}

// Pool is the environments of the HTTP function name behind the stage's own gateway (URL),
// for benchmarks that provision them or count which served a burst; nil in-process.
func (s *Stage) Pool(name string) *emulator.Pool { return s.gatewayPools[name] }

// Runtime is how the stage runs its functions.
func (s *Stage) Runtime() Runtime { return s.runtime }

// DrainCacheRefusals moves the commands the functions' Redis users were refused from the
// server's ACL log into the stage's refusals (Access().Denied()). In Lambda mode the
// functions' clients live in other processes, so the log is where refusals show; in-process
// a hook on each client records them as they happen and the log is left alone.
func (s *Stage) DrainCacheRefusals(ctx context.Context) error {
	if s.runtime != Lambda {
		return nil
	}
	s.aclMu.Lock()
	defer s.aclMu.Unlock()
	entries, err := s.Admin.Redis.ACLLog(ctx, 128).Result()
	if err != nil {
		return fmt.Errorf("ACL LOG: %w", err)
	}
	if err := s.Admin.Redis.ACLLogReset(ctx).Err(); err != nil {
		return fmt.Errorf("ACL LOG RESET: %w", err)
	}
	slices.Reverse(entries) // oldest first
	for _, e := range entries {
		if e.Reason == "auth" {
			continue // a failed login is no refused command
		}
		for range max(e.Count, 1) {
			s.guard.NoteCacheRefusal(e.Username, fmt.Sprintf("%s refused (%s %s, in %s)", e.Object, e.Reason, e.Object, e.Context))
		}
	}
	return nil
}

// ForgetCacheRefusals records the refusals so far, runs f, then forgets those f caused:
// for tests that are refused on purpose.
func (s *Stage) ForgetCacheRefusals(ctx context.Context, f func()) error {
	if err := s.DrainCacheRefusals(ctx); err != nil {
		return err
	}
	f()
	if s.runtime != Lambda {
		return nil
	}
	s.aclMu.Lock()
	defer s.aclMu.Unlock()
	return s.Admin.Redis.ACLLogReset(ctx).Err()
}

// lambdaState is the stage's Lambda mode.
type lambdaState struct {
	runtime    Runtime
	emulator   string
	bootstraps map[string]string
	buildDir   string
	pools      []*emulator.Pool
	// gatewayPools are the environments behind the stage's own gateway, by function.
	gatewayPools map[string]*emulator.Pool
	// aclMu makes draining the ACL log one step.
	aclMu *sync.Mutex
	stack stackSettings
	// mappings are the stream mappings by function; stopStreams stops them.
	mappings    map[string]*streamMapping
	stopStreams []context.CancelFunc
	streamsDone *sync.WaitGroup
}

func (l *lambdaState) closePools() {
	l.stopStreamMappings()
	var wg sync.WaitGroup
	for _, p := range l.pools {
		wg.Go(p.Close)
	}
	wg.Wait()
	l.pools, l.gatewayPools = nil, nil
	if l.buildDir != "" {
		_ = os.RemoveAll(l.buildDir)
	}
}

// lambdaEnv is fn's environment in Lambda mode: the variables the program sets on its
// Lambda (manifest.Environment, the dev stack's settings), only the endpoints and
// credentials pointing at the local servers. No local sizing: each environment is a
// process of its own serving one request at a time, as in the cloud.
func (s *Stage) lambdaEnv(fn manifest.Function) map[string]string {
	links := s.links()
	verifiers := s.originVerifiers()
	links.OriginVerifiers = &verifiers
	env := manifest.Environment(fn, links)
	maps.Copy(env, s.awsEnv(fn))
	return env
}

// LambdaFunctions names the functions that run in environments in Lambda mode.
func (s *Stage) LambdaFunctions() []string {
	var out []string
	for _, fn := range lambdaFunctions() {
		out = append(out, fn.Name)
	}
	return out
}
