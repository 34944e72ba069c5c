package invalidator_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/internal/invalidator/streamtest"
)

func TestProductIDsOfTheFixture(t *testing.T) {
	ev := streamtest.Event(t, nil)
	if len(ev.Records) != 4 || ev.Records[0].Change.StreamViewType != "KEYS_ONLY" || ev.Records[3].EventName != "REMOVE" {
		t.Fatalf("fixture is not a KEYS_ONLY batch: %+v", ev)
	}
	ids, malformed := invalidator.ProductIDs(ev)
	want := []string{"books-01", "019bab9e-5c2a-7e01-9a43-5f1e2d0c8b77", "toys-03"}
	if !reflect.DeepEqual(ids, want) || malformed != 0 {
		t.Errorf("ids %v (%d malformed), want %v in stream order, each once", ids, malformed, want)
	}
}

func TestMalformedRecordsAreSkipped(t *testing.T) {
	var ev events.DynamoDBEvent
	err := json.Unmarshal([]byte(`{"Records": [
		{"eventName": "MODIFY", "dynamodb": {"Keys": {"productId": {"N": "12"}}}},
		{"eventName": "MODIFY", "dynamodb": {"Keys": {"other": {"S": "x"}}}},
		{"eventName": "MODIFY", "dynamodb": {}},
		{"eventName": "INSERT", "dynamodb": {"Keys": {"productId": {"S": "ok-1"}}}}]}`), &ev)
	if err != nil {
		t.Fatal(err)
	}
	ids, malformed := invalidator.ProductIDs(ev)
	if !reflect.DeepEqual(ids, []string{"ok-1"}) || malformed != 3 {
		t.Errorf("ids %v, %d malformed", ids, malformed)
	}
}

// When Redis cannot be reached the batch fails, so Lambda retries it: an eviction is never
// dropped.
func TestFailedEvictionFailsTheBatch(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
	defer rdb.Close()
	inv := invalidator.New(cache.New(rdb, cache.Options{}))
	if err := inv.Handle(context.Background(), streamtest.Event(t, nil)); err == nil {
		t.Fatal("a batch whose evictions failed succeeded")
	}
}

func TestFunctionNeedsACache(t *testing.T) {
	if _, err := invalidator.Function(context.Background(), &clients.Clients{}); err == nil {
		t.Error("built without a cache")
	}
}
