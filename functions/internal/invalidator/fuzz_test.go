package invalidator_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/internal/invalidator/streamtest"
)

// FuzzProductIDs feeds the stream decoder arbitrary batches: it must never panic (a panic
// would fail the batch forever and block the shard), whatever the key types.
func FuzzProductIDs(f *testing.F) {
	f.Add(streamtest.KeysOnly)
	for _, seed := range []string{
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"S":"a"}}}}]}`,
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"N":"1"}}}}]}`,
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"NULL":true}}}}]}`,
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"L":[{"S":"a"}]}}}}]}`,
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"M":{"S":{"S":"a"}}}}}}]}`,
		`{"Records":[{"dynamodb":{"Keys":{"productId":{"B":"AAE="}}}}]}`,
		`{"Records":[{"dynamodb":{}},{}]}`, `{"Records":null}`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev events.DynamoDBEvent
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		ids, malformed := invalidator.ProductIDs(ev)
		if len(ids)+malformed > len(ev.Records) {
			t.Fatalf("%d ids and %d malformed from %d records", len(ids), malformed, len(ev.Records))
		}
		for _, id := range ids {
			if id == "" {
				t.Fatal("empty id")
			}
		}
	})
}
