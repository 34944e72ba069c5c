// Package pause waits between tries without outliving the request: the cache's and the stock
// gate's polls and the catalog's resharding retries share it.
package pause

import (
	"context"
	"time"
)

// For waits d, or returns ctx's error as soon as ctx ends.
func For(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
