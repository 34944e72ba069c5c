package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/local/ssmlocal"
)

const (
	parameter = "/shop-test/origin-secret"
	secret    = "s3cret-from-ssm"
	region    = "eu-west-1"
)

// endpoint serves the local stage's SSM endpoint, where AKIDREADER may read the parameters
// and AKIDOTHER may not; before, when set, sees each call first and may answer it itself.
func endpoint(t *testing.T, before func(w http.ResponseWriter, r *http.Request) bool) (string, *atomic.Int64) {
	t.Helper()
	ssm := &ssmlocal.Server{
		Region: region, Account: "123456789012",
		Secrets: map[string]string{"AKIDREADER": "reader-secret", "AKIDOTHER": "other-secret"},
		Readers: map[string][]string{"AKIDREADER": {parameter, "/shop-test/empty", "/shop-test/missing"}},
		Parameters: []ssmlocal.Parameter{
			{Name: parameter, Version: 3, Value: secret},
			{Name: "/shop-test/empty", Version: 1, Value: ""},
		},
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if before != nil && before(w, r) {
			return
		}
		ssm.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// config signs as key, retrying up to 3 times with a short backoff.
func config(key, secretKey string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secretKey, "session-token"),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

func TestLoadReadsTheDecryptedParameter(t *testing.T) {
	url, calls := endpoint(t, nil)
	for _, name := range []string{parameter, parameter + ":3"} {
		check, err := Load(context.Background(), config("AKIDREADER", "reader-secret"), url, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !check.Allows(api.Request{Headers: map[string]string{"x-shop-origin-verify": secret}}) {
			t.Errorf("%s: the parameter's decrypted value is not the one checked", name)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls for 2 reads", n)
	}
}

// Every refusal fails the start with SSM's code, at once (no retry), and no error holds
// the secret.
func TestLoadRefusals(t *testing.T) {
	cases := []struct {
		name, key, secretKey, parameter, code string
	}{
		{"parameter missing", "AKIDREADER", "reader-secret", "/shop-test/missing", "ParameterNotFound"},
		{"version missing", "AKIDREADER", "reader-secret", parameter + ":4", "ParameterNotFound"},
		{"access denied", "AKIDOTHER", "other-secret", parameter, "AccessDeniedException"},
		{"no grant on the name", "AKIDREADER", "reader-secret", "/shop-test/other", "AccessDeniedException"},
		{"unknown key", "AKIDNOBODY", "reader-secret", parameter, "UnrecognizedClientException"},
		{"wrong secret key", "AKIDREADER", "other-secret", parameter, "InvalidSignatureException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url, calls := endpoint(t, nil)
			_, err := Load(context.Background(), config(c.key, c.secretKey), url, c.parameter)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code {
				t.Fatalf("error %v, want SSM's %s", err, c.code)
			}
			if !strings.Contains(err.Error(), c.parameter) {
				t.Errorf("error %q does not name the parameter", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds the secret", err)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls: a refusal is not retried", n)
			}
		})
	}
}

func TestLoadRefusesAnEmptyValue(t *testing.T) {
	url, _ := endpoint(t, nil)
	if _, err := Load(context.Background(), config("AKIDREADER", "reader-secret"), url, "/shop-test/empty"); err == nil {
		t.Fatal("an empty parameter must fail the start")
	}
}

// Throttling and SSM's 5xx are retried by the retryer, and the read then succeeds; a
// failure that outlasts its attempts fails the start.
func TestLoadRetriesTransientErrors(t *testing.T) {
	throttle := func(n int64) func(w http.ResponseWriter, r *http.Request) bool {
		var seen atomic.Int64
		return func(w http.ResponseWriter, r *http.Request) bool {
			if seen.Add(1) > n {
				return false
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Rate exceeded"}`))
			return true
		}
	}
	url, calls := endpoint(t, throttle(2))
	if _, err := Load(context.Background(), config("AKIDREADER", "reader-secret"), url, parameter); err != nil {
		t.Fatalf("after 2 throttled calls: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}

	url, calls = endpoint(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.ssm#InternalServerError","message":"try again"}`))
		return true
	})
	_, err := Load(context.Background(), config("AKIDREADER", "reader-secret"), url, parameter)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalServerError" {
		t.Fatalf("error %v, want InternalServerError", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want the retryer's 3 attempts", n)
	}
}

// An attempt that hangs is abandoned after attemptTimeout and retried.
func TestLoadRetriesAHungAttempt(t *testing.T) {
	var seen atomic.Int64
	url, calls := endpoint(t, func(w http.ResponseWriter, r *http.Request) bool {
		if seen.Add(1) == 1 {
			_, _ = io.Copy(io.Discard, r.Body) // so the server sees the client go
			select {
			case <-r.Context().Done():
			case <-time.After(3 * attemptTimeout):
			}
			return true
		}
		return false
	})
	t0 := time.Now()
	if _, err := Load(context.Background(), config("AKIDREADER", "reader-secret"), url, parameter); err != nil {
		t.Fatalf("after a hung attempt: %v", err)
	}
	if n, took := calls.Load(), time.Since(t0); n != 2 || took > 2*attemptTimeout {
		t.Errorf("%d calls in %v, want 2 within %v", n, took, 2*attemptTimeout)
	}
}

func TestRegionalEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":  "https://ssm.us-east-1.amazonaws.com",
		"cn-north-1": "https://ssm.cn-north-1.amazonaws.com.cn",
	} {
		if got := regionalEndpoint(region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
}
