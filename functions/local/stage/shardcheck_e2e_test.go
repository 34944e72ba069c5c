package stage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/tables"

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

// A sharded product laid out again (3 shards to 2, same price) between checkout's read and
// its transaction: the order is planned again on the new layout and takes its units there.
func TestShardedOrderOfAProductLaidOutAgainIsPlannedAgain(t *testing.T) {
	product := shardedProduct(t, "relaid", 9, 3)
	onFirstTransaction(t, product, func() { reshard(t, product, 2) })
	r := asUser(t, st.URL, "relaid-buyer").Do(t, "POST", "/orders",
		orderOf(orders.Line{ProductID: product, Quantity: 2}), "Idempotency-Key", "relaid-1")
	r.Expect(t, http.StatusCreated, "")
	shards := shardsOf(t, product)
	if len(shards) != 2 || stockLeft(t, product) != 7 {
		t.Errorf("shards %+v, want 7 units left over 2", shards)
	}
	checkStamps(t, product, 1999, "USD")
}

// checkStamps checks that every shard of the product carries the price, currency and layout
// generation its item has.
func checkStamps(t *testing.T, product string, price int64, currency string) {
	t.Helper()
	item := storedItem(t, product)
	gen, _ := item["stockGen"].(*types.AttributeValueMemberS)
	if gen == nil || gen.Value == "" {
		t.Fatalf("product item without a layout generation: %v", item)
	}
	if p, _ := item["price"].(*types.AttributeValueMemberN); p == nil || p.Value != strconv.FormatInt(price, 10) {
		t.Errorf("product item's price %v, want %d", item["price"], price)
	}
	for _, sh := range shardsOf(t, product) {
		if sh.Gen != gen.Value || sh.Price != price || sh.Currency != currency {
			t.Errorf("shard %+v, want price %d %s of generation %s", sh, price, currency, gen.Value)
		}
	}
}

// Admin writes of one sharded product racing each other: each is written whole or answers
// 503 with Retry-After having written nothing, so the item and its shards always end up
// from the same write, and an order then sells at the item's price.
func TestRacingAdminWritesOfAShardedProductNeverMix(t *testing.T) {
	product := shardedProduct(t, "raced", 40, 8)
	admin := asUser(t, st.URL, "ada", "admin")
	const writers = 6
	var wg sync.WaitGroup
	var ok, busy atomic.Int32
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"name": "Hot raced", "category": "flash", "price": 1000 + i, "currency": "USD", "stockShards": 3 + i}
			if i%2 == 0 {
				body["stock"] = 30 + i
			}
			r := admin.Do(t, "PUT", "/products/"+product, body)
			switch {
			case r.Status == http.StatusOK:
				ok.Add(1)
			case r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != "":
				busy.Add(1)
			default:
				t.Errorf("PUT answered %d: %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 {
		t.Fatalf("no write of %d succeeded (%d answered 503)", writers, busy.Load())
	}
	t.Logf("%d writes succeeded, %d answered 503", ok.Load(), busy.Load())
	item := storedItem(t, product)
	price, _ := strconv.ParseInt(item["price"].(*types.AttributeValueMemberN).Value, 10, 64)
	n, _ := strconv.Atoi(item["stockShards"].(*types.AttributeValueMemberN).Value)
	i := int(price - 1000)
	if n != 3+i || len(shardsOf(t, product)) != n {
		t.Errorf("item of the write with price %d has %d shards (%d items), want %d", price, n, len(shardsOf(t, product)), 3+i)
	}
	if _, locked := item["layoutLock"]; locked {
		t.Errorf("the product's lock was left behind: %v", item)
	}
	checkStamps(t, product, price, "USD")
	r := asUser(t, st.URL, "raced-buyer").Do(t, "POST", "/orders",
		orderOf(orders.Line{ProductID: product, Quantity: 1}), "Idempotency-Key", "raced-1")
	r.Expect(t, http.StatusCreated, "")
	var o orders.Order
	r.JSON(t, &o)
	if o.Items[0].Price != price {
		t.Errorf("order at %d, want the item's price %d", o.Items[0].Price, price)
	}
}

// Shards laid out before shards carried a price and a generation (and a product item without
// stockGen) still sell; the product's next admin write stamps them, and an order that read
// the product before that write is priced again.
func TestShardsWithoutAGenerationSellAndAreMigrated(t *testing.T) {
	product := shardedProduct(t, "legacy", 10, 3)
	ctx := context.Background()
	db := st.Admin.DynamoDB
	products, _ := st.Admin.Config.Table(tables.Products)
	stock, _ := st.Admin.Config.Table(tables.Stock)
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(products),
		Key: map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: product}}, UpdateExpression: aws.String("REMOVE stockGen")}); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shardsOf(t, product) {
		if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(stock), Key: catalog.ShardKey(product, sh.Shard),
			UpdateExpression: aws.String("REMOVE price, currency, gen")}); err != nil {
			t.Fatal(err)
		}
	}
	buyer := asUser(t, st.URL, "legacy-buyer")
	buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: 2}), "Idempotency-Key", "legacy-1").
		Expect(t, http.StatusCreated, "")
	admin := asUser(t, st.URL, "ada", "admin")
	onFirstTransaction(t, product, func() {
		admin.Do(t, "PUT", "/products/"+product, map[string]any{
			"name": "Hot legacy", "category": "flash", "price": 2500, "currency": "USD", "stockShards": 3,
		}).Expect(t, http.StatusOK, "")
	})
	r := buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: 1}), "Idempotency-Key", "legacy-2")
	r.Expect(t, http.StatusCreated, "")
	var o orders.Order
	r.JSON(t, &o)
	if o.Items[0].Price != 2500 {
		t.Errorf("order at %d, want the price at commit, 2500", o.Items[0].Price)
	}
	if left := stockLeft(t, product); left != 7 {
		t.Errorf("stock left %d, want 7", left)
	}
	checkStamps(t, product, 2500, "USD")
}

// A flash sale with DynamoDB's per-key limits on (scaled so that one item takes 10 write
// units a second) is throttled and keeps to the contract: every shopper ends with an order
// or 409, having been told 503 with Retry-After meanwhile, never 500; on one item and over
// shards alike.
func TestThrottledFlashSaleKeepsToTheContract(t *testing.T) {
	st.DynamoDB().SetLimits(dynproxy.ServiceLimits.Scaled(0.01))
	defer st.DynamoDB().SetLimits(dynproxy.Limits{})
	// Each item holds more units than its one-second burst takes (10 write units: 5 orders),
	// so the limits bite even when the gate spreads the orders evenly over the shards.
	for _, sale := range []struct {
		shards int
		stock  int64
	}{{1, 20}, {4, 40}} {
		shards := sale.shards
		product := shardedProduct(t, fmt.Sprintf("throttled-%d", shards), sale.stock, shards)
		before := throttled(t)
		attempts := flashSale(t, st.URL, product, "sale", 40, 200, nil)
		checkFlashSale(t, product, sale.stock, 40, attempts)
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
