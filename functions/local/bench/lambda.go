package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// lambdaStage is a second stage, started on first use, whose functions run in Lambda mode:
// each environment a process of AWS's Runtime Interface Emulator, as `make dev` runs them.
// The scenarios that measure the runtime's hop or need environments apart share it.
type lambdaStage struct {
	st *stage.Stage
	// slowReads delays each GetItem of the catalog function at the DynamoDB endpoint by
	// readLatency while set, as the in-process stampede's clients delay theirs.
	slowReads atomic.Bool
}

func (l *lambdaStage) get(ctx context.Context) (*stage.Stage, error) {
	if l.st != nil {
		return l.st, nil
	}
	st, err := stage.Start(ctx, stage.Options{Seed: true, Logger: slog.New(slog.DiscardHandler), Runtime: stage.Lambda,
		DynamoDBClient: func(function string, next dynamodb.HTTPClient) dynamodb.HTTPClient {
			if function != manifest.Catalog {
				return next
			}
			return delayedReads{next: next, on: &l.slowReads}
		}})
	if err != nil {
		return nil, err
	}
	l.st = st
	// The invalidator evicts every product the seed wrote once the stream delivers the
	// writes: that must not land in the middle of a measurement.
	if err := st.WaitForStreams(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

func (l *lambdaStage) close() {
	if l.st != nil {
		l.st.Close()
		l.st = nil
	}
}

// delayedReads delays each GetItem by readLatency while on is set.
type delayedReads struct {
	next dynamodb.HTTPClient
	on   *atomic.Bool
}

func (c delayedReads) Do(r *http.Request) (*http.Response, error) {
	if c.on.Load() && strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetItem") {
		time.Sleep(readLatency)
	}
	return c.next.Do(r)
}
