package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/tables"
)

// runHotSKU sells one product to more shoppers than it has units, with DynamoDB's per-key
// limit on (scaled): with its stock on one shard, then on cfg.HotSKUShards shards (POST
// /products with "stockShards"). Each sale has cfg.HotSKUStock units per shard, so that if
// shards sold in parallel every sale would last as long, and its rate is measured from its
// first to its last confirmed order: a sale over before the first transactions settle
// measures no rate. A shopper told 503 tries again with the same key after Retry-After,
// as the storefront does.
func runHotSKU(ctx context.Context, st *stage.Stage, cfg Config, rep *Report) error {
	limits := dynproxy.ServiceLimits.Scaled(cfg.HotSKUScale)
	st.DynamoDB().SetLimits(limits)
	hs := &HotSKU{WriteUnitsPerKey: limits.WriteUnits}
	for _, shards := range []int{1, cfg.HotSKUShards} {
		run, err := hotSale(ctx, st, shards, cfg)
		if err != nil {
			return fmt.Errorf("%d shards: %w", shards, err)
		}
		hs.Runs = append(hs.Runs, run)
	}
	rep.HotSKU = hs
	return nil
}

func hotSale(ctx context.Context, st *stage.Stage, shards int, cfg Config) (HotSale, error) {
	stock := cfg.HotSKUStock * shards
	run := HotSale{Shards: shards, Stock: stock, Shoppers: max(cfg.HotSKUShoppers, 2*stock), Answers: map[int]int{}, Unfinished: map[string]int{}}
	admin, err := st.Token("hot-sku-admin", "admin")
	if err != nil {
		return run, err
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
	// call sends one request with token (and an Idempotency-Key when key is set) and decodes
	// the answer into out.
	call := func(method, path, token, key string, body any, out any) (int, http.Header, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, st.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode, resp.Header, nil
	}

	var product struct {
		ProductID string `json:"productId"`
		Stock     int64  `json:"stock"`
	}
	status, _, err := call(http.MethodPost, "/products", admin, "", map[string]any{
		"name": fmt.Sprintf("Hot item on %d shards", shards), "category": "flash", "price": 999, "currency": "USD", "stock": stock,
		"stockShards": shards,
	}, &product)
	if err != nil || status != http.StatusCreated {
		return run, fmt.Errorf("create product: %d %v", status, err)
	}
	id := product.ProductID
	tokens, err := shopperTokens(st, "hot", 500)
	if err != nil {
		return run, err
	}
	throttledBefore := throttledOn(st, tables.Products) + throttledOn(st, tables.Stock)

	type confirmed struct{ key, orderID, token string }
	var mu sync.Mutex
	var orderIDs []confirmed
	var first, last time.Time
	body, _ := json.Marshal(orders.Request{Items: []orders.Line{{ProductID: id, Quantity: 1}}})
	burst(run.Shoppers, func(i int) bool {
		key := fmt.Sprintf("%s-%d", id, i)
		token := tokens[i%len(tokens)]
		answers, o, err := placeOrder(ctx, client, st.URL, token, key, body)
		mu.Lock()
		defer mu.Unlock()
		for _, a := range answers {
			run.Answers[a.status]++
			if !a.final && !a.retry {
				run.OutOfContract++
			}
		}
		if o.OrderID != "" {
			orderIDs = append(orderIDs, confirmed{key, o.OrderID, token})
			if last = time.Now(); first.IsZero() {
				first = last
			}
		}
		if err != nil {
			run.Unfinished[err.Error()]++
		}
		return err == nil
	})
	run.Throttled = throttledOn(st, tables.Products) + throttledOn(st, tables.Stock) - throttledBefore

	byKey := map[string]map[string]bool{}
	for _, c := range orderIDs {
		if byKey[c.key] == nil {
			byKey[c.key] = map[string]bool{}
		}
		byKey[c.key][c.orderID] = true
	}
	run.Confirmed = len(byKey)
	// The units after the first, over the time they took: the sale's sustained rate.
	if d := last.Sub(first); d > 0 && run.Confirmed > 1 {
		run.SaleSeconds = d.Seconds()
		run.UnitsPerS = float64(run.Confirmed-1) / d.Seconds()
	}
	stored, units, err := ordersOf(ctx, st, id)
	if err != nil {
		return run, err
	}
	run.Duplicates = stored - len(byKey)
	for _, ids := range byKey {
		run.Duplicates += len(ids) - 1
	}
	status, _, err = call(http.MethodGet, "/products/"+id, admin, "", nil, &product)
	if err != nil || status != http.StatusOK {
		return run, fmt.Errorf("read product: %d %v", status, err)
	}
	run.Oversold = max(0, int(units)-stock, int(-product.Stock))
	run.Unreadable = burst(len(orderIDs), func(i int) bool {
		c := orderIDs[i]
		var o orders.Order
		status, _, err := call(http.MethodGet, "/orders/"+c.orderID, c.token, "", nil, &o)
		return err == nil && status == http.StatusOK && o.OrderID == c.orderID
	})
	return run, nil
}

// throttledOn is how many requests of the orders function on table the DynamoDB endpoint
// refused for throughput so far.
func throttledOn(st *stage.Stage, t tables.Table) int64 {
	name, _ := st.Admin.Config.Table(t)
	return st.DynamoDB().Usage()[dynproxy.Caller{Function: "orders", Table: name}].Throttled
}

func hotSKUTargets(r *Report) []Target {
	h := r.HotSKU
	if h == nil || len(h.Runs) == 0 {
		return nil
	}
	var ts []Target
	for _, run := range h.Runs {
		ts = append(ts, Target{fmt.Sprintf("hot_sku: %d shard(s) oversold 0, duplicates 0, every confirmed order readable", run.Shards),
			fmt.Sprintf("oversold %d, duplicates %d, unreadable %d of %d", run.Oversold, run.Duplicates, run.Unreadable, run.Confirmed),
			run.Oversold == 0 && run.Duplicates == 0 && run.Unreadable == 0})
	}
	one := h.Runs[0]
	ts = append(ts, Target{"hot_sku: 1 shard throttled, every answer 2xx, 409 or 503 with Retry-After",
		fmt.Sprintf("%d requests throttled, %d answers outside the contract (%v), shoppers without a final answer %v", one.Throttled, one.OutOfContract, one.Answers, one.Unfinished),
		one.Throttled > 0 && one.OutOfContract == 0 && len(one.Unfinished) == 0})
	speedup := Target{Name: "hot_sku: 10 shards sell at least 8x faster than 1", Measured: "not measured: " + h.Note}
	if len(h.Runs) > 1 {
		many := h.Runs[len(h.Runs)-1]
		speedup.Measured = fmt.Sprintf("%.1f vs %.1f units/s = %.1fx", many.UnitsPerS, one.UnitsPerS, many.UnitsPerS/one.UnitsPerS)
		speedup.Met = many.UnitsPerS >= 8*one.UnitsPerS
	}
	return append(ts, speedup)
}

func printHotSKU(w io.Writer, h *HotSKU) {
	if h == nil {
		return
	}
	for i, run := range h.Runs {
		name := ""
		if i == 0 {
			name = "hot_sku"
		}
		fmt.Fprintf(w, "%s\t%d shard(s): units/s, sold of stock\t%.1f, %d of %d  (%d shoppers, %.1f s, %.0f WCU/s per key)\n",
			name, run.Shards, run.UnitsPerS, run.Confirmed, run.Stock, run.Shoppers, run.SaleSeconds, h.WriteUnitsPerKey)
		fmt.Fprintf(w, "\t  throttled, oversold, duplicates, unreadable\t%d, %d, %d, %d\n", run.Throttled, run.Oversold, run.Duplicates, run.Unreadable)
		fmt.Fprintf(w, "\t  answers, without a final answer\t%v, %v\n", run.Answers, run.Unfinished)
	}
	if h.Note != "" {
		fmt.Fprintf(w, "\t  note\t%s\n", h.Note)
	}
}

// answer is one answer a shopper got: final (an order or sold out) or retry (503 or 429
// with Retry-After).
type answer struct {
	status       int
	latency      time.Duration
	final, retry bool
}

// placeOrder orders as a shopper does: under key, and again with the same key after
// Retry-After when told to retry, up to 60 times. It returns every answer and the order if
// one was placed; err when no final answer came.
func placeOrder(ctx context.Context, client *http.Client, base, token, key string, body []byte) ([]answer, orders.Order, error) {
	var answers []answer
	for range 60 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/orders", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return answers, orders.Order{}, err
		}
		var o orders.Order
		_ = json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
		a := answer{status: resp.StatusCode, latency: time.Since(t0)}
		placed := a.status == http.StatusCreated || a.status == http.StatusOK
		a.final = placed || a.status == http.StatusConflict
		a.retry = (a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests) && resp.Header.Get("Retry-After") != ""
		answers = append(answers, a)
		switch {
		case placed:
			return answers, o, nil
		case !a.retry:
			if a.final {
				return answers, orders.Order{}, nil
			}
			return answers, orders.Order{}, fmt.Errorf("answered %d", a.status)
		}
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(secs, 1)) * time.Second)
	}
	return answers, orders.Order{}, fmt.Errorf("no final answer after %d tries", len(answers))
}
