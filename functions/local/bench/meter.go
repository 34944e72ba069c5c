package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// meter attributes DynamoDB writes to the shopper's request that caused them: the gateway
// middleware gives each request a tally in its context, the SDK passes that context to its
// HTTP client, and the wrapped client counts write operations into the tally.
type meter struct {
	// soldOutWrites sums the stock writes of requests answered 409 out_of_stock.
	soldOutWrites atomic.Int64
}

type tallyKey struct{}

// writeOps are the writes that can take stock. A refused order's one other write is the
// PutItem of its own idempotency record (a small item under its own key, never a product's),
// which the sold-out count leaves out.
var writeOps = []string{".UpdateItem", ".DeleteItem", ".TransactWriteItems", ".BatchWriteItem"}

func (m *meter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tally := new(atomic.Int64)
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), tallyKey{}, tally)))
		if rec.status == http.StatusConflict && strings.HasPrefix(r.URL.Path, "/orders") {
			m.soldOutWrites.Add(tally.Load())
		}
	})
}

func (m *meter) dynamoDBClient(_ string, next dynamodb.HTTPClient) dynamodb.HTTPClient {
	return countWrites{next: next}
}

type countWrites struct{ next dynamodb.HTTPClient }

func (c countWrites) Do(r *http.Request) (*http.Response, error) {
	if tally, ok := r.Context().Value(tallyKey{}).(*atomic.Int64); ok {
		target := r.Header.Get("X-Amz-Target")
		for _, op := range writeOps {
			if strings.HasSuffix(target, op) {
				tally.Add(1)
				break
			}
		}
	}
	return c.next.Do(r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
