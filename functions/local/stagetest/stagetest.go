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

	"github.com/shop-serverless/shop/functions/local/contract"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Main starts a stage with opts, stores it in *st, runs the tests and stops the stage.
// Use it as: func TestMain(m *testing.M) { os.Exit(stagetest.Main(m, stage.Options{Seed: true}, &st)) }
//
// Every request the tests send and every answer they get is validated against the API's
// OpenAPI document (functions/manifest/openapi.json), and the run fails on any disagreement,
// naming the route, the status and the field. It also fails when the stage refused a function a request its grants in
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
	validator, err := contract.New(ctx, manifest.OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts.Middleware = validator.Wrap(opts.Middleware)
	// The functions' environments write to a file of the test's; its path is printed when
	// the run fails.
	logFile, err := os.CreateTemp("", "shop-functions-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	if opts.FunctionLog == nil {
		opts.FunctionLog = logFile
	}
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
		fmt.Fprintln(os.Stderr, "the functions' environments logged to", logFile.Name())
	} else {
		defer os.Remove(logFile.Name())
	}
	// Drift is reported even when a test failed: it often says why.
	var problems []string
	for _, d := range validator.Drift() {
		problems = append(problems, "contract drift: "+d)
	}
	if code != 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, p)
		}
		return code
	}
	if err := s.DrainCacheRefusals(context.Background()); err != nil {
		problems = append(problems, err.Error())
	}
	for _, d := range s.Access().Denied() {
		problems = append(problems, "refused (not granted): "+d)
	}
	if unused && allTestsRan() {
		for _, u := range s.Access().Unused(manifest.Functions) {
			problems = append(problems, "granted but never used by a test: "+u)
		}
		for _, u := range validator.Unseen(documentedAnswers...) {
			problems = append(problems, "documented but never answered in a test: "+u)
		}
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the API's OpenAPI document, the functions' grants in functions/manifest and what the code does disagree")
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

// documentedAnswers are the statuses every route's document must be proven on by the suite
// that exercises every function: an answer the document promises and no test provokes may
// not exist.
var documentedAnswers = []string{"200", "201", "204", "400", "401", "403", "404", "409", "413", "415", "422", "503"}
