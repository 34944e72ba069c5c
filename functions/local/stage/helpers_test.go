package stage_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

func sleepBriefly() { time.Sleep(100 * time.Millisecond) }

// awaitCacheHit reads with get until the answer comes from the cache (X-Cache: hit), and
// fails the test with why when it never does. Tests in this package stop Redis, and after
// an error each function skips Redis for a moment (its breaker), so a test that asserts
// hits first waits for the cache to be back; on a loaded machine that can take seconds.
func awaitCacheHit(t *testing.T, why string, get func() *stagetest.Response) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); sleepBriefly() {
		if get().Header.Get("X-Cache") == "hit" {
			return
		}
	}
	t.Fatal(why)
}

// stored returns the item under the hash key value exactly as DynamoDB holds it, read
// strongly consistent (nil: no item).
func stored(t *testing.T, def tables.Table, key string) map[string]types.AttributeValue {
	t.Helper()
	table, err := st.Admin.Config.Table(def)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Admin.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{def.HashKey.Name: &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}
