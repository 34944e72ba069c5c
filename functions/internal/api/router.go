package api

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Handler serves one route. Errors it returns are answered by Fail, so a handler returns
// domain errors and never builds an error response itself.
type Handler func(ctx context.Context, req Request) (Response, error)

// Router dispatches a function's requests by API Gateway route key ("GET /products/{productId}").
type Router map[string]Handler

// Handle is the Lambda entry point: it adds the request logger to ctx, dispatches, maps errors
// to the contract's body and turns a panic into a 500. It never returns an error to Lambda,
// which API Gateway would answer with its own body.
func (rt Router) Handle(ctx context.Context, req Request) (resp Response, _ error) {
	log := slog.Default().With("requestId", req.RequestContext.RequestID, "route", req.RouteKey)
	ctx = WithLogger(ctx, log)
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = errorResponse(errInternal)
		}
	}()
	h, ok := rt[req.RouteKey]
	if !ok {
		return errorResponse(errNoRoute), nil
	}
	resp, err := h(ctx, req)
	if err != nil {
		return Fail(ctx, err), nil
	}
	return resp, nil
}

// Fail answers err with the contract's error body; unexpected errors are logged and become a
// 500 whose body says nothing of the cause.
func Fail(ctx context.Context, err error) Response {
	e, ok := asError(err)
	if !ok {
		Logger(ctx).ErrorContext(ctx, "request failed", "err", err)
	}
	return errorResponse(e)
}

type loggerKey struct{}

// WithLogger returns ctx carrying log.
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// Logger returns the request's logger (it carries the request id), or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
