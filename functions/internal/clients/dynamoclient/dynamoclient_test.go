package dynamoclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/manifest"
)

// dynamoDBAnswering serves the DynamoDB protocol, answering every call with status and the
// error type; it counts the calls.
func dynamoDBAnswering(t *testing.T, status int, errorType string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#` + errorType + `","message":"test"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// newTestClients builds the clients as a function would, against endpoint, for a process
// serving concurrent requests at once.
func newTestClients(t *testing.T, endpoint string, concurrent string) *clients.Clients {
	t.Helper()
	vars := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint, manifest.EnvConcurrentRequests: concurrent,
	}
	env := func(k string) string { return vars[k] }
	cfg, err := clients.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.New(context.Background(), cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getItem(c *clients.Clients) error {
	db, err := dynamoclient.Of(c)
	if err != nil {
		return err
	}
	_, err = db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String("t"),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "x"}},
	})
	return err
}

// DynamoDB Local's "timed out waiting for a lock" is an InternalServerError: retried, and
// once the attempts are spent the call is unavailable (503), not a failure (500).
func TestTransientErrorAfterRetriesIsUnavailable(t *testing.T) {
	srv, calls := dynamoDBAnswering(t, http.StatusInternalServerError, "InternalServerError")
	err := getItem(newTestClients(t, srv.URL, ""))
	if !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("error %v, want api.ErrUnavailable", err)
	}
	var ise *types.InternalServerError
	if !errors.As(err, &ise) {
		t.Errorf("error %v no longer carries the SDK's error", err)
	}
	if n := calls.Load(); n != clients.RetryMaxAttempts {
		t.Errorf("%d attempts, want %d", n, clients.RetryMaxAttempts)
	}
}

// A refusal that no retry changes stays what it is.
func TestPermanentErrorIsNotUnavailable(t *testing.T) {
	srv, calls := dynamoDBAnswering(t, http.StatusBadRequest, "ValidationException")
	err := getItem(newTestClients(t, srv.URL, ""))
	if err == nil || errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("error %v, want a failure other than api.ErrUnavailable", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// The retry quota is sized per request in flight: many concurrent calls of one process that
// all meet a transient error each get every attempt, as they would in Lambda environments
// of their own; one environment's calls stop being retried once ten in a row failed.
func TestRetryQuotaIsPerConcurrentRequest(t *testing.T) {
	const concurrent = 50
	srv, calls := dynamoDBAnswering(t, http.StatusInternalServerError, "InternalServerError")
	c := newTestClients(t, srv.URL, "50")
	var wg sync.WaitGroup
	for range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := getItem(c); !errors.Is(err, api.ErrUnavailable) {
				t.Errorf("error %v, want api.ErrUnavailable", err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != concurrent*clients.RetryMaxAttempts {
		t.Errorf("%d attempts for %d calls, want %d each", n, concurrent, clients.RetryMaxAttempts)
	}

	srv, calls = dynamoDBAnswering(t, http.StatusInternalServerError, "InternalServerError")
	one := newTestClients(t, srv.URL, "")
	for range clients.RetryQuotaRequests {
		_ = getItem(one)
	}
	if n := calls.Load(); n != clients.RetryQuotaRequests*clients.RetryMaxAttempts {
		t.Fatalf("%d attempts for the first %d calls, want %d each", n, clients.RetryQuotaRequests, clients.RetryMaxAttempts)
	}
	calls.Store(0)
	if err := getItem(one); !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("error %v once the quota is spent, want api.ErrUnavailable", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d attempts once the quota is spent, want 1", n)
	}
}
