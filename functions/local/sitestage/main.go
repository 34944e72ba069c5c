// Command sitestage starts a seeded local stage and the storefront (storefront/dist, or
// $SITE_DIR) on free loopback ports for the storefront's browser tests. It prints one JSON
// line, {"site": "<storefront URL>", "api": "<API URL>", "s3": "<S3 endpoint>"}, and runs
// until its standard input closes or it is interrupted, then stops every server it started.
//
// Every request the browser sends to the API and every answer it gets is validated against
// the API's OpenAPI document; the command exits 1 naming each disagreement, so the browser
// tests fail on drift as the Go suites do.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shop-serverless/shop/functions/local/contract"
	"github.com/shop-serverless/shop/functions/local/site"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sitestage:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir := os.Getenv("SITE_DIR")
	if dir == "" {
		dir = "storefront/dist"
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	validator, err := contract.New(startCtx, manifest.OpenAPI)
	if err != nil {
		return err
	}
	opts := stage.Options{Seed: true, SeedImages: true, Logger: log, Middleware: validator.Wrap(nil)}
	st, err := site.StartStage(startCtx, site.StageOptions{Stage: opts, Dir: dir})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"site": st.SiteURL, "api": st.URL, "s3": st.S3URL()}); err != nil {
		return err
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	drift := validator.Drift()
	for _, d := range drift {
		fmt.Fprintln(os.Stderr, "contract drift:", d)
	}
	if len(drift) > 0 {
		return fmt.Errorf("%d exchanges disagreed with the API's OpenAPI document (functions/manifest/openapi.json)", len(drift))
	}
	return nil
}
