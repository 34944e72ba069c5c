package stage_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/internal/invalidator/streamtest"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// newInvalidator builds the invalidator as its Lambda main does, with the environment the
// stage gives that function (its own Redis access, no table access).
func newInvalidator(t *testing.T) func(context.Context, events.DynamoDBEvent) error {
	t.Helper()
	fn, _ := manifest.FunctionByName(manifest.Invalidator)
	c, err := st.FunctionClients(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	handle, err := invalidator.Function(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return handle
}

// A change made straight in DynamoDB, not through the API, is served stale from the cache
// until the stream's batch reaches the invalidator; after it, the next read is a miss that
// shows the change, and a product deleted that way reads 404.
func TestInvalidatorEvictsOutOfBandWrites(t *testing.T) {
	ctx := context.Background()
	waitForCache(t)
	changed, deleted := createProduct(t, "out-of-band"), createProduct(t, "out-of-band")
	for _, p := range []catalog.Product{changed, deleted} {
		// The stream's INSERT evicts it too, some time after the first read filled it.
		awaitCacheHit(t, p.ProductID+" is never cached", func() *stagetest.Response {
			return anonymous().Do(t, "GET", "/products/"+p.ProductID, nil)
		})
	}

	table, _ := st.Admin.Config.Table(tables.Products)
	key := func(id string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: id}}
	}
	if _, err := st.Admin.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key(changed.ProductID),
		UpdateExpression:         aws.String("SET #n = :n, stock = :s"),
		ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberS{Value: "Changed by a script"},
			":s": &types.AttributeValueMemberN{Value: "0"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Admin.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(deleted.ProductID)}); err != nil {
		t.Fatal(err)
	}
	// The products table's stream reaches the invalidator's environments, as its event source
	// mapping does in the cloud: the next reads are misses that show the change.
	for deadline := time.Now().Add(30 * time.Second); ; sleepBriefly() {
		p, status := getProduct(t, changed.ProductID)
		if status == "miss" && p.Name == "Changed by a script" && p.Stock == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream never evicted the changed product: %s %+v", status, p)
		}
	}
	anonymous().Do(t, "GET", "/products/"+deleted.ProductID, nil).Expect(t, http.StatusNotFound, "not_found")
}

// The invalidator accepts Lambda's recorded batch (a MODIFY of books-01 twice, an INSERT, a
// REMOVE of toys-03), and a redelivered batch (Lambda retries) is harmless.
func TestInvalidatorHandlesARecordedBatch(t *testing.T) {
	ctx := context.Background()
	waitForCache(t)
	p := createProduct(t, "recorded")
	awaitCacheHit(t, p.ProductID+" is never cached", func() *stagetest.Response {
		return anonymous().Do(t, "GET", "/products/"+p.ProductID, nil)
	})
	ev := streamtest.Event(t, map[string]string{"books-01": p.ProductID, "toys-03": "recorded-gone"})
	handle := newInvalidator(t)
	for range 2 {
		if err := handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if _, status := getProduct(t, p.ProductID); status != "miss" {
			t.Errorf("after the batch: %s, want a miss", status)
		}
	}
}

// In Lambda mode WaitForStreams returns once the stream has delivered what was written
// before it: the invalidator has evicted the product a script changed, so the very next
// read is a miss that shows the change.
func TestLambdaWaitForStreamsReturnsAfterTheEviction(t *testing.T) {
	if st.Runtime() != stage.Lambda {
		t.Skipf("the stage runs %s; only Lambda mode maps the stream to the invalidator", st.Runtime())
	}
	ctx := context.Background()
	p := createProduct(t, "streams")
	// The creation's INSERT evicts the product too: once it is delivered, a read fills the
	// cache and the next one hits.
	if err := st.WaitForStreams(ctx); err != nil {
		t.Fatal(err)
	}
	getProduct(t, p.ProductID)
	if _, status := getProduct(t, p.ProductID); status != "hit" {
		t.Fatalf("after the creation was delivered: %s, want a hit", status)
	}
	table, _ := st.Admin.Config.Table(tables.Products)
	if _, err := st.Admin.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: p.ProductID}},
		UpdateExpression:          aws.String("SET #n = :n"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberS{Value: "Changed by a script"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitForStreams(ctx); err != nil {
		t.Fatal(err)
	}
	if got, status := getProduct(t, p.ProductID); status != "miss" || got.Name != "Changed by a script" {
		t.Errorf("the read after WaitForStreams: %s %q, want a miss with the change", status, got.Name)
	}
}
