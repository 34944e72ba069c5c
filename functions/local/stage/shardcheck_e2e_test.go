package stage_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/manifest"
)

// transactionHook, when set, runs with the body of each TransactWriteItems the orders
// function sends, before DynamoDB gets it: a test changes a product there, between
// checkout's read of the product and its transaction.
var transactionHook atomic.Pointer[func(body []byte)]

// beforeOrderTransactions wraps the orders function's DynamoDB HTTP client with
// transactionHook.
func beforeOrderTransactions(function string, next dynamodb.HTTPClient) dynamodb.HTTPClient {
	if function != manifest.Orders {
		return next
	}
	return hookedClient{next}
}

type hookedClient struct{ next dynamodb.HTTPClient }

func (c hookedClient) Do(r *http.Request) (*http.Response, error) {
	hook := transactionHook.Load()
	if hook == nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") || r.Body == nil {
		return c.next.Do(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	(*hook)(body)
	return c.next.Do(r)
}

// onFirstTransaction runs change once, before the first transaction of the orders function
// that names product; the hook is removed when the test ends.
func onFirstTransaction(t *testing.T, product string, change func()) {
	var once sync.Once
	hook := func(body []byte) {
		if bytes.Contains(body, []byte(`"`+product+`"`)) {
			once.Do(change)
		}
	}
	transactionHook.Store(&hook)
	t.Cleanup(func() { transactionHook.Store(nil) })
}

// A sharded product repriced between checkout's read and its transaction: the order is
// priced again and carries the price the product has when it commits.
func TestShardedOrderCarriesThePriceAtCommit(t *testing.T) {
	product := shardedProduct(t, "repriced", 10, 3)
	admin := asUser(t, st.URL, "ada", "admin")
	onFirstTransaction(t, product, func() {
		admin.Do(t, "PUT", "/products/"+product, map[string]any{
			"name": "Hot repriced", "category": "flash", "price": 2999, "currency": "USD", "stockShards": 3,
		}).Expect(t, http.StatusOK, "")
	})
	r := asUser(t, st.URL, "repriced-buyer").Do(t, "POST", "/orders",
		orderOf(orders.Line{ProductID: product, Quantity: 2}), "Idempotency-Key", "repriced-1")
	r.Expect(t, http.StatusCreated, "")
	var o orders.Order
	r.JSON(t, &o)
	if len(o.Items) != 1 || o.Items[0].Price != 2999 || o.Total != 2*2999 {
		t.Errorf("order %+v, want 2 units at the price at commit, 2999", o)
	}
	if left := stockLeft(t, product); left != 8 {
		t.Errorf("stock left %d, want 8", left)
	}
}

// A sharded product deleted between checkout's read and its transaction: the order is 404
// and takes nothing.
func TestShardedOrderOfADeletedProductIsNotFound(t *testing.T) {
	product := shardedProduct(t, "deleted", 10, 3)
	admin := asUser(t, st.URL, "ada", "admin")
	onFirstTransaction(t, product, func() {
		admin.Do(t, "DELETE", "/products/"+product, nil).Expect(t, http.StatusNoContent, "")
	})
	c := asUser(t, st.URL, "deleted-buyer")
	c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: 1}), "Idempotency-Key", "deleted-1").
		Expect(t, http.StatusNotFound, "not_found")
	if n := len(shardsOf(t, product)); n != 0 {
		t.Errorf("%d shard items left of a deleted product", n)
	}
	r := c.Do(t, "GET", "/orders", nil)
	r.Expect(t, http.StatusOK, "")
	var page struct{ Items []orders.Order }
	r.JSON(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("orders of a deleted product: %+v", page.Items)
	}
}

// A flash sale with DynamoDB's per-key limits on (scaled so that one item takes 10 write
// units a second) is throttled and keeps to the contract: every shopper ends with an order
// or 409, having been told 503 with Retry-After meanwhile, never 500; on one item and over
// shards alike.
func TestThrottledFlashSaleKeepsToTheContract(t *testing.T) {
	st.DynamoDB().SetLimits(dynproxy.ServiceLimits.Scaled(0.01))
	defer st.DynamoDB().SetLimits(dynproxy.Limits{})
	for _, shards := range []int{1, 4} {
		product := shardedProduct(t, fmt.Sprintf("throttled-%d", shards), 20, shards)
		before := throttled(t)
		sale := flashSale(t, st.URL, product, "sale", 40, 200, nil)
		checkFlashSale(t, product, 20, 40, sale)
		if throttled(t) == before {
			t.Errorf("%d shard(s): nothing was throttled", shards)
		}
	}
}

// throttled is how many requests of the orders function the DynamoDB endpoint refused for
// throughput so far.
func throttled(t *testing.T) int64 {
	var n int64
	for c, u := range st.DynamoDB().Usage() {
		if c.Function == manifest.Orders {
			n += u.Throttled
		}
	}
	return n
}
