package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/tables"
)

// runFlashSale puts a product with cfg.FlashStock units on sale and sends cfg.FlashAttempts
// concurrent orders of one unit over HTTP, each with its own idempotency key; a
// cfg.FlashRetryPercent share of them is sent a second time with the same key shortly after,
// as a client that timed out would. The DynamoDB tables are then read for the truth. With
// busyLoops > 0 the sale runs beside that many CPU busy loops, as on a machine busy with
// other work, where Redis answers late.
func runFlashSale(ctx context.Context, st *stage.Stage, m *meter, cfg Config, busyLoops int, out *FlashSale) error {
	table, err := st.Admin.Config.Table(tables.Products)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("flash-%d", time.Now().UnixNano())
	now := time.Now().UTC().Format(time.RFC3339)
	if err := catalog.NewStore(st.Admin.DynamoDB, table).Put(ctx, catalog.Product{
		ProductID: id, Name: "Flash sale", Category: "flash", Price: 999, Currency: "USD",
		Stock: int64(cfg.FlashStock), CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return err
	}
	const users = 500
	tokens := make([]string, users)
	for u := range tokens {
		if tokens[u], err = st.Token(fmt.Sprintf("shopper-%03d", u)); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(orders.Request{Items: []orders.Line{{ProductID: id, Quantity: 1}}})
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}

	type answer struct {
		key     string
		status  int
		orderID string
		err     error
	}
	var mu sync.Mutex
	var answers []answer
	send := func(user int, key string) {
		a := answer{key: key}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.URL+"/orders", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[user])
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			a.err = err
		} else {
			var o orders.Order
			_ = json.NewDecoder(resp.Body).Decode(&o)
			resp.Body.Close()
			a.status, a.orderID = resp.StatusCode, o.OrderID
		}
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	}

	retries := cfg.FlashAttempts * cfg.FlashRetryPercent / 100
	m.soldOutWrites.Store(0)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range cfg.FlashAttempts {
		key := fmt.Sprintf("%s-%d", id, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			send(i%users, key)
		}()
		if i < retries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
				send(i%users, key)
			}()
		}
	}
	stopLoops := startBusyLoops(busyLoops, maxBusy)
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	stopLoops()

	// What the shoppers were told.
	byKey := map[string]map[string]bool{}
	errs, errorAnswers := 0, map[string]int{}
	for _, a := range answers {
		switch {
		case a.err == nil && (a.status == http.StatusCreated || a.status == http.StatusOK) && a.orderID != "":
			if byKey[a.key] == nil {
				byKey[a.key] = map[string]bool{}
			}
			byKey[a.key][a.orderID] = true
		case a.err == nil && a.status == http.StatusConflict:
		default:
			errs++
			if a.err != nil {
				errorAnswers[a.err.Error()]++
			} else {
				errorAnswers[http.StatusText(a.status)]++
			}
		}
	}
	// What DynamoDB holds.
	stored, units, err := ordersOf(ctx, st, id)
	if err != nil {
		return err
	}
	duplicates := stored - len(byKey)
	for _, ids := range byKey {
		duplicates += len(ids) - 1
	}
	p, err := catalog.NewStore(st.Admin.DynamoDB, table).Get(ctx, id)
	if err != nil {
		return err
	}
	oversold := max(0, int(units)-cfg.FlashStock, int(-p.Stock))
	*out = FlashSale{
		Stock:           cfg.FlashStock,
		Attempts:        cfg.FlashAttempts,
		Retries:         retries,
		Confirmed:       len(byKey),
		Oversold:        oversold,
		Duplicates:      duplicates,
		SoldOutDBWrites: m.soldOutWrites.Load(),
		OrdersPerS:      float64(len(answers)) / elapsed.Seconds(),
		Seconds:         elapsed.Seconds(),
		BusyLoops:       busyLoops,
		Errors:          errs,
		ErrorAnswers:    errorAnswers,
	}
	return nil
}

// ordersOf scans the orders table for the orders of product: how many, and how many units.
func ordersOf(ctx context.Context, st *stage.Stage, product string) (count int, units int64, err error) {
	err = eachOrder(ctx, st, func(o orders.Order) {
		for _, it := range o.Items {
			if it.ProductID == product {
				count++
				units += it.Quantity
			}
		}
	})
	return count, units, err
}

// eachOrder calls f with every order of the orders table (a consistent scan).
func eachOrder(ctx context.Context, st *stage.Stage, f func(orders.Order)) error {
	table, err := st.Admin.Config.Table(tables.Orders)
	if err != nil {
		return err
	}
	p := dynamodb.NewScanPaginator(st.Admin.DynamoDB, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		var os []orders.Order
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &os); err != nil {
			return err
		}
		for _, o := range os {
			f(o)
		}
	}
	return nil
}

// maxBusy bounds how long the busy loops of a loaded sale spin, should the sale hang.
const maxBusy = 2 * time.Minute

// startBusyLoops spins n goroutines until the returned stop is called or limit passes.
func startBusyLoops(n int, limit time.Duration) (stop func()) {
	done := make(chan struct{})
	deadline := time.Now().Add(limit)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
				if x%4096 == 0 {
					select {
					case <-done:
						return
					default:
					}
					if time.Now().After(deadline) {
						return
					}
				}
			}
		}()
	}
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
