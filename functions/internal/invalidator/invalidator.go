// Package invalidator evicts cached products when the products table changes. The table's
// stream (KEYS_ONLY) feeds it every insert, update and delete, including writes that do not
// go through the API (a script, the console, another service), so those cannot leave a stale
// copy in the cache for its whole TTL.
//
// The API's own writes evict synchronously before they answer; the stream is the backstop,
// and it retries: a batch whose evictions fail is retried by Lambda, in order; one that fails
// every retry is recorded in the function's failure queue, which raises an alarm and can be
// replayed (stacks/README.md).
package invalidator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/internal/productkey"
	"github.com/shop-serverless/shop/functions/tables"
)

// Invalidator evicts the cached products a stream batch names.
type Invalidator struct {
	cache *cache.Cache
}

// New returns an invalidator of the product cache c.
func New(c *cache.Cache) *Invalidator { return &Invalidator{cache: c} }

// Function builds the invalidator function. Without a cache there is nothing to invalidate,
// which for this function is a configuration error.
func Function(_ context.Context, c *clients.Clients) (app.StreamHandler, error) {
	rdb, err := redisclient.Of(c)
	if err != nil {
		return nil, fmt.Errorf("invalidator: %w", err)
	}
	return New(cache.New(rdb, cache.Options{Logger: api.Logger})).Handle, nil
}

// ProductIDs returns the distinct product ids a batch names, in stream order, and the number
// of records that name none (they are logged and skipped: retrying them cannot help).
func ProductIDs(ev events.DynamoDBEvent) (ids []string, malformed int) {
	seen := map[string]bool{}
	hashKey := tables.Products.HashKey.Name
	for _, r := range ev.Records {
		k, ok := r.Change.Keys[hashKey]
		if !ok || k.DataType() != events.DataTypeString || k.String() == "" {
			malformed++
			continue
		}
		if id := k.String(); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, malformed
}

// Handle evicts every product of the batch. Evictions are idempotent, so when one fails the
// whole batch is failed and retried: nothing is lost, and a repeated eviction costs at most
// one extra cache miss. (A partial batch response would need ReportBatchItemFailures on the
// event source mapping; without it a response would silently drop the failed records.)
func (i *Invalidator) Handle(ctx context.Context, ev events.DynamoDBEvent) error {
	log := slog.Default()
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}
	ids, malformed := ProductIDs(ev)
	if malformed > 0 {
		log.WarnContext(ctx, "stream records without a productId key skipped", "count", malformed)
	}
	var errs []error
	for _, id := range ids {
		if err := i.cache.Invalidate(ctx, productkey.Cache(id)); err != nil {
			errs = append(errs, fmt.Errorf("invalidate %s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.ErrorContext(ctx, "evictions failed; the batch will be retried",
			"records", len(ev.Records), "failed", len(errs), "err", err)
		return err
	}
	log.InfoContext(ctx, "evicted", "records", len(ev.Records), "products", len(ids))
	return nil
}
