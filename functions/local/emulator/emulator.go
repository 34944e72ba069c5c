// Package emulator runs functions as Lambda does, locally: each function's deployment binary
// (its bootstrap, built as the program builds it for the cloud, for the local architecture)
// in environments, each one process of AWS's Runtime Interface Emulator (aws-lambda-rie) on
// its own loopback ports. A Pool applies Lambda's scaling rules to one function's
// environments: one request at a time per environment, a cold start when none is idle, up
// to the function's concurrency limit, warm reuse, idle environments stopped, a crashed or
// timed-out one replaced.
package emulator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/local/servers"
)

// EmulatorEnv names the variable that may point at the aws-lambda-rie binary; unset: the
// one the Makefile installs into .tools/bin.
const EmulatorEnv = "SHOP_LAMBDA_RIE"

// EmulatorPath finds the aws-lambda-rie binary: $SHOP_LAMBDA_RIE, else the one the Makefile
// installs into the tools directory's bin.
func EmulatorPath() (string, error) {
	if p := os.Getenv(EmulatorEnv); p != "" {
		return p, nil
	}
	dir, err := servers.ToolsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("aws-lambda-rie not found at %s: run `make tools` or set %s", p, EmulatorEnv)
	}
	return p, nil
}

// Build compiles functions/<name> into dir/<name>/bootstrap exactly as the program builds it
// for Lambda (gofunc.BuildFlags, no cgo), for the local architecture, and returns its path.
func Build(ctx context.Context, dir, name string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name, "bootstrap")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	if err := gofunc.CompileFor(runtime.GOARCH)(ctx, root, filepath.Join("functions", name), out); err != nil {
		return "", err
	}
	return out, nil
}

func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return gofunc.FindModuleRoot(wd)
}
