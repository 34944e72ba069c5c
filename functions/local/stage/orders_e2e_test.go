package stage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/money"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// asUser returns a client of base signed in as sub.
func asUser(t testing.TB, base, sub string, groups ...string) *stagetest.Client {
	t.Helper()
	token, err := st.Token(sub, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return stagetest.NewClient(base, token)
}

// putStockedProduct stores a product with the given stock directly in DynamoDB and returns
// its id, unique to the test.
func putStockedProduct(t testing.TB, name string, stock, price int64, currency string) string {
	t.Helper()
	id := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	putProduct(t, id, name, stock, price, currency)
	return id
}

// putProduct stores the product with the given id directly in DynamoDB.
func putProduct(t testing.TB, id, name string, stock, price int64, currency string) {
	t.Helper()
	table, err := st.Admin.Config.Table(tables.Products)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	p := catalog.Product{ProductID: id, Name: "Flash " + name, Category: "flash", Price: price,
		Currency: currency, Stock: stock, CreatedAt: now, UpdatedAt: now}
	if err := catalog.NewStore(st.Admin.DynamoDB, table).Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// stockLeft reads the product's stock from DynamoDB, strongly consistent.
func stockLeft(t testing.TB, id string) int64 {
	t.Helper()
	table, _ := st.Admin.Config.Table(tables.Products)
	out, err := st.Admin.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("read product %s: %v", id, err)
	}
	if _, ok := out.Item["stock"]; !ok {
		return shardedStockLeft(t, id)
	}
	n, err := strconv.ParseInt(out.Item["stock"].(*types.AttributeValueMemberN).Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// setStock sets the product's stock in DynamoDB, as an admin's restock does.
func setStock(t testing.TB, id string, stock int64) { setNumber(t, id, "stock", stock) }

// setNumber sets a number attribute of the product in DynamoDB, as an admin's update does.
func setNumber(t testing.TB, id, name string, n int64) {
	t.Helper()
	table, _ := st.Admin.Config.Table(tables.Products)
	_, err := st.Admin.DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{"productId": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #n = :n"),
		ExpressionAttributeNames:  map[string]string{"#n": name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func orderOf(lines ...orders.Line) orders.Request { return orders.Request{Items: lines} }

// restartRedis starts Redis again if it is stopped.
func restartRedis(t testing.TB) {
	t.Helper()
	if !st.Servers.Redis.Exited() {
		return
	}
	if err := st.Servers.RestartRedis(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// attempt is one shopper's order in a flash sale.
type attempt struct {
	user   int
	key    string
	status int
	code   string
	order  orders.Order
	// retries counts the 503 answers the shopper retried after their Retry-After.
	retries int
}

// confirmed reports whether the attempt ended with its order: created, or (when an
// answer was lost to a 503 after the order committed) replayed to its retry.
func (a *attempt) confirmed() bool {
	return a.status == http.StatusCreated || (a.status == http.StatusOK && a.retries > 0)
}

// maxShopperRetries bounds how often a shopper retries a 503 with the same key.
const maxShopperRetries = 20

// orderAsShopper sends the order as a shopper's client does: a 503 is retried with the same
// key after its Retry-After, a bounded number of times; the last answer is returned.
func orderAsShopper(t testing.TB, c *stagetest.Client, body orders.Request, key string) (r *stagetest.Response, retries int) {
	t.Helper()
	for {
		r = c.Do(t, "POST", "/orders", body, "Idempotency-Key", key)
		if r.Status != http.StatusServiceUnavailable || retries == maxShopperRetries {
			return r, retries
		}
		after, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || after <= 0 {
			t.Errorf("503 without a valid Retry-After: %q", r.Header.Get("Retry-After"))
			return r, retries
		}
		retries++
		time.Sleep(time.Duration(after) * time.Second)
	}
}

// flashSale has attempts shoppers (spread over users) order one unit of the product at
// once, each with its own Idempotency-Key (named after round); after each answer, onAnswer
// (if set) sees it.
func flashSale(t *testing.T, base, product, round string, users, attempts int, onAnswer func(a *attempt)) []*attempt {
	t.Helper()
	clients := make([]*stagetest.Client, users)
	for u := range users {
		clients[u] = asUser(t, base, fmt.Sprintf("%s-u%02d", product, u))
	}
	out := make([]*attempt, attempts)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attempts {
		a := &attempt{user: i % users, key: fmt.Sprintf("%s-%d", round, i)}
		out[i] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, retries := orderAsShopper(t, clients[a.user], orderOf(orders.Line{ProductID: product, Quantity: 1}), a.key)
			a.status, a.code, a.retries = r.Status, r.ErrorCode(), retries
			if a.confirmed() {
				r.JSON(t, &a.order)
			}
			if onAnswer != nil {
				onAnswer(a)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	retried := 0
	for _, a := range out {
		retried += a.retries
	}
	t.Logf("%d orders answered in %v, after %d retries of a 503", attempts, time.Since(t0).Round(time.Millisecond), retried)
	return out
}

// checkFlashSale asserts the sale's guarantees: exactly stock confirmed, the rest
// out_of_stock, no stock left, every order readable and listed by its owner, and every
// confirmed request, replayed with its key, answering the same order and taking nothing.
func checkFlashSale(t *testing.T, product string, stock int64, users int, sale []*attempt) {
	t.Helper()
	confirmed, refused := map[string]*attempt{}, 0
	for _, a := range sale {
		switch {
		case a.confirmed():
			if confirmed[a.order.OrderID] != nil {
				t.Errorf("order id %s confirmed twice", a.order.OrderID)
			}
			confirmed[a.order.OrderID] = a
			if a.order.Status != "confirmed" || len(a.order.Items) != 1 || a.order.Items[0].ProductID != product ||
				a.order.UserID != fmt.Sprintf("%s-u%02d", product, a.user) {
				t.Errorf("order %+v", a.order)
			}
		case a.status == http.StatusConflict && a.code == "out_of_stock":
			refused++
		default:
			t.Errorf("attempt %s answered %d %q", a.key, a.status, a.code)
		}
	}
	if int64(len(confirmed)) != stock || refused != len(sale)-int(stock) {
		t.Fatalf("%d confirmed and %d out_of_stock of %d, want %d confirmed", len(confirmed), refused, len(sale), stock)
	}
	if left := stockLeft(t, product); left != 0 {
		t.Fatalf("stock left %d, want 0", left)
	}

	// Every order is readable by its owner, and listed among the owner's orders.
	listed := 0
	for u := range users {
		c := asUser(t, st.URL, fmt.Sprintf("%s-u%02d", product, u))
		r := c.Do(t, "GET", "/orders?limit=100", nil)
		r.Expect(t, http.StatusOK, "")
		var page struct{ Items []orders.Order }
		r.JSON(t, &page)
		for _, o := range page.Items {
			a := confirmed[o.OrderID]
			if a == nil || a.user != u {
				t.Errorf("user %d lists order %s, which is not one of their confirmed orders", u, o.OrderID)
			}
			listed++
		}
	}
	if listed != len(confirmed) {
		t.Errorf("owners list %d orders, want %d", listed, len(confirmed))
	}
	var wg sync.WaitGroup
	for id, a := range confirmed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := asUser(t, st.URL, fmt.Sprintf("%s-u%02d", product, a.user))
			r := c.Do(t, "GET", "/orders/"+id, nil)
			var o orders.Order
			if r.Status != http.StatusOK {
				t.Errorf("GET /orders/%s by its owner: %d %s", id, r.Status, r.Body)
				return
			}
			r.JSON(t, &o)
			if o.OrderID != id || o.Total != a.order.Total || o.CreatedAt != a.order.CreatedAt {
				t.Errorf("read %+v, confirmed %+v", o, a.order)
			}
			// The same request again, as a client retrying after a timeout.
			r = c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: 1}), "Idempotency-Key", a.key)
			if r.Status != http.StatusOK && r.Status != http.StatusCreated {
				t.Errorf("replay of %s: %d %s", a.key, r.Status, r.Body)
				return
			}
			r.JSON(t, &o)
			if o.OrderID != id {
				t.Errorf("replay of %s answered order %s, want %s", a.key, o.OrderID, id)
			}
		}()
	}
	wg.Wait()
	if left := stockLeft(t, product); left != 0 {
		t.Fatalf("stock after the replays %d, want 0", left)
	}
}

const (
	saleStock    = 50
	saleUsers    = 50
	saleAttempts = 500
)

// The flash sale: 500 concurrent orders of one unit for a product with 50 in stock.
func TestFlashSaleSellsExactlyTheStock(t *testing.T) {
	product := putStockedProduct(t, "sale", saleStock, 1999, "USD")
	sale := flashSale(t, st.URL, product, "sale", saleUsers, saleAttempts, nil)
	checkFlashSale(t, product, saleStock, saleUsers, sale)
	if st.Runtime() == stage.Lambda {
		// Over separate environments, each serving one order at a time: the gate and the
		// transaction, not one process's memory, keep the guarantees.
		if envs := st.Environments()[manifest.Orders]; envs.Running < 2 {
			t.Errorf("the sale ran in %d orders environments, want several", envs.Running)
		}
	}
}

// The same sale with Redis stopped before it starts: DynamoDB alone keeps the guarantees.
func TestFlashSaleWithRedisDown(t *testing.T) {
	st.Servers.Redis.Stop()
	defer restartRedis(t)
	product := putStockedProduct(t, "sale-noredis", saleStock, 1999, "USD")
	sale := flashSale(t, st.URL, product, "sale", saleUsers, saleAttempts, nil)
	checkFlashSale(t, product, saleStock, saleUsers, sale)
}

// The same sale with Redis stopped in the middle, once a third of the stock is sold.
func TestFlashSaleWithRedisStoppedMidway(t *testing.T) {
	defer restartRedis(t)
	product := putStockedProduct(t, "sale-midway", saleStock, 1999, "USD")
	var confirmed, after, confirmedAfter atomic.Int64
	var once sync.Once
	var down atomic.Bool
	stopped := make(chan struct{})
	sale := flashSale(t, st.URL, product, "sale", saleUsers, saleAttempts, func(a *attempt) {
		if down.Load() {
			after.Add(1)
			if a.confirmed() {
				confirmedAfter.Add(1)
			}
		}
		if a.confirmed() && confirmed.Add(1) == saleStock/3 {
			once.Do(func() {
				go func() {
					st.Servers.Redis.Stop()
					down.Store(true)
					close(stopped)
				}()
			})
		}
	})
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Redis was never stopped: the sale confirmed too few orders")
	}
	t.Logf("%d orders answered after Redis stopped, %d of them confirmed", after.Load(), confirmedAfter.Load())
	if after.Load() == 0 {
		t.Error("the sale was over before Redis stopped; the test proves nothing")
	}
	checkFlashSale(t, product, saleStock, saleUsers, sale)
}

// writeCounter counts the DynamoDB write calls that pass through it: the idempotency
// records of refused orders (PutItem, the orders function's only one) apart from the writes
// that can take stock.
type writeCounter struct {
	next           dynamodb.HTTPClient
	stock, records *atomic.Int64
}

func (c writeCounter) Do(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	if strings.HasSuffix(target, ".PutItem") {
		c.records.Add(1)
	}
	for _, op := range []string{"TransactWriteItems", "UpdateItem", "DeleteItem", "BatchWriteItem"} {
		if strings.HasSuffix(target, "."+op) {
			c.stock.Add(1)
		}
	}
	return c.next.Do(r)
}

// countingOrders serves the orders routes through the local gateway from an orders function
// whose DynamoDB client counts writes; the rest of the stage is shared.
func countingOrders(t *testing.T, stock, records *atomic.Int64) string {
	t.Helper()
	return ordersInstance(t, func(o *dynamodb.Options) {
		o.HTTPClient = writeCounter{next: o.HTTPClient, stock: stock, records: records}
	})
}

// ordersInstance serves the orders routes through the local gateway from an orders function
// of its own, its DynamoDB client changed by opt; the rest of the stage is shared.
func ordersInstance(t *testing.T, opt func(*dynamodb.Options)) string {
	t.Helper()
	return ordersInstanceOf(t, func(c *clients.Clients) { c.DynamoDB = dynamodb.New(c.DynamoDB.Options(), opt) })
}

// ordersInstanceOf serves the orders routes through the local gateway from an orders
// function of its own, its clients changed by change; the rest of the stage is shared.
func ordersInstanceOf(t *testing.T, change func(*clients.Clients)) string {
	t.Helper()
	ctx := context.Background()
	fn, _ := manifest.FunctionByName(manifest.Orders)
	env := st.Env(fn)
	cfg, err := clients.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.New(ctx, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	change(c)
	router, err := orders.Function(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var rts []manifest.Route
	for _, rt := range manifest.All {
		if rt.Function == manifest.Orders {
			rts = append(rts, rt)
		}
	}
	gw, err := gateway.New(rts, map[string]gateway.Handler{manifest.Orders: router.Handle}, st.Issuer, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL
}

// At a sale, only the orders that get a unit write stock in DynamoDB; once the product is
// sold out, further orders cost no stock write, only the record of their answer under their
// own key; after Redis loses what it knew (FLUSHALL) it learns it again from one read, still
// writing no stock; a restock is honoured within the gate's lease; product reads show the
// stock left.
func TestSoldOutOrdersCostNoDynamoDBWrites(t *testing.T) {
	var writes, records atomic.Int64
	base := countingOrders(t, &writes, &records)
	product := putStockedProduct(t, "soldout", 5, 999, "USD")

	sale := flashSale(t, base, product, "sale", 10, 40, nil)
	confirmed := 0
	for _, a := range sale {
		if a.confirmed() {
			confirmed++
		}
	}
	if confirmed != 5 || stockLeft(t, product) != 0 {
		t.Fatalf("%d confirmed, stock %d; want 5 and 0", confirmed, stockLeft(t, product))
	}
	// The gate reserved the 5 units for 5 orders: only they wrote, one transaction each.
	if n := writes.Load(); n != 5 {
		t.Errorf("%d DynamoDB writes for 5 confirmed orders: sold_out_db_writes %d, want 0", n, n-5)
	}
	if n := records.Load(); n != 35 {
		t.Errorf("%d idempotency records of refusals written, want one for each of the 35 refused", n)
	}

	soldOut := func(round string) {
		t.Helper()
		writes.Store(0)
		records.Store(0)
		after := flashSale(t, base, product, round, 10, 200, nil)
		for _, a := range after {
			if a.status != http.StatusConflict || a.code != "out_of_stock" {
				t.Fatalf("%s: an order of a sold-out product answered %d %q", round, a.status, a.code)
			}
		}
		if n := writes.Load(); n != 0 {
			t.Errorf("%s: sold_out_db_writes %d, want 0", round, n)
		}
		if n := records.Load(); n != int64(len(after)) {
			t.Errorf("%s: %d idempotency records of refusals written, want one for each of the %d refused", round, n, len(after))
		}
	}
	soldOut("known")

	// Redis loses everything: the next refusal comes from a DynamoDB read and teaches Redis again.
	if err := st.Admin.Redis.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	soldOut("flushed")
	if n, err := st.Admin.Redis.Exists(context.Background(), orders.GateKey(product)).Result(); err != nil || n != 1 {
		t.Errorf("the sold-out marker was not rebuilt after FLUSHALL (%d, %v)", n, err)
	}

	// A restock is seen within the gate's lease (1 s).
	setStock(t, product, 2)
	reader := stagetest.NewClient(st.URL, "")
	reader.Do(t, "GET", "/products/"+product, nil).Expect(t, http.StatusOK, "") // cached with stock 2
	c := asUser(t, base, "restock-buyer")
	deadline := time.Now().Add(3 * time.Second)
	var r *stagetest.Response
	for i := 0; ; i++ {
		r = c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: product, Quantity: 1}), "Idempotency-Key", fmt.Sprintf("restock-%d", i))
		if r.Status == http.StatusCreated || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Expect(t, http.StatusCreated, "")

	// The product read after the order shows the stock it left.
	pr := reader.Do(t, "GET", "/products/"+product, nil)
	pr.Expect(t, http.StatusOK, "")
	var p catalog.Product
	pr.JSON(t, &p)
	if p.Stock != 1 {
		t.Errorf("product read after the order shows stock %d, want 1", p.Stock)
	}
}

// lossyTransactions loses TransactWriteItems calls: before DynamoDB sees them, or after
// DynamoDB committed them but before the function hears the answer, as a crash or a
// timeout of the function would.
type lossyTransactions struct {
	next       dynamodb.HTTPClient
	afterwards bool
}

func (c lossyTransactions) Do(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
		return c.next.Do(r)
	}
	if c.afterwards {
		resp, err := c.next.Do(r)
		if err == nil {
			resp.Body.Close()
		}
	}
	return nil, fmt.Errorf("connection lost (test)")
}

// A request interrupted before or after its transaction is finished by its retry with the
// same key: one order, its stock taken once, never stock taken without an order.
func TestInterruptedOrderIsFinishedByItsRetry(t *testing.T) {
	for _, afterwards := range []bool{false, true} {
		t.Run(fmt.Sprintf("committed=%v", afterwards), func(t *testing.T) {
			lossy := ordersInstance(t, func(o *dynamodb.Options) {
				o.HTTPClient = lossyTransactions{next: o.HTTPClient, afterwards: afterwards}
				o.RetryMaxAttempts = 1 // the function gives up: its answer is lost
			})
			p := putStockedProduct(t, "interrupted", 5, 100, "USD")
			user := fmt.Sprintf("interrupted-%v", afterwards)
			body := orderOf(orders.Line{ProductID: p, Quantity: 2})

			r := asUser(t, lossy, user).Do(t, "POST", "/orders", body, "Idempotency-Key", "k1")
			r.Expect(t, http.StatusServiceUnavailable, "unavailable")
			want := int64(5)
			if afterwards {
				want = 3
			}
			if left := stockLeft(t, p); left != want {
				t.Fatalf("stock after the interruption %d, want %d", left, want)
			}

			c := asUser(t, st.URL, user)
			r = c.Do(t, "POST", "/orders", body, "Idempotency-Key", "k1")
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("retry answered %d %s", r.Status, r.Body)
			}
			var o orders.Order
			r.JSON(t, &o)
			if afterwards != (r.Status == http.StatusOK) {
				t.Errorf("retry answered %d; a committed order is replayed (200), a lost one created (201)", r.Status)
			}
			if left := stockLeft(t, p); left != 3 {
				t.Fatalf("stock after the retry %d, want 3", left)
			}
			r = c.Do(t, "GET", "/orders", nil)
			var page struct{ Items []orders.Order }
			r.JSON(t, &page)
			if len(page.Items) != 1 || page.Items[0].OrderID != o.OrderID {
				t.Errorf("the user has orders %+v, want just %s", page.Items, o.OrderID)
			}
		})
	}
}

// lockedTransactions answers every TransactWriteItems call as DynamoDB Local does when a
// transaction waited too long for a lock on a busy item.
type lockedTransactions struct{ next dynamodb.HTTPClient }

func (c lockedTransactions) Do(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".TransactWriteItems") {
		return c.next.Do(r)
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",` +
		`"message":"This action timed out because it too long waiting for a lock."}`
	return &http.Response{StatusCode: http.StatusInternalServerError, Request: r,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:   io.NopCloser(strings.NewReader(body))}, nil
}

// A store error that may pass, still there after the SDK's retries, is answered 503 with
// Retry-After, takes no stock, and is not the key's answer: its retry places the order.
func TestTransientStoreErrorIsUnavailable(t *testing.T) {
	locked := ordersInstance(t, func(o *dynamodb.Options) { o.HTTPClient = lockedTransactions{next: o.HTTPClient} })
	p := putStockedProduct(t, "locked", 5, 100, "USD")
	body := orderOf(orders.Line{ProductID: p, Quantity: 2})

	r := asUser(t, locked, "locked-buyer").Do(t, "POST", "/orders", body, "Idempotency-Key", "k1")
	r.Expect(t, http.StatusServiceUnavailable, "unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if strings.Contains(string(r.Body), "lock") {
		t.Errorf("the answer leaks the store's error: %s", r.Body)
	}
	if left := stockLeft(t, p); left != 5 {
		t.Fatalf("stock after the failed order %d, want 5", left)
	}
	r = asUser(t, st.URL, "locked-buyer").Do(t, "POST", "/orders", body, "Idempotency-Key", "k1")
	r.Expect(t, http.StatusCreated, "")
	if left := stockLeft(t, p); left != 3 {
		t.Fatalf("stock after the retry %d, want 3", left)
	}
}

// An order of several products takes all of their stock or none of it.
func TestMultiItemOrderIsAllOrNothing(t *testing.T) {
	a := putStockedProduct(t, "multi-a", 5, 300, "USD")
	b := putStockedProduct(t, "multi-b", 0, 500, "USD")
	c := putStockedProduct(t, "multi-c", 1, 700, "USD")
	buyer := asUser(t, st.URL, "multi-buyer")

	r := buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: a, Quantity: 2}, orders.Line{ProductID: b, Quantity: 1}), "Idempotency-Key", "multi-1")
	r.Expect(t, http.StatusConflict, "out_of_stock")
	r = buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: c, Quantity: 1}, orders.Line{ProductID: a, Quantity: 6}), "Idempotency-Key", "multi-2")
	r.Expect(t, http.StatusConflict, "out_of_stock")
	if sa, sb, sc := stockLeft(t, a), stockLeft(t, b), stockLeft(t, c); sa != 5 || sb != 0 || sc != 1 {
		t.Fatalf("stock after refused orders: %d %d %d, want 5 0 1", sa, sb, sc)
	}

	r = buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: a, Quantity: 2}, orders.Line{ProductID: c, Quantity: 1}), "Idempotency-Key", "multi-3")
	r.Expect(t, http.StatusCreated, "")
	var o orders.Order
	r.JSON(t, &o)
	if o.Total != 2*300+700 || o.Currency != "USD" || len(o.Items) != 2 || o.Items[0].Price != 300 || o.Items[1].Price != 700 {
		t.Errorf("order %+v", o)
	}
	if r.Header.Get("Location") != "/orders/"+o.OrderID {
		t.Errorf("Location %q", r.Header.Get("Location"))
	}
	if sa, sc := stockLeft(t, a), stockLeft(t, c); sa != 3 || sc != 0 {
		t.Fatalf("stock after the order: %d %d, want 3 0", sa, sc)
	}

	// The same lines in another order are the same request: a replay.
	r = buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: c, Quantity: 1}, orders.Line{ProductID: a, Quantity: 2}), "Idempotency-Key", "multi-3")
	r.Expect(t, http.StatusOK, "")
	var again orders.Order
	r.JSON(t, &again)
	if again.OrderID != o.OrderID || stockLeft(t, a) != 3 {
		t.Errorf("replay answered %s (want %s), stock %d", again.OrderID, o.OrderID, stockLeft(t, a))
	}
	// Another body under the same key is refused, and takes nothing.
	r = buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: a, Quantity: 1}), "Idempotency-Key", "multi-3")
	r.Expect(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
	if stockLeft(t, a) != 3 {
		t.Error("a reused key took stock")
	}
	// Keys belong to their user: another user's same key is a new order.
	r = asUser(t, st.URL, "multi-other").Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: a, Quantity: 1}), "Idempotency-Key", "multi-3")
	r.Expect(t, http.StatusCreated, "")
}

// Many concurrent requests with one key (a client retrying impatiently) create one order.
func TestConcurrentRetriesOfOneKeyCreateOneOrder(t *testing.T) {
	p := putStockedProduct(t, "samekey", 10, 100, "USD")
	c := asUser(t, st.URL, "impatient")
	ids := make([]string, 30)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 3}), "Idempotency-Key", "same-key")
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Errorf("answer %d %s", r.Status, r.Body)
				return
			}
			var o orders.Order
			r.JSON(t, &o)
			ids[i] = o.OrderID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one key gave orders %s and %s", ids[0], id)
		}
	}
	if left := stockLeft(t, p); left != 7 {
		t.Fatalf("stock %d, want 7: one order of 3", left)
	}
}

func TestOrdersListNewestFirstWithCursor(t *testing.T) {
	p := putStockedProduct(t, "listing", 10, 100, "USD")
	c := asUser(t, st.URL, "lister")
	var placed []string
	for i := range 3 {
		r := c.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 1}), "Idempotency-Key", fmt.Sprintf("list-%d", i))
		r.Expect(t, http.StatusCreated, "")
		var o orders.Order
		r.JSON(t, &o)
		placed = append(placed, o.OrderID)
		time.Sleep(5 * time.Millisecond) // distinct createdAt
	}
	var seen []string
	cursor := ""
	for range 3 {
		path := "/orders?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := c.Do(t, "GET", path, nil)
		r.Expect(t, http.StatusOK, "")
		var page struct {
			Items      []orders.Order
			NextCursor *string
		}
		r.JSON(t, &page)
		for _, o := range page.Items {
			seen = append(seen, o.OrderID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if fmt.Sprint(seen) != fmt.Sprint([]string{placed[2], placed[1], placed[0]}) {
		t.Errorf("listed %v, want newest first %v", seen, placed)
	}
	// A cursor is the lister's own: another user may not page with it.
	r := c.Do(t, "GET", "/orders?limit=1", nil)
	var page struct{ NextCursor *string }
	r.JSON(t, &page)
	if page.NextCursor == nil {
		t.Fatal("no cursor")
	}
	asUser(t, st.URL, "someone-else").Do(t, "GET", "/orders?cursor="+*page.NextCursor, nil).Expect(t, http.StatusBadRequest, "invalid_request")
}

func TestOrdersBadInput(t *testing.T) {
	p := putStockedProduct(t, "bad", 10, 100, "USD")
	owner := asUser(t, st.URL, "bad-owner")
	r := owner.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 1}), "Idempotency-Key", "bad-owner-1")
	r.Expect(t, http.StatusCreated, "")
	var mine orders.Order
	r.JSON(t, &mine)

	many := func(n int) orders.Request {
		var req orders.Request
		for i := range n {
			req.Items = append(req.Items, orders.Line{ProductID: fmt.Sprintf("p-%d", i), Quantity: 1})
		}
		return req
	}
	line := func(q int64) orders.Request { return orderOf(orders.Line{ProductID: p, Quantity: q}) }
	other := asUser(t, st.URL, "bad-other")
	admin := asUser(t, st.URL, "bad-admin", "admin")
	anon := stagetest.NewClient(st.URL, "")
	for _, tc := range []struct {
		name    string
		c       *stagetest.Client
		method  string
		path    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"no token", anon, "POST", "/orders", line(1), []string{"Idempotency-Key", "k"}, 401, "unauthorized"},
		{"no key", owner, "POST", "/orders", line(1), nil, 400, "invalid_request"},
		{"empty key", owner, "POST", "/orders", line(1), []string{"Idempotency-Key", ""}, 400, "invalid_request"},
		{"key with a space", owner, "POST", "/orders", line(1), []string{"Idempotency-Key", "a b"}, 400, "invalid_request"},
		{"key with a dot", owner, "POST", "/orders", line(1), []string{"Idempotency-Key", "a.b"}, 400, "invalid_request"},
		{"key too long", owner, "POST", "/orders", line(1), []string{"Idempotency-Key", strings.Repeat("k", 129)}, 400, "invalid_request"},
		{"quantity 0", owner, "POST", "/orders", line(0), []string{"Idempotency-Key", "q0"}, 400, "invalid_request"},
		{"quantity 101", owner, "POST", "/orders", line(101), []string{"Idempotency-Key", "q101"}, 400, "invalid_request"},
		{"fractional quantity", owner, "POST", "/orders", `{"items":[{"productId":"` + p + `","quantity":1.5}]}`, []string{"Idempotency-Key", "qf"}, 400, "invalid_request"},
		{"no items", owner, "POST", "/orders", orders.Request{}, []string{"Idempotency-Key", "none"}, 400, "invalid_request"},
		{"51 items", owner, "POST", "/orders", many(51), []string{"Idempotency-Key", "k51"}, 400, "invalid_request"},
		{"duplicate lines", owner, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 1}, orders.Line{ProductID: p, Quantity: 2}), []string{"Idempotency-Key", "dup"}, 400, "invalid_request"},
		{"unknown field", owner, "POST", "/orders", `{"items":[{"productId":"` + p + `","quantity":1}],"coupon":"x"}`, []string{"Idempotency-Key", "uf"}, 400, "invalid_request"},
		{"bad product id", owner, "POST", "/orders", orderOf(orders.Line{ProductID: "../x", Quantity: 1}), []string{"Idempotency-Key", "bpid"}, 400, "invalid_request"},
		{"not json", owner, "POST", "/orders", "items=1", []string{"Idempotency-Key", "nj", "Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"unknown product", owner, "POST", "/orders", orderOf(orders.Line{ProductID: "no-such-product", Quantity: 1}), []string{"Idempotency-Key", "unknown"}, 404, "not_found"},
		{"unknown among known", owner, "POST", "/orders", orderOf(orders.Line{ProductID: p, Quantity: 1}, orders.Line{ProductID: "no-such-product", Quantity: 1}), []string{"Idempotency-Key", "unknown2"}, 404, "not_found"},
		{"key reused with another body", owner, "POST", "/orders", line(2), []string{"Idempotency-Key", "bad-owner-1"}, 422, "idempotency_key_reused"},
		{"another user's order", other, "GET", "/orders/" + mine.OrderID, nil, nil, 404, "not_found"},
		{"an order that does not exist", owner, "GET", "/orders/no-such-order", nil, nil, 404, "not_found"},
		{"bad order id", owner, "GET", "/orders/a.b", nil, nil, 400, "invalid_request"},
		{"admin reads any order", admin, "GET", "/orders/" + mine.OrderID, nil, nil, 200, ""},
		{"owner reads it", owner, "GET", "/orders/" + mine.OrderID, nil, nil, 200, ""},
		{"list without a token", anon, "GET", "/orders", nil, nil, 401, "unauthorized"},
		{"limit 0", owner, "GET", "/orders?limit=0", nil, nil, 400, "invalid_request"},
		{"limit 101", owner, "GET", "/orders?limit=101", nil, nil, 400, "invalid_request"},
		{"garbage cursor", owner, "GET", "/orders?cursor=not*a*cursor", nil, nil, 400, "invalid_request"},
		{"a products cursor", owner, "GET", "/orders?cursor=eyJwcm9kdWN0SWQiOiJ4In0", nil, nil, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Do(t, tc.method, tc.path, tc.body, tc.headers...).Expect(t, tc.status, tc.code)
		})
	}
	if left := stockLeft(t, p); left != 9 {
		t.Errorf("refused requests took stock: %d left, want 9", left)
	}
	// Another user's list does not show the order.
	r = other.Do(t, "GET", "/orders", nil)
	r.Expect(t, http.StatusOK, "")
	if strings.Contains(string(r.Body), mine.OrderID) {
		t.Error("another user's list shows the order")
	}
}

// An order whose line amount or total would exceed 2^53-1 is refused with 422, takes no
// stock and stores no order.
func TestOrderRefusesAmountsAboveTheLargest(t *testing.T) {
	buyer := asUser(t, st.URL, "huge-buyer")
	dear := putStockedProduct(t, "huge-dear", 1000, money.MaxAmount, "USD")
	var lines []orders.Line
	for i := range 11 {
		lines = append(lines, orders.Line{ProductID: putStockedProduct(t, fmt.Sprintf("huge-%02d", i), 1000, money.MaxAmount, "USD"), Quantity: 100})
	}
	cheap := putStockedProduct(t, "huge-cheap", 1000, 1, "USD")
	for name, req := range map[string]orders.Request{
		"line above the largest":           orderOf(orders.Line{ProductID: dear, Quantity: 2}),
		"eleven lines that wrapped int64":  {Items: lines},
		"two lines whose sum is too large": orderOf(orders.Line{ProductID: dear, Quantity: 1}, orders.Line{ProductID: cheap, Quantity: 1}),
	} {
		t.Run(name, func(t *testing.T) {
			buyer.Do(t, "POST", "/orders", req, "Idempotency-Key", strings.ReplaceAll(name, " ", "-")).
				Expect(t, http.StatusUnprocessableEntity, "unprocessable")
		})
	}
	for _, id := range []string{dear, cheap, lines[0].ProductID, lines[10].ProductID} {
		if left := stockLeft(t, id); left != 1000 {
			t.Errorf("a refused order took stock of %s: %d left", id, left)
		}
	}
	r := buyer.Do(t, "GET", "/orders", nil)
	r.Expect(t, http.StatusOK, "")
	var page struct{ Items []orders.Order }
	r.JSON(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("refused orders were stored: %+v", page.Items)
	}
	// The largest total itself is an order.
	r = buyer.Do(t, "POST", "/orders", orderOf(orders.Line{ProductID: dear, Quantity: 1}), "Idempotency-Key", "largest")
	r.Expect(t, http.StatusCreated, "")
	var o orders.Order
	r.JSON(t, &o)
	if o.Total != money.MaxAmount {
		t.Errorf("total %d, want %d", o.Total, int64(money.MaxAmount))
	}
}

// A refused order is answered the same way for its key's lifetime, even once the reason is
// gone (a restock, the product created, the price lowered), takes nothing, and the key
// refuses another body.
func TestRefusedOrderKeepsItsAnswer(t *testing.T) {
	buyer := asUser(t, st.URL, "refused-buyer")
	scarce := putStockedProduct(t, "refused-scarce", 1, 100, "USD")
	later := fmt.Sprintf("refused-later-%d", time.Now().UnixNano())
	dear := putStockedProduct(t, "refused-dear", 10, money.MaxAmount, "USD")
	for _, tc := range []struct {
		name   string
		body   orders.Request
		status int
		code   string
		change func(t *testing.T)
	}{
		{"out of stock", orderOf(orders.Line{ProductID: scarce, Quantity: 2}), 409, "out_of_stock",
			func(t *testing.T) { setStock(t, scarce, 10) }},
		{"unknown product", orderOf(orders.Line{ProductID: later, Quantity: 1}), 404, "not_found",
			func(t *testing.T) { putProduct(t, later, "refused-later", 10, 100, "USD") }},
		{"total too large", orderOf(orders.Line{ProductID: dear, Quantity: 2}), 422, "unprocessable",
			func(t *testing.T) { setNumber(t, dear, "price", 100) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "refused-" + strings.ReplaceAll(tc.name, " ", "-")
			first := buyer.Do(t, "POST", "/orders", tc.body, "Idempotency-Key", key)
			first.Expect(t, tc.status, tc.code)
			tc.change(t)
			id := tc.body.Items[0].ProductID
			before := stockLeft(t, id)
			again := buyer.Do(t, "POST", "/orders", tc.body, "Idempotency-Key", key)
			again.Expect(t, tc.status, tc.code)
			if string(again.Body) != string(first.Body) {
				t.Errorf("replay answered %s, first answer %s", again.Body, first.Body)
			}
			other := orderOf(orders.Line{ProductID: id, Quantity: tc.body.Items[0].Quantity + 1})
			buyer.Do(t, "POST", "/orders", other, "Idempotency-Key", key).Expect(t, 422, "idempotency_key_reused")
			if left := stockLeft(t, id); left != before {
				t.Errorf("the replays took stock: %d left, want %d", left, before)
			}
			// The reason is gone: a new key orders (once the stock gate's lease of 1 s saw the restock).
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; ; i++ {
				r := buyer.Do(t, "POST", "/orders", tc.body, "Idempotency-Key", fmt.Sprintf("%s-new-%d", key, i))
				if r.Status == http.StatusCreated {
					break
				}
				if time.Now().After(deadline) {
					r.Expect(t, http.StatusCreated, "")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
