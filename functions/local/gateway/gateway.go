// Package gateway is the local stage's stand-in for API Gateway's HTTP API. It serves the
// shared route table, builds the payload-2.0 event of each request exactly as API Gateway
// does, verifies bearer tokens on protected routes as the JWT authorizer does, calls the
// function's handler in process and writes the response back.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Handler is a function's entry point as Lambda calls it.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Limits API Gateway applies before a function sees a request.
const (
	maxPayload         = 10 << 20
	integrationTimeout = 30 * time.Second
)

// Gateway is an http.Handler.
type Gateway struct {
	routes table
	// api is the route table it serves; CORS allows exactly its methods.
	api    []manifest.Route
	issuer *Issuer
	log    *slog.Logger
	// cors is nil until AllowOrigins: no browser origin may call.
	cors *cors
}

// New returns a gateway serving rts with the handlers of functions (by function name),
// verifying tokens with issuer.
func New(rts []manifest.Route, functions map[string]Handler, issuer *Issuer, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{issuer: issuer, log: log, api: rts}
	for _, rt := range rts {
		h, ok := functions[rt.Function]
		if !ok {
			return nil, fmt.Errorf("route %s: no handler for function %q", rt.Key(), rt.Function)
		}
		if err := g.routes.add(rt.Key(), g.route(rt, h)); err != nil {
			return nil, fmt.Errorf("route %s: %w", rt.Key(), err)
		}
	}
	return g, nil
}

// Handle adds a local-only endpoint, such as the token issuer; the cloud has none of them.
// pattern is "METHOD /path/{name}", and a last segment "{name...}" takes the rest of the path.
func (g *Gateway) Handle(pattern string, h http.Handler) error { return g.routes.add(pattern, h) }

// ServeHTTP implements http.Handler. It routes on the method and the path as sent (see
// match.go); API Gateway answers every unmatched method and path alike.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if g.cors == nil || !g.cors.handle(rec, r) {
		g.dispatch(rec, r)
	}
	g.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"ms", float64(time.Since(start).Microseconds())/1000, "requestId", rec.Header().Get("Apigw-Requestid"))
}

func (g *Gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeResponse(w, api.Fail(r.Context(), api.Invalid("the request path is not a valid URL path")))
		return
	}
	h, values := g.routes.lookup(r.Method, segs)
	if h == nil {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	for name, v := range values {
		r.SetPathValue(name, v)
	}
	h.ServeHTTP(w, r)
}

func (g *Gateway) route(rt manifest.Route, h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := newRequestID()
		w.Header().Set("Apigw-Requestid", requestID)
		var claims map[string]string
		if rt.Auth != manifest.Public {
			c, err := g.authorize(r)
			if err != nil {
				g.log.Info("token refused", "route", rt.Key(), "err", err, "requestId", requestID)
				w.Header().Set("Www-Authenticate", `Bearer error="invalid_token"`)
				// The contract's error body; API Gateway's own authorizer answers
				// {"message":"Unauthorized"}, with the same status.
				writeResponse(w, api.Fail(r.Context(), api.ErrUnauthorized))
				return
			}
			claims = c
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		if err != nil {
			writeResponse(w, api.Fail(r.Context(), api.TooLarge("the request body is over API Gateway's 10 MB")))
			return
		}
		ev := Event(r, rt, body, claims, requestID, time.Now())
		resp, err := invoke(r.Context(), h, ev)
		if err != nil {
			g.log.Error("function failed", "route", rt.Key(), "err", err, "requestId", requestID)
			if errors.Is(err, context.DeadlineExceeded) {
				writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
				return
			}
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		writeResponse(w, resp)
	})
}

// invoke calls the handler as Lambda would: with a deadline, and a panic is a failed invocation.
func invoke(ctx context.Context, h Handler, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), integrationTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("function panicked: %v", p)
		}
	}()
	return h(ctx, ev)
}

func (g *Gateway) authorize(r *http.Request) (map[string]string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errors.New("no bearer token")
	}
	claims, err := g.issuer.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return FlattenClaims(claims), nil
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vals := range resp.MultiValueHeaders {
		for _, v := range vals {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = b
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeMessage answers as API Gateway itself does, with {"message": "..."}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return strings.TrimRight(base64.StdEncoding.EncodeToString(b), "=")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
