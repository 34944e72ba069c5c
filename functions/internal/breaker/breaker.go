// Package breaker keeps a failing dependency out of the request path for a moment: after an
// error, callers skip the dependency for a cooldown instead of each waiting out its timeout.
// A Breaker has the shape of go-redis's Limiter (Allow before a call, ReportResult after).
package breaker

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// ErrOpen is what Allow returns while the breaker skips the dependency.
var ErrOpen = errors.New("breaker: open")

// Options tunes a Breaker; zero fields take the defaults.
type Options struct {
	// Cooldown is how long the dependency is skipped after an error. Default 1 s.
	Cooldown time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger returns the logger for ctx; default slog.Default.
	Logger func(context.Context) *slog.Logger
	// Message is the warning Fail logs, saying what callers do instead.
	Message string
}

// Breaker is safe for concurrent use.
type Breaker struct {
	opt       Options
	openUntil atomic.Int64 // unix nanos; calls skip the dependency before then
}

// New returns a closed breaker.
func New(opt Options) *Breaker {
	if opt.Cooldown <= 0 {
		opt.Cooldown = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = func(context.Context) *slog.Logger { return slog.Default() }
	}
	return &Breaker{opt: opt}
}

// Allow returns nil when a call may go to the dependency, ErrOpen during a cooldown.
func (b *Breaker) Allow() error {
	if b.opt.Now().UnixNano() < b.openUntil.Load() {
		return ErrOpen
	}
	return nil
}

// ReportResult records the result of a call: an error opens the breaker for the cooldown,
// except a cancellation, which is the caller's doing and not the dependency's.
func (b *Breaker) ReportResult(result error) { b.open(result) }

// open opens the breaker for result and reports whether it did.
func (b *Breaker) open(result error) bool {
	if result == nil || errors.Is(result, context.Canceled) {
		return false
	}
	b.openUntil.Store(b.opt.Now().Add(b.opt.Cooldown).UnixNano())
	return true
}

// Fail reports the error of the call op and logs the warning, unless ctx has ended: a
// request that ran out of time says nothing about the dependency.
func (b *Breaker) Fail(ctx context.Context, op string, err error) {
	if ctx.Err() != nil || !b.open(err) {
		return
	}
	b.opt.Logger(ctx).WarnContext(ctx, b.opt.Message, "op", op, "err", err, "retryIn", b.opt.Cooldown.String())
}
