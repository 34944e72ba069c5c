package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/tables"
)

// runCost measures what a catalog read and an order use, and prices it for dev and prod:
// Zipf reads of the seeded catalog through the gateway with the cache and through the naive
// one (every read a DynamoDB read), and a flash sale through the gateway with the gate and
// through the naive one (no Redis: DynamoDB's conditions refuse the sold-out attempts).
// Requests, their durations (billed per started millisecond; the gateway's whole latency,
// so an upper bound of the handler's), DynamoDB's units as the local endpoint metered them
// and Redis commands are counted per run.
func runCost(ctx context.Context, st *stage.Stage, naiveURL string, cfg Config, rep *Report) error {
	docBytes, err := meanDocumentBytes(st.URL)
	if err != nil {
		return err
	}
	measure := func(run func() (Work, error)) (Work, error) {
		before, calls, err := snapshot(ctx, st)
		if err != nil {
			return Work{}, err
		}
		w, err := run()
		if err != nil {
			return Work{}, err
		}
		after, callsAfter, err := snapshot(ctx, st)
		if err != nil {
			return Work{}, err
		}
		w.ReadUnits, w.WriteUnits = unitsBetween(before, after)
		w.CacheCalls = callsAfter - calls
		return w, nil
	}
	reads := func(base string, seed uint64) func() (Work, error) {
		return func() (Work, error) {
			r := attack("cost-read", productTargeter(base, seedIDs(), seed), cfg.Workers, cfg.CostReadDuration)
			if n := r.errors(); n > 0 {
				return Work{}, fmt.Errorf("%d of %d reads failed", n, len(r.samples))
			}
			return Work{Requests: int64(len(r.samples)), BilledMs: billedMs(r.latencies()), ResponseBytes: int64(len(r.samples)) * docBytes}, nil
		}
	}
	var c CostReport
	var sales [2]saleResult
	steps := []struct {
		into *Work
		run  func() (Work, error)
	}{
		{&c.CachedReads, reads(st.URL, 11)},
		{&c.NaiveReads, reads(naiveURL, 12)},
		{&c.GatedSale, func() (Work, error) { return sale(ctx, st, st.URL, cfg.CostSaleStock, cfg.CostSaleAttempts, &sales[0]) }},
		{&c.UngatedSale, func() (Work, error) {
			return sale(ctx, st, naiveURL, cfg.CostSaleStock, cfg.CostSaleAttempts, &sales[1])
		}},
	}
	for _, s := range steps {
		if *s.into, err = measure(s.run); err != nil {
			return err
		}
	}
	c.GatedOrders, c.UngatedOrders = sales[0].confirmed, sales[1].confirmed
	for _, name := range []string{"dev", "prod"} {
		stack, err := loadStack(name)
		if err != nil {
			return err
		}
		cacheCharged := stack.CacheNodes == 0 // nodes are paid by the hour, not per command
		perRead := func(w Work) Cost {
			return price(withCache(w, cacheCharged), stack.CatalogMB, false).scaled(1e6 / float64(w.Requests))
		}
		perOrders := func(w Work, n int) Cost {
			return price(withCache(w, cacheCharged), stack.OrdersMB, false).scaled(1000 / float64(max(n, 1)))
		}
		c.Stacks = append(c.Stacks, StackCost{
			Stack:                name,
			CatalogMB:            stack.CatalogMB,
			OrdersMB:             stack.OrdersMB,
			CacheMonthlyUSD:      float64(stack.CacheNodes) * stack.CacheNodeHour.USD * 730,
			PerMillionCached:     perRead(c.CachedReads),
			PerMillionNaive:      perRead(c.NaiveReads),
			PerMillionCachedCDN:  price(withCache(c.CachedReads, cacheCharged), stack.CatalogMB, true).scaled(1e6 / float64(c.CachedReads.Requests)),
			PerThousandGated:     perOrders(c.GatedSale, c.GatedOrders),
			PerThousandUngated:   perOrders(c.UngatedSale, c.UngatedOrders),
			CacheChargedPerCall:  cacheCharged,
			ResponseBytesPerRead: docBytes,
		})
	}
	rep.Cost = &c
	return nil
}

// withCache leaves the cache's calls in w only where the cache is billed per call.
func withCache(w Work, charged bool) Work {
	if !charged {
		w.CacheCalls = 0
	}
	return w
}

// snapshot is the DynamoDB endpoint's counts and Redis's command count now.
func snapshot(ctx context.Context, st *stage.Stage) (map[dynproxy.Caller]dynproxy.Usage, int64, error) {
	info, err := st.Admin.Redis.Info(ctx, "stats").Result()
	if err != nil {
		return nil, 0, fmt.Errorf("redis INFO: %w", err)
	}
	var commands int64
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			commands, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	// The INFO call itself is one command.
	return st.DynamoDB().Usage(), commands + 1, nil
}

// unitsBetween sums the functions' read and write units between two snapshots; the stage's
// own (admin) requests are not a shopper's.
func unitsBetween(before, after map[dynproxy.Caller]dynproxy.Usage) (read, write float64) {
	for c, u := range after {
		if c.Function == stage.AdminIdentity {
			continue
		}
		read += u.ReadUnits - before[c].ReadUnits
		write += u.WriteUnits - before[c].WriteUnits
	}
	return read, write
}

func billedMs(ls []time.Duration) float64 {
	var ms float64
	for _, l := range ls {
		ms += math.Ceil(float64(l) / float64(time.Millisecond))
	}
	return ms
}

// meanDocumentBytes is the mean size of a seeded product's answer.
func meanDocumentBytes(base string) (int64, error) {
	var total int64
	ids := seedIDs()
	for _, id := range ids {
		resp, err := http.Get(base + "/products/" + id)
		if err != nil {
			return 0, err
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		total += n
	}
	return total / int64(len(ids)), nil
}

type saleResult struct{ confirmed int }

// sale puts a product with stock units on sale and sends attempts concurrent one-unit
// orders to base, each with its own key, as many shoppers at once.
func sale(ctx context.Context, st *stage.Stage, base string, stock, attempts int, out *saleResult) (Work, error) {
	table, err := st.Admin.Config.Table(tables.Products)
	if err != nil {
		return Work{}, err
	}
	id := fmt.Sprintf("cost-%d", time.Now().UnixNano())
	now := time.Now().UTC().Format(time.RFC3339)
	if err := catalog.NewStore(st.Admin.DynamoDB, table).Put(ctx, catalog.Product{
		ProductID: id, Name: "Cost of a sale", Category: "flash", Price: 999, Currency: "USD",
		Stock: int64(stock), CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return Work{}, err
	}
	tokens, err := shopperTokens(st, "cost", 100)
	if err != nil {
		return Work{}, err
	}
	body, _ := json.Marshal(orders.Request{Items: []orders.Line{{ProductID: id, Quantity: 1}}})
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1000}}
	var mu sync.Mutex
	var latencies []time.Duration
	confirmed := 0
	statuses := map[int]int{}
	failed := burst(attempts, func(i int) bool {
		answers, o, err := placeOrder(ctx, client, base, tokens[i%len(tokens)], fmt.Sprintf("%s-%d", id, i), body)
		mu.Lock()
		defer mu.Unlock()
		for _, a := range answers {
			latencies = append(latencies, a.latency)
			statuses[a.status]++
		}
		if o.OrderID != "" {
			confirmed++
		}
		return err == nil
	})
	if failed > 0 {
		return Work{}, fmt.Errorf("sale at %s: %d of %d shoppers got no order and no sold out (answers %v)", base, failed, attempts, statuses)
	}
	out.confirmed = confirmed
	return Work{Requests: int64(len(latencies)), BilledMs: billedMs(latencies)}, nil
}

// shopperTokens issues tokens for n shoppers named after prefix.
func shopperTokens(st *stage.Stage, prefix string, n int) ([]string, error) {
	tokens := make([]string, n)
	for i := range tokens {
		var err error
		if tokens[i], err = st.Token(fmt.Sprintf("%s-shopper-%03d", prefix, i)); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

func costTargets(r *Report) []Target {
	if r.Cost == nil {
		return nil
	}
	var ts []Target
	for _, s := range r.Cost.Stacks {
		c, n := s.PerMillionCached.Total, s.PerMillionNaive.Total
		ts = append(ts, Target{"cost: " + s.Stack + " cached catalog reads at least 5x cheaper than naive",
			fmt.Sprintf("%.3f vs %.3f USD per million = %.2fx (DynamoDB and cache alone: %.4f vs %.4f)",
				c, n, n/c, s.PerMillionCached.DynamoDB+s.PerMillionCached.Cache, s.PerMillionNaive.DynamoDB+s.PerMillionNaive.Cache),
			n >= 5*c})
	}
	return ts
}

func printCost(w io.Writer, c *CostReport) {
	if c == nil {
		return
	}
	for i, s := range c.Stacks {
		name := ""
		if i == 0 {
			name = "cost"
		}
		fmt.Fprintf(w, "%s\t%s: per million reads, cached / naive\t%.3f / %.3f USD  (behind CloudFront: %.3f)\n",
			name, s.Stack, s.PerMillionCached.Total, s.PerMillionNaive.Total, s.PerMillionCachedCDN.Total)
		fmt.Fprintf(w, "\t%s: per 1,000 orders, gate / no gate\t%.4f / %.4f USD  (cache %.0f USD a month, fixed)\n",
			s.Stack, s.PerThousandGated.Total, s.PerThousandUngated.Total, s.CacheMonthlyUSD)
	}
}
