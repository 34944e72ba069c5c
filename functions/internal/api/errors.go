// Package api holds the shop's HTTP conventions for Lambda handlers (payload format 2.0):
// the contract's error body and codes, JSON in and out, path and list parameters, the caller
// from the JWT authorizer's claims, and the per-request logger. Domain errors become status
// codes here, in one place.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Error is an answer the contract defines: an HTTP status, a code and a human message.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the Retry-After header in seconds (503 and 429).
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Sentinel domain errors; wrap them with %w and Fail answers with their status and code.
var (
	ErrNotFound          = errors.New("not found")
	ErrOutOfStock        = errors.New("out of stock")
	ErrConflict          = errors.New("conflict")
	ErrIdempotencyReused = errors.New("idempotency key reused with another request")
	ErrUnavailable       = errors.New("temporarily unavailable")
)

var sentinels = []struct {
	err    error
	status int
	code   string
}{
	{ErrNotFound, http.StatusNotFound, "not_found"},
	{ErrOutOfStock, http.StatusConflict, "out_of_stock"},
	{ErrConflict, http.StatusConflict, "conflict"},
	{ErrIdempotencyReused, http.StatusUnprocessableEntity, "idempotency_key_reused"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
}

// Invalid is a 400 invalid_request with a formatted message.
func Invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Message: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 not_found with a formatted message.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422 unprocessable with a formatted message.
func Unprocessable(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "unprocessable", Message: fmt.Sprintf(format, args...)}
}

// Errors with fixed messages.
var (
	ErrUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid bearer token is required"}
	ErrForbidden    = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this route is for admins"}
	ErrTooLarge     = &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Message: "the request body is too large"}
	ErrMediaType    = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json"}
	errInternal     = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong; try again"}
	errNoRoute      = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route"}
)

// asError finds the contract's answer for err; ok is false for unexpected errors (a 500).
func asError(err error) (e *Error, ok bool) {
	if errors.As(err, &e) {
		return e, true
	}
	// The request's time ran out while the handler waited (its own backoff or pause; an SDK
	// call that runs out says ErrUnavailable itself): nothing was decided, so a retry is safe.
	if errors.Is(err, context.DeadlineExceeded) {
		err = ErrUnavailable
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			e := &Error{Status: s.status, Code: s.code, Message: s.err.Error()}
			if s.status == http.StatusServiceUnavailable {
				e.RetryAfter = 1
			}
			return e, true
		}
	}
	return errInternal, false
}
