package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// runtimeAPI is the least of the Lambda Runtime API a function needs to reach its first
// request for work: it records when /runtime/invocation/next is first called and holds that
// call open, as Lambda does while no event is waiting.
type runtimeAPI struct {
	addr  string
	srv   *http.Server
	ready chan time.Time
}

func startRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	api := &runtimeAPI{addr: ln.Addr().String(), ready: make(chan time.Time, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case api.ready <- time.Now():
		default:
		}
		<-r.Context().Done()
	})
	api.srv = &http.Server{Handler: mux}
	go func() { _ = api.srv.Serve(ln) }()
	return api, nil
}

func (a *runtimeAPI) close() { _ = a.srv.Close() }

// initTimes starts bin n times with env and returns, for each start, the time from exec to
// its first request for work.
func initTimes(ctx context.Context, bin string, env map[string]string, n int) ([]time.Duration, error) {
	api, err := startRuntimeAPI()
	if err != nil {
		return nil, err
	}
	defer api.close()
	var out []time.Duration
	for range n {
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = []string{
			"AWS_LAMBDA_RUNTIME_API=" + api.addr,
			"AWS_LAMBDA_FUNCTION_NAME=" + filepath.Base(filepath.Dir(bin)),
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
			"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
			"_HANDLER=bootstrap",
			"LOG_LEVEL=error",
		}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		select {
		case at := <-api.ready:
			out = append(out, at.Sub(start))
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s never asked for work", bin)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return out, nil
}

// runColdStart builds every function (as for Lambda, but for this machine's architecture)
// and the hello-world reference, and times their starts.
func runColdStart(ctx context.Context, st *stage.Stage, starts int, rep *Report) error {
	dir, err := os.MkdirTemp("", "shop-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hello, err := buildLocal(ctx, "functions/local/bench/hello", filepath.Join(dir, "hello"))
	if err != nil {
		return err
	}
	rep.ColdStart = map[string]ColdStart{}
	for _, fn := range manifest.Functions {
		bin, err := buildLocal(ctx, "functions/"+fn.Name, filepath.Join(dir, fn.Name))
		if err != nil {
			return err
		}
		// The reference is timed right beside each function, so drift in the machine's load
		// touches both alike.
		helloTimes, err := initTimes(ctx, hello, nil, starts)
		if err != nil {
			return err
		}
		times, err := initTimes(ctx, bin, st.EnvVars(fn), starts)
		if err != nil {
			return err
		}
		rep.ColdStart[fn.Name] = ColdStart{InitP50Ms: quantileMs(times, 0.5), HelloInitP50Ms: quantileMs(helloTimes, 0.5)}
	}
	return nil
}
