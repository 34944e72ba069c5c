// Package contract checks the local stage's HTTP traffic against the API's OpenAPI document
// (functions/manifest/openapi.json) with kin-openapi's openapi3filter: every request a test
// sends and every answer it gets. Drift between the code and the document is recorded with
// the route, the status and the field, and the end-to-end suites fail on it.
package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-json-experiment/json"
)

// Validator validates requests and answers against one OpenAPI document and remembers what
// disagreed and which documented answers it saw.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	drift  []string
	seen   map[string]bool
}

// New loads and validates an OpenAPI document.
func New(ctx context.Context, document []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	// The document names the stage's default address; a test stage listens anywhere.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &Validator{doc: doc, router: router, seen: map[string]bool{}}, nil
}

// Middleware validates each request next serves, and its answer; local-only endpoints
// (/_local/...) and CORS preflights are not part of the API and pass unchecked.
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_local/") || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read the request", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, vals := range rec.Header() {
			w.Header()[k] = vals
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())

		check := r.Clone(r.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))
		if problem := v.check(check, body, rec); problem != "" {
			v.mu.Lock()
			v.drift = append(v.drift, problem)
			v.mu.Unlock()
		}
	})
}

// Wrap returns a middleware that validates around inner's (nil: none): what the
// validator sees is what the stage's client sees.
func (v *Validator) Wrap(inner func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		if inner != nil {
			h = inner(h)
		}
		return v.Middleware(h)
	}
}

// check returns what disagrees with the document in one exchange, or "".
func (v *Validator) check(r *http.Request, body []byte, rec *httptest.ResponseRecorder) string {
	ctx := r.Context()
	exchange := fmt.Sprintf("%s %s -> %d", r.Method, r.URL.RequestURI(), rec.Code)
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		if rec.Code == http.StatusNotFound && bytes.Equal(bytes.TrimSpace(rec.Body.Bytes()), []byte(`{"message":"Not Found"}`)) {
			return "" // API Gateway's answer to a path and method of no route.
		}
		return fmt.Sprintf("%s: the document has no operation for this request (%v), but it was answered %s", exchange, err, trim(rec.Body.Bytes()))
	}
	key := r.Method + " " + route.Path
	exchange = fmt.Sprintf("%s (%s) -> %d", r.URL.RequestURI(), key, rec.Code)
	// The request is checked as sent: no defaults filled in.
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerPresent, SkipSettingDefaults: true}}
	reqErr := strictness(r, body)
	if reqErr == nil {
		reqErr = openapi3filter.ValidateRequest(ctx, in)
	}
	resp := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	resp.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, resp); err != nil {
		return fmt.Sprintf("%s: the answer breaks the document: %s; body %s", exchange, describe(err), trim(rec.Body.Bytes()))
	}
	v.mu.Lock()
	v.seen[key+" "+strconv.Itoa(rec.Code)] = true
	v.mu.Unlock()
	switch {
	case reqErr != nil && (rec.Code < 400 || rec.Code >= 500):
		return fmt.Sprintf("%s: the document refuses this request (%s), but it was answered %d", exchange, describe(reqErr), rec.Code)
	case reqErr == nil && rec.Code == http.StatusBadRequest && !schemaCannotSay(rec.Body.Bytes()):
		return fmt.Sprintf("%s: the document allows this request, but it was refused: %s", exchange, trim(rec.Body.Bytes()))
	}
	return ""
}

// refusalsBeyondSchemas are the contract's 400s that JSON Schema cannot say, by the words of
// the functions' messages: a request the document allows may still get one of these.
var refusalsBeyondSchemas = []string{
	"cursor is not valid for this list", // a cursor is opaque: only its own list can read it
	"is listed twice",                   // an order's products are distinct
	"image must be standard base64",     // the image's encoding
}

func schemaCannotSay(answer []byte) bool {
	return slices.ContainsFunc(refusalsBeyondSchemas, func(m string) bool { return bytes.Contains(answer, []byte(m)) })
}

// strictness is what the contract refuses in a request that JSON Schema cannot say: a query
// string with a bad escape, and a JSON body with a duplicate member name or invalid UTF-8.
func strictness(r *http.Request, body []byte) error {
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		return fmt.Errorf("query string: %w", err)
	}
	if len(body) > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("body: %w", err)
		}
	}
	return nil
}

// bearerPresent passes a request that carries a bearer token: the gateway verifies it, the
// document only says one is needed.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// Drift returns every exchange that disagreed with the document, in the order they happened.
func (v *Validator) Drift() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.drift)
}

// Unseen returns the documented answers ("GET /cart 401") of the given statuses that no
// exchange produced, sorted.
func (v *Validator) Unseen(statuses ...string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				key := method + " " + path + " " + status
				if slices.Contains(statuses, status) && !v.seen[key] {
					out = append(out, key)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// describe flattens kin-openapi's errors into one line that names the field, without the
// schema they quote.
func describe(err error) string {
	var multi openapi3.MultiError
	if errors.As(err, &multi) {
		parts := make([]string, 0, len(multi))
		for _, e := range multi {
			parts = append(parts, describe(e))
		}
		return strings.Join(parts, "; ")
	}
	var (
		schema *openapi3.SchemaError
		req    *openapi3filter.RequestError
		resp   *openapi3filter.ResponseError
	)
	switch {
	case errors.As(err, &resp) && resp.Err != nil:
		return resp.Reason + ": " + describe(resp.Err)
	case errors.As(err, &req) && req.Err != nil:
		where := "request body"
		if req.Parameter != nil {
			where = req.Parameter.In + " parameter " + req.Parameter.Name
		}
		return where + ": " + describe(req.Err)
	case errors.As(err, &schema):
		return fmt.Sprintf("field %q: %s", "/"+strings.Join(schema.JSONPointer(), "/"), schema.Reason)
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

func trim(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
