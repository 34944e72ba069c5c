package breaker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/breaker"
)

// A Breaker plugs in wherever go-redis takes a Limiter.
var _ redis.Limiter = (*breaker.Breaker)(nil)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestBreakerOpensForTheCooldown(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	b := breaker.New(breaker.Options{Cooldown: time.Minute, Now: clk.Now})
	if err := b.Allow(); err != nil {
		t.Fatalf("a new breaker: %v, want closed", err)
	}
	b.ReportResult(nil)
	if err := b.Allow(); err != nil {
		t.Fatalf("after a success: %v, want closed", err)
	}
	b.ReportResult(errors.New("dial tcp: connection refused"))
	if err := b.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("after an error: %v, want ErrOpen", err)
	}
	clk.Add(time.Minute - time.Millisecond)
	if err := b.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("within the cooldown: %v, want ErrOpen", err)
	}
	clk.Add(time.Millisecond)
	if err := b.Allow(); err != nil {
		t.Fatalf("after the cooldown: %v, want closed", err)
	}
}

func TestBreakerIgnoresTheCallersCancellation(t *testing.T) {
	b := breaker.New(breaker.Options{Cooldown: time.Minute})
	b.ReportResult(fmt.Errorf("get: %w", context.Canceled))
	if err := b.Allow(); err != nil {
		t.Fatalf("after a cancellation: %v, want closed", err)
	}
}

func TestFailLogsAndOpensUnlessTheRequestEnded(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	b := breaker.New(breaker.Options{Cooldown: time.Minute, Message: "cache unavailable",
		Logger: func(context.Context) *slog.Logger { return logger }})

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	b.Fail(ended, "get", errors.New("i/o timeout"))
	if err := b.Allow(); err != nil || logs.Len() != 0 {
		t.Fatalf("an ended request opened the breaker (%v) or logged %q", err, logs.String())
	}

	b.Fail(context.Background(), "get", errors.New("i/o timeout"))
	if err := b.Allow(); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("after Fail: %v, want ErrOpen", err)
	}
	for _, want := range []string{`"level":"WARN"`, `"msg":"cache unavailable"`, `"op":"get"`, `"err":"i/o timeout"`, `"retryIn":"1m0s"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %s", logs.String(), want)
		}
	}
}
