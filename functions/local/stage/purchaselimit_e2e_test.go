package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

// limitedProduct creates a product through the admin API with maxPerCustomer limit (and
// its stock over shards shard items when shards > 1) and returns its id.
func limitedProduct(t testing.TB, name string, stock int64, shards int, limit int64) string {
	t.Helper()
	r := asUser(t, st.URL, "ada", "admin").Do(t, "POST", "/products", map[string]any{
		"name": "Limited " + name, "category": "flash", "price": 500, "currency": "USD",
		"stock": stock, "stockShards": shards, "maxPerCustomer": limit,
	})
	r.Expect(t, http.StatusCreated, "")
	var p catalog.Product
	r.JSON(t, &p)
	if p.MaxPerCustomer == nil || *p.MaxPerCustomer != limit {
		t.Fatalf("created %s, want maxPerCustomer %d", r.Body, limit)
	}
	return p.ProductID
}

// purchased is the user's count of the product in the purchases table (0: no item).
func purchased(t testing.TB, user, productID string) int64 {
	t.Helper()
	table, err := st.Admin.Config.Table(tables.Purchases)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Admin.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"userId": &types.AttributeValueMemberS{Value: user}, "productId": &types.AttributeValueMemberS{Value: productID},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return 0
	}
	n, _ := strconv.ParseInt(out.Item["units"].(*types.AttributeValueMemberN).Value, 10, 64)
	return n
}

// placeUntilAnswered places the order under key, retrying a 503 after its Retry-After as a
// client does (the same key: safe), and returns the first other answer.
func placeUntilAnswered(t testing.TB, c *stagetest.Client, req orders.Request, key string) *stagetest.Response {
	t.Helper()
	var r *stagetest.Response
	for range 20 {
		r = c.Do(t, "POST", "/orders", req, "Idempotency-Key", key)
		if r.Status != http.StatusServiceUnavailable {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
	return r
}

// One user's 20 concurrent one-unit checkouts of a product with maxPerCustomer 2, from 20
// clients, confirm exactly 2 units; replaying every key answers the same: the 2 orders, and
// purchase_limit for the rest. Another user may still buy. Both stock layouts: the
// product's own item and shard items.
func TestMaxPerCustomerHoldsUnderConcurrentCheckouts(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			p := limitedProduct(t, "sale", 100, shards, 2)
			user := fmt.Sprintf("greedy-%d-%d", shards, time.Now().UnixNano())
			req := orderOf(orders.Line{ProductID: p, Quantity: 1})
			statuses := make([]int, 20)
			orderIDs := make([]string, 20)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := asUser(t, st.URL, user) // a client (device) of its own
					r := placeUntilAnswered(t, c, req, fmt.Sprintf("k%d", i))
					statuses[i] = r.Status
					switch r.Status {
					case http.StatusCreated:
						var o orders.Order
						r.JSON(t, &o)
						orderIDs[i] = o.OrderID
					case http.StatusConflict:
						if r.ErrorCode() != "purchase_limit" {
							t.Errorf("409 %s, want purchase_limit", r.Body)
						}
					default:
						t.Errorf("answer %d %s", r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
			confirmed := 0
			for _, s := range statuses {
				if s == http.StatusCreated {
					confirmed++
				}
			}
			if confirmed != 2 {
				t.Fatalf("%d orders confirmed, want 2 (statuses %v)", confirmed, statuses)
			}
			if left := stockLeft(t, p); left != 98 {
				t.Errorf("stock %d, want 98", left)
			}
			if n := purchased(t, user, p); n != 2 {
				t.Errorf("purchases count %d, want 2", n)
			}

			// Replays answer as before.
			c := asUser(t, st.URL, user)
			for i := range statuses {
				r := c.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("k%d", i))
				switch statuses[i] {
				case http.StatusCreated:
					r.Expect(t, http.StatusOK, "")
					var o orders.Order
					r.JSON(t, &o)
					if o.OrderID != orderIDs[i] {
						t.Errorf("replay of k%d answered order %s, want %s", i, o.OrderID, orderIDs[i])
					}
				default:
					r.Expect(t, http.StatusConflict, "purchase_limit")
				}
			}
			// A new key is over the limit too, and names the product.
			r := c.Do(t, "POST", "/orders", req, "Idempotency-Key", "fresh")
			r.Expect(t, http.StatusConflict, "purchase_limit")
			if !strings.Contains(string(r.Body), p) {
				t.Errorf("refusal %s does not name the product", r.Body)
			}
			if left := stockLeft(t, p); left != 98 {
				t.Errorf("stock %d after replays, want 98", left)
			}
			// Another user has a limit of their own.
			other := asUser(t, st.URL, user+"-other")
			other.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 2}), "Idempotency-Key", "o1").Expect(t, http.StatusCreated, "")
		})
	}
}

// A line over the limit by itself is refused without a write; an order within the limit
// counts towards it across orders; the admin may lift the limit (null), and bad limits are
// refused.
func TestMaxPerCustomerAcrossOrdersAndAdminChanges(t *testing.T) {
	p := limitedProduct(t, "across", 10, 1, 3)
	user := fmt.Sprintf("steady-%d", time.Now().UnixNano())
	c := asUser(t, st.URL, user)
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 4}), "Idempotency-Key", "a").Expect(t, http.StatusConflict, "purchase_limit")
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 2}), "Idempotency-Key", "b").Expect(t, http.StatusCreated, "")
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 2}), "Idempotency-Key", "c").Expect(t, http.StatusConflict, "purchase_limit")
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 1}), "Idempotency-Key", "d").Expect(t, http.StatusCreated, "")
	if left := stockLeft(t, p); left != 7 {
		t.Errorf("stock %d, want 7", left)
	}

	admin := asUser(t, st.URL, "ada", "admin")
	for _, bad := range []any{0, -1, 1.5, "2", true} {
		admin.Do(t, "PUT", "/products/"+p, map[string]any{
			"name": "Limited across", "category": "flash", "price": 500, "currency": "USD", "stock": 7, "maxPerCustomer": bad,
		}).Expect(t, http.StatusBadRequest, "invalid_request")
	}
	r := admin.Do(t, "PUT", "/products/"+p, map[string]any{
		"name": "Limited across", "category": "flash", "price": 500, "currency": "USD", "stock": 7, "maxPerCustomer": nil,
	})
	r.Expect(t, http.StatusOK, "")
	var got catalog.Product
	r.JSON(t, &got)
	if got.MaxPerCustomer != nil {
		t.Fatalf("PUT with null kept maxPerCustomer %d", *got.MaxPerCustomer)
	}
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 4}), "Idempotency-Key", "e").Expect(t, http.StatusCreated, "")
}
