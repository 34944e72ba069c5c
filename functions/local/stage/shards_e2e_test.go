package stage_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

// shardedProduct creates a product through the admin API with stock units over shards
// shard items and returns its id.
func shardedProduct(t testing.TB, name string, stock int64, shards int) string {
	t.Helper()
	r := asUser(t, st.URL, "ada", "admin").Do(t, "POST", "/products", map[string]any{
		"name": "Hot " + name, "category": "flash", "price": 1999, "currency": "USD",
		"stock": stock, "stockShards": shards,
	})
	r.Expect(t, http.StatusCreated, "")
	var p catalog.Product
	r.JSON(t, &p)
	if p.Stock != stock || p.StockShards != shards {
		t.Fatalf("created %+v, want stock %d over %d shards", p, stock, shards)
	}
	return p.ProductID
}

// shardsOf reads the product's shard items from DynamoDB.
func shardsOf(t testing.TB, id string) []catalog.Shard {
	t.Helper()
	products, _ := st.Admin.Config.Table(tables.Products)
	stock, _ := st.Admin.Config.Table(tables.Stock)
	shards, err := catalog.NewStore(st.Admin.DynamoDB, products).WithStock(stock).Shards(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return shards
}

// shardedStockLeft is the sum of the product's shard items.
func shardedStockLeft(t testing.TB, id string) int64 {
	t.Helper()
	var n int64
	for _, sh := range shardsOf(t, id) {
		if sh.Units < 0 {
			t.Errorf("shard %d of %s holds %d units", sh.Shard, id, sh.Units)
		}
		n += sh.Units
	}
	return n
}

// reshard changes the product's shard count through the admin API, keeping its units. Under
// a busy sale the move may answer 503 (nothing of it written); it is retried after its
// Retry-After, as an admin's client does.
func reshard(t testing.TB, id string, shards int) {
	t.Helper()
	var r *stagetest.Response
	for range 10 {
		r = asUser(t, st.URL, "ada", "admin").Do(t, "PUT", "/products/"+id, map[string]any{
			"name": "Hot resharded", "category": "flash", "price": 1999, "currency": "USD", "stockShards": shards,
		})
		after, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusServiceUnavailable || after <= 0 {
			break
		}
		t.Logf("resharding to %d answered 503, retried", shards)
		time.Sleep(time.Duration(after) * time.Second)
	}
	r.Expect(t, http.StatusOK, "")
	var p catalog.Product
	r.JSON(t, &p)
	if p.StockShards != shards {
		t.Errorf("PUT answered %d shards, want %d", p.StockShards, shards)
	}
	if n := len(shardsOf(t, id)); (shards == 1 && n != 0) || (shards > 1 && n != shards) {
		t.Errorf("%d shard items after resharding to %d", n, shards)
	}
}

// A flash sale of a product whose stock is spread over 5 shards sells exactly its stock,
// and its item is never written by a sale; its read shows the stock left as the sum.
func TestShardedFlashSaleSellsExactlyTheStock(t *testing.T) {
	product := shardedProduct(t, "sharded-sale", saleStock, 5)
	if got := shardsOf(t, product); len(got) != 5 || got[0].Units != saleStock/5 {
		t.Fatalf("shards %+v, want 5 of %d units", got, saleStock/5)
	}
	before := storedItem(t, product)
	sale := flashSale(t, st.URL, product, "sale", saleUsers, saleAttempts, nil)
	checkFlashSale(t, product, saleStock, saleUsers, sale)
	if after := storedItem(t, product); !reflect.DeepEqual(after, before) {
		t.Errorf("the product item changed during the sale:\n%v\n%v", before, after)
	}
	r := stagetest.NewClient(st.URL, "").Do(t, "GET", "/products/"+product, nil)
	r.Expect(t, http.StatusOK, "")
	var p catalog.Product
	r.JSON(t, &p)
	if p.Stock != 0 || p.StockShards != 5 {
		t.Errorf("product read %+v, want stock 0 over 5 shards", p)
	}
}

// An order of more units than any one shard holds takes them from several shards in one
// transaction; one that all shards together cannot serve takes nothing.
func TestOrderTakesFromSeveralShards(t *testing.T) {
	product := shardedProduct(t, "multi-shard", 10, 5) // 2 units per shard
	c := asUser(t, st.URL, "multi-shard-buyer")
	line := func(q int64) orders.Request { return orderOf(orders.Line{ProductID: product, Quantity: q}) }
	c.Do(t, "POST", "/orders", line(7), "Idempotency-Key", "multi-1").Expect(t, http.StatusCreated, "")
	if left := stockLeft(t, product); left != 3 {
		t.Fatalf("stock left %d after an order of 7 of 10, want 3", left)
	}
	expectGateKnowsShards(t, product) // the gate picked the several shards the order took from
	c.Do(t, "POST", "/orders", line(4), "Idempotency-Key", "multi-2").Expect(t, http.StatusConflict, "out_of_stock")
	if left := stockLeft(t, product); left != 3 {
		t.Fatalf("stock left %d after a refused order, want 3", left)
	}
	c.Do(t, "POST", "/orders", line(3), "Idempotency-Key", "multi-3").Expect(t, http.StatusCreated, "")
	if left := stockLeft(t, product); left != 0 {
		t.Fatalf("stock left %d, want 0", left)
	}
}

// Changing a product's shard count while a sale runs moves its units: exactly the stock is
// sold, whatever layout each order met.
func TestReshardingUnderLoadLosesAndDuplicatesNoUnit(t *testing.T) {
	const stock = 120
	product := shardedProduct(t, "reshard", stock, 1)
	var confirmed atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-started
		for _, n := range []int{10, 3, 100, 1, 7} {
			reshard(t, product, n)
		}
	}()
	sale := flashSale(t, st.URL, product, "sale", 40, 3*stock, func(a *attempt) {
		if a.confirmed() && confirmed.Add(1) == 5 {
			once.Do(func() { close(started) })
		}
	})
	once.Do(func() { close(started) })
	wg.Wait()
	if confirmed.Load() >= stock {
		t.Log("the sale was sold out before the last layout change")
	}
	checkFlashSale(t, product, stock, 40, sale)
}

// With Redis stopped in the middle of a sale of sharded stock, DynamoDB alone keeps the
// guarantees: shards tried at random, all read only to decide "sold out".
func TestShardedFlashSaleWithRedisStoppedMidway(t *testing.T) {
	defer restartRedis(t)
	product := shardedProduct(t, "sharded-midway", saleStock, 4)
	var confirmed atomic.Int64
	var once sync.Once
	sale := flashSale(t, st.URL, product, "sale", saleUsers, saleAttempts, func(a *attempt) {
		if a.confirmed() && confirmed.Add(1) == saleStock/3 {
			once.Do(func() { go st.Servers.Redis.Stop() })
		}
	})
	checkFlashSale(t, product, saleStock, saleUsers, sale)
}

// A restock of a sold-out sharded product through the admin API is seen by the gate
// within its lease.
func TestShardedRestockIsSeenByTheGate(t *testing.T) {
	product := shardedProduct(t, "sharded-restock", 3, 3)
	c := asUser(t, st.URL, "restock-shopper")
	line := orderOf(orders.Line{ProductID: product, Quantity: 1})
	for i := range 3 {
		c.Do(t, "POST", "/orders", line, "Idempotency-Key", fmt.Sprintf("r-%d", i)).Expect(t, http.StatusCreated, "")
	}
	c.Do(t, "POST", "/orders", line, "Idempotency-Key", "r-sold-out").Expect(t, http.StatusConflict, "out_of_stock")

	asUser(t, st.URL, "ada", "admin").Do(t, "PUT", "/products/"+product, map[string]any{
		"name": "Hot restocked", "category": "flash", "price": 1999, "currency": "USD", "stock": 4,
	}).Expect(t, http.StatusOK, "")
	if got := shardsOf(t, product); len(got) != 3 || got[0].Units != 2 || got[1].Units != 1 || got[2].Units != 1 {
		t.Errorf("restocked shards %+v, want 2, 1, 1", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	sold := 0
	for i := 0; sold < 4 && time.Now().Before(deadline); i++ {
		r := c.Do(t, "POST", "/orders", line, "Idempotency-Key", fmt.Sprintf("after-%d", i))
		if r.Status == http.StatusCreated {
			sold++
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if sold != 4 || stockLeft(t, product) != 0 {
		t.Errorf("%d of the 4 restocked units sold, %d left", sold, stockLeft(t, product))
	}
	expectGateKnowsShards(t, product) // it learned the restocked shards and picked by them
}

// The reviews of a sharded product are served with the product read as the catalog reads
// it (its stock the sum of its shards), before anything cached it.
func TestReviewsOfAShardedProduct(t *testing.T) {
	product := shardedProduct(t, "sharded-reviews", 6, 2)
	value, _ := cache.Keys(catalog.CacheKey(product))
	if err := st.Admin.Redis.Del(context.Background(), value).Err(); err != nil {
		t.Fatal(err)
	}
	stagetest.NewClient(st.URL, "").Do(t, "GET", "/products/"+product+"/reviews", nil).Expect(t, http.StatusOK, "")
}

// gateShards is what the stock gate knows of a sharded product's shards; nil when it knows
// none.
func gateShards(t testing.TB, id string) []int64 {
	t.Helper()
	left, _, ok, err := orders.NewGate(st.Admin.Redis, orders.GateOptions{}).KnownShards(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	return left
}

// shardUnits are the units of the product's shard items, by shard.
func shardUnits(t testing.TB, id string) []int64 {
	t.Helper()
	shards := shardsOf(t, id)
	out := make([]int64, len(shards))
	for _, sh := range shards {
		out[sh.Shard] = sh.Units
	}
	return out
}

// expectGateKnowsShards fails unless the gate's count of every shard is the shard item's:
// the units each order took are those of the shards the gate picked.
func expectGateKnowsShards(t testing.TB, id string) {
	t.Helper()
	if gate, db := gateShards(t, id), shardUnits(t, id); !slices.Equal(gate, db) {
		t.Fatalf("the gate counts shards %v, DynamoDB holds %v", gate, db)
	}
}

// Checkout takes a sharded line's units from the shard the gate picked: after each order
// the gate's count of every shard is still the shard item's (an order that took from
// another shard would leave them apart: with 4 shards, 3 times in 4).
func TestShardedOrdersTakeTheGatesPick(t *testing.T) {
	product := shardedProduct(t, "gate-pick", 40, 4)
	c := asUser(t, st.URL, "gate-pick-buyer")
	for i := range 8 {
		c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: int64(1 + i%3)}),
			"Idempotency-Key", fmt.Sprintf("pick-%d", i)).Expect(t, http.StatusCreated, "")
		expectGateKnowsShards(t, product)
	}
}

// When the gate's counts are stale (a shard holds fewer units than the gate thinks), the
// order it picked that shard for takes its units elsewhere, is not answered sold out, and
// the gate learns the shards again.
func TestStaleGatePickFallsBackAndIsRelearned(t *testing.T) {
	product := shardedProduct(t, "gate-stale", 10, 2) // 5 and 5
	c := asUser(t, st.URL, "gate-stale-buyer")
	line := func(q int64) orders.Request { return orderOf(orders.Line{ProductID: product, Quantity: q}) }
	c.Do(t, "POST", "/orders", line(1), "Idempotency-Key", "stale-1").Expect(t, http.StatusCreated, "")
	expectGateKnowsShards(t, product) // 4 and 5, or 5 and 4
	known := gateShards(t, product)
	full := 0
	if known[1] > known[0] {
		full = 1
	}
	// Behind the gate's back, the shard it thinks full loses its units to the other one.
	stock, _ := st.Admin.Config.Table(tables.Stock)
	for shard, units := range map[int]int64{full: 0, 1 - full: 9} {
		if _, err := st.Admin.DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName: aws.String(stock), Key: catalog.ShardKey(product, shard),
			UpdateExpression:          aws.String("SET #u = :u"),
			ExpressionAttributeNames:  map[string]string{"#u": "units"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberN{Value: strconv.FormatInt(units, 10)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Only the full shard holds 5 as the gate sees it: the gate picks it, DynamoDB says short.
	c.Do(t, "POST", "/orders", line(5), "Idempotency-Key", "stale-5").Expect(t, http.StatusCreated, "")
	if got := shardUnits(t, product); got[full] != 0 || got[1-full] != 4 {
		t.Fatalf("shards %v after an order of 5, want %d left in shard %d only", got, 4, 1-full)
	}
	if gate := gateShards(t, product); gate != nil && !slices.Equal(gate, shardUnits(t, product)) {
		t.Fatalf("the gate still counts shards %v after its pick turned out stale", gate)
	}
	c.Do(t, "POST", "/orders", line(1), "Idempotency-Key", "stale-next").Expect(t, http.StatusCreated, "")
	expectGateKnowsShards(t, product)
	c.Do(t, "POST", "/orders", line(3), "Idempotency-Key", "stale-last").Expect(t, http.StatusCreated, "")
	c.Do(t, "POST", "/orders", line(1), "Idempotency-Key", "stale-sold-out").Expect(t, http.StatusConflict, "out_of_stock")
	if left := stockLeft(t, product); left != 0 {
		t.Errorf("stock left %d, want 0", left)
	}
}
