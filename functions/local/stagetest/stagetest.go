// Package stagetest runs a test package against one local stage on real servers: TestMain
// starts it, the tests share it, and it stops when the tests end, pass or fail.
package stagetest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Main starts a stage with opts, stores it in *st, runs the tests and stops the stage.
// Use it as: func TestMain(m *testing.M) { os.Exit(stagetest.Main(m, stage.Options{Seed: true}, &st)) }
//
// The run also fails when the stage refused a function a request its grants in
// functions/manifest lack (it would be AccessDenied in the cloud) or a cache command its
// Redis user lacks.
func Main(m *testing.M, opts stage.Options, st **stage.Stage) int {
	return run(m, opts, st, false)
}

// MainCheckingGrants is Main for the suite that exercises every function: when every test
// ran (no -run or -skip), it also fails when a declared grant was never used by any
// request, a grant nobody needs.
func MainCheckingGrants(m *testing.M, opts stage.Options, st **stage.Stage) int {
	return run(m, opts, st, true)
}

func run(m *testing.M, opts stage.Options, st **stage.Stage, unused bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := stage.Start(ctx, opts)
	if err != nil {
		// No skipping: a missing server is a failure, with the reason.
		fmt.Fprintln(os.Stderr, "local stage did not start:", err)
		return 1
	}
	defer s.Close()
	*st = s
	code := m.Run()
	if code != 0 {
		return code
	}
	var problems []string
	for _, d := range s.Access().Denied() {
		problems = append(problems, "refused (not granted): "+d)
	}
	if unused && allTestsRan() {
		for _, u := range s.Access().Unused(manifest.Functions) {
			problems = append(problems, "granted but never used by a test: "+u)
		}
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the functions' grants in functions/manifest and what their code does disagree")
		return 1
	}
	return 0
}

// allTestsRan reports whether no -run or -skip filter chose a part of the tests.
func allTestsRan() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}
