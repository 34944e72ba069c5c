package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shop-serverless/shop/functions/local/emulator"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// The emulator's two reports of a cold start. Its REPORT line's "Init Duration" is the time
// the emulator took to hand the init to its runtime API, which starts the bootstrap
// asynchronously (rie/handlers.go: InitHandler returns before the runtime asks for work), so
// it is about 0.1 ms whatever the function does. Its "INIT REPORT" line (logged at info
// level) is the init phase as Lambda bills it: from starting the bootstrap until the
// bootstrap asks for its first event, which is what the targets compare.
var (
	initReportPattern   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reportedInitPattern = regexp.MustCompile(`^REPORT RequestId: \S+\s+Init Duration: ([0-9.]+) ms`)
)

// coldStart is one cold start under the emulator.
type coldStart struct {
	// init is the emulator's INIT REPORT duration; reported its REPORT line's Init Duration.
	init, reported time.Duration
}

// startCold starts a new emulator environment running bin with env, invokes it once with
// event and returns what the emulator reported of its init.
func startCold(ctx context.Context, rie, name, bin string, env map[string]string, event []byte) (coldStart, error) {
	ports, err := freeAddrs(2)
	if err != nil {
		return coldStart{}, err
	}
	cmd := exec.CommandContext(ctx, rie, "--log-level", "info",
		"--runtime-interface-emulator-address", ports[0], "--runtime-api-address", ports[1], bin)
	vars := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "10",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	maps.Copy(vars, env)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	// Its own process group, so the bootstrap the emulator starts goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return coldStart{}, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return coldStart{}, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	if err := waitListening(ctx, ports[0]); err != nil {
		return coldStart{}, fmt.Errorf("%s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ports[0]+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		return coldStart{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return coldStart{}, fmt.Errorf("%s: invoke: %w", name, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var cs coldStart
	var seen []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return coldStart{}, fmt.Errorf("%s: the emulator exited without a REPORT line: %q", name, seen)
			}
			seen = append(seen, line)
			if strings.Contains(line, "INIT RTDONE") && !strings.Contains(line, "status: success") {
				return coldStart{}, fmt.Errorf("%s: init failed: %q", name, seen)
			}
			if m := initReportPattern.FindStringSubmatch(line); m != nil && cs.init == 0 {
				cs.init, err = msDuration(m[1])
			}
			if m := reportedInitPattern.FindStringSubmatch(line); m != nil {
				if cs.reported, err = msDuration(m[1]); err == nil && cs.init == 0 {
					err = errors.New("no INIT REPORT line before the REPORT line")
				}
				if err != nil {
					return coldStart{}, fmt.Errorf("%s: %w: %q", name, err, seen)
				}
				return cs, nil
			}
		case <-timeout:
			return coldStart{}, fmt.Errorf("%s: no REPORT line within 10s: %q", name, seen)
		case <-ctx.Done():
			return coldStart{}, ctx.Err()
		}
	}
}

// freeAddrs returns n distinct free loopback addresses: the listeners are held until all are
// chosen, so the kernel cannot hand out one port twice.
func freeAddrs(n int) ([]string, error) {
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out, nil
}

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return errors.New("the emulator did not listen within 10s")
}

func msDuration(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond)), err
}

// coldStartEvent is what each cold start is invoked with: an empty batch for the functions
// an event source feeds, a request for no route for the API's, without the edge's header
// (refused 403 by the origin check, touching no store). The init it measures happens before the event arrives.
var coldStartEvent = []byte(`{"Records":[],"version":"2.0","routeKey":"GET /_coldstart","rawPath":"/_coldstart","requestContext":{"http":{"method":"GET","path":"/_coldstart"}}}`)

// runColdStart builds every function and the hello-world reference as the program builds
// them (gofunc's flags and tags, the local architecture), and starts each starts times under
// the emulator, with the environment the stage gives it in Lambda mode (an API function's
// holds the origin secret's verifiers, as in the cloud), alternating
// with the hello-world so drift in the machine's load touches both alike.
func runColdStart(ctx context.Context, st *stage.Stage, starts int, rep *Report) error {
	rie, err := emulator.EmulatorPath()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "shop-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hello, err := buildBootstrap(ctx, "functions/local/bench/hello", filepath.Join(dir, "hello"))
	if err != nil {
		return err
	}
	rep.ColdStart = map[string]ColdStart{}
	for _, fn := range manifest.Functions {
		bin, err := buildBootstrap(ctx, "functions/"+fn.Name, filepath.Join(dir, fn.Name))
		if err != nil {
			return err
		}
		env := st.LambdaEnvVars(fn)
		var fnStarts, helloStarts []coldStart
		for range starts {
			h, err := startCold(ctx, rie, "hello", hello, nil, coldStartEvent)
			if err != nil {
				return err
			}
			f, err := startCold(ctx, rie, fn.Name, bin, env, coldStartEvent)
			if err != nil {
				return err
			}
			helloStarts, fnStarts = append(helloStarts, h), append(fnStarts, f)
		}
		rep.ColdStart[fn.Name] = ColdStart{
			Starts:                 starts,
			InitP50Ms:              quantileMs(inits(fnStarts, false), 0.5),
			HelloInitP50Ms:         quantileMs(inits(helloStarts, false), 0.5),
			ReportedInitP50Ms:      quantileMs(inits(fnStarts, true), 0.5),
			HelloReportedInitP50Ms: quantileMs(inits(helloStarts, true), 0.5),
		}
	}
	return nil
}

func inits(cs []coldStart, reported bool) []time.Duration {
	out := make([]time.Duration, len(cs))
	for i, c := range cs {
		out[i] = c.init
		if reported {
			out[i] = c.reported
		}
	}
	return out
}

// buildBootstrap builds pkgDir into dir/bootstrap, as a Lambda deployment package names it.
func buildBootstrap(ctx context.Context, pkgDir, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return buildLocal(ctx, pkgDir, filepath.Join(dir, "bootstrap"))
}
