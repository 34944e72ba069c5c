package stage_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/invalidator"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// streamFixture is a KEYS_ONLY batch of the products table's stream as Lambda delivers it.
const streamFixture = "../../internal/invalidator/testdata/products-stream-keys-only.json"

// streamEvent reads the fixture with its product ids replaced as ids says.
func streamEvent(t *testing.T, ids map[string]string) events.DynamoDBEvent {
	t.Helper()
	b, err := os.ReadFile(streamFixture)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for from, to := range ids {
		s = strings.ReplaceAll(s, `"S": "`+from+`"`, `"S": "`+to+`"`)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

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
		getProduct(t, p.ProductID)
		if _, status := getProduct(t, p.ProductID); status != "hit" {
			t.Fatalf("%s is not cached: %s", p.ProductID, status)
		}
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
	// Without the invalidator, the cache still serves the old documents.
	if p, status := getProduct(t, changed.ProductID); status != "hit" || p.Name == "Changed by a script" {
		t.Fatalf("expected the stale cached copy before invalidation, got %s %q", status, p.Name)
	}

	// The fixture's batch: a MODIFY of books-01 (twice), an INSERT, a REMOVE of toys-03.
	ev := streamEvent(t, map[string]string{"books-01": changed.ProductID, "toys-03": deleted.ProductID})
	handle := newInvalidator(t)
	if err := handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	p, status := getProduct(t, changed.ProductID)
	if status != "miss" || p.Name != "Changed by a script" || p.Stock != 0 {
		t.Errorf("after invalidation: %s %+v", status, p)
	}
	anonymous().Do(t, "GET", "/products/"+deleted.ProductID, nil).Expect(t, http.StatusNotFound, "not_found")

	// A redelivered batch (Lambda retries) is harmless.
	if err := handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if p, _ := getProduct(t, changed.ProductID); p.Name != "Changed by a script" {
		t.Errorf("after a redelivery: %+v", p)
	}
}
