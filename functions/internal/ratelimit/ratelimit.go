// Package ratelimit enforces the per-user limits of the signed-in routes that name one
// (manifest.Route.Limit): each user's requests to a limit's routes are counted in Redis with
// go-redis/redis_rate (GCRA: one script, one round trip, works on a cluster), and a user
// over their rate is answered 429 rate_limited with Retry-After before the handler runs.
// Other users are not affected: every user has a key of their own.
//
// Redis unreachable lets requests through (logged once per cooldown, as the other Redis
// paths do): the limits protect the shop from one account's flood, and an outage of the
// cache must not lock every shopper out.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/breaker"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Limiter counts users' requests against the limits of one function's routes.
type Limiter struct {
	rl      *redis_rate.Limiter
	limits  map[string]redis_rate.Limit
	breaker *breaker.Breaker
}

// New returns a limiter over rdb (the function's limiter user's connection) with the
// limits by name (manifest.ParseUserLimits).
func New(rdb redis.UniversalClient, limits map[string]manifest.UserLimit) *Limiter {
	l := &Limiter{rl: redis_rate.NewLimiter(rdb), limits: map[string]redis_rate.Limit{},
		breaker: breaker.New(breaker.Options{Logger: api.Logger,
			Message: "rate limiter unreachable: requests are let through without per-user limits"})}
	for name, u := range limits {
		l.limits[name] = redis_rate.Limit{Rate: u.PerMinute, Burst: u.Burst, Period: time.Minute}
	}
	return l
}

// Wrap returns router with every route that names a limit behind it. Routes not in the
// route table or without a limit are left as they are.
func (l *Limiter) Wrap(router api.Router) (api.Router, error) {
	out := api.Router{}
	for key, h := range router {
		out[key] = h
		i := routeIndex(key)
		if i < 0 || manifest.All[i].Limit == "" {
			continue
		}
		r := manifest.All[i]
		limit, ok := l.limits[r.Limit]
		if !ok {
			return nil, fmt.Errorf("rate limits: %s names limit %q, which %s does not set", key, r.Limit, manifest.EnvUserLimits)
		}
		out[key] = l.limited(r.Function, r.Limit, limit, h)
	}
	return out, nil
}

func routeIndex(key string) int {
	for i, r := range manifest.All {
		if r.Key() == key {
			return i
		}
	}
	return -1
}

// limited is h behind the user's allowance on the routes of the limit name.
func (l *Limiter) limited(function, name string, limit redis_rate.Limit, h api.Handler) api.Handler {
	return func(ctx context.Context, req api.Request) (api.Response, error) {
		caller, err := api.CallerOf(req)
		if err != nil {
			return h(ctx, req) // the handler answers 401: nobody to count
		}
		if l.breaker.Allow() != nil {
			return h(ctx, req)
		}
		res, err := l.rl.Allow(ctx, manifest.LimiterKey(function, name, caller.UserID), limit)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				l.breaker.Fail(ctx, "rate limit "+name, err)
			}
			return h(ctx, req)
		}
		if res.Allowed == 0 {
			api.Logger(ctx).InfoContext(ctx, "request over the user's rate", "limit", name, "retryAfter", res.RetryAfter.String())
			return api.Response{}, Refusal(res.RetryAfter)
		}
		return h(ctx, req)
	}
}

// Refusal is the contract's answer to a user over their rate: 429 rate_limited, with
// Retry-After the whole seconds until the next request would be allowed (at least 1).
func Refusal(retryAfter time.Duration) error {
	secs := max(1, int(math.Ceil(retryAfter.Seconds())))
	return &api.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: secs,
		Message: fmt.Sprintf("too many requests from this account; retry after %d s", secs)}
}

// Limited is the function build behind its per-user limits, as its main serves it: the
// limits its environment sets (manifest.EnvUserLimits), counted on its limiter user's
// connection.
func Limited(build func(context.Context, *clients.Clients) (api.Router, error)) func(context.Context, *clients.Clients) (api.Router, error) {
	return func(ctx context.Context, c *clients.Clients) (api.Router, error) {
		router, err := build(ctx, c)
		if err != nil {
			return nil, err
		}
		return Apply(c, os.Getenv(manifest.EnvUserLimits), router)
	}
}

// Apply puts router behind limits (manifest.EnvUserLimits' value), counted on c's limiter
// connection; router as it is when c has none.
func Apply(c *clients.Clients, limits string, router api.Router) (api.Router, error) {
	rdb, err := redisclient.LimiterOf(c)
	if err != nil {
		return nil, err
	}
	return Limit(rdb, limits, router)
}

// Limit puts router's limited routes behind a limiter over rdb (the function's limiter
// connection) with the limits of manifest.EnvUserLimits' value; nil rdb: the function
// limits nothing, and router is returned as it is.
func Limit(rdb redis.UniversalClient, limits string, router api.Router) (api.Router, error) {
	if rdb == nil {
		return router, nil
	}
	parsed, err := manifest.ParseUserLimits(limits)
	if err != nil {
		return nil, err
	}
	return New(rdb, parsed).Wrap(router)
}
