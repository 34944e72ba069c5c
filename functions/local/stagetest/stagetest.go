// Package stagetest runs a test package against one local stage on real servers: TestMain
// starts it, the tests share it, and it stops when the tests end, pass or fail.
package stagetest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
)

// Main starts a stage with opts, stores it in *st, runs the tests and stops the stage.
// Use it as: func TestMain(m *testing.M) { os.Exit(stagetest.Main(m, stage.Options{Seed: true}, &st)) }
func Main(m *testing.M, opts stage.Options, st **stage.Stage) int {
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
	return m.Run()
}
