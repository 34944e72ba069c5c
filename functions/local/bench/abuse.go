package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// botFactor is how many times a shopper's request rate the bot sends.
const botFactor = 50

// abuseErrorTolerance is how far, in percentage points, the shoppers' error rate with the
// bot and the per-user limit on may lie above the rate of the same sale without the bot
// and still count as unchanged: the two are separate samples on a shared machine, where a
// stalled second can push a few requests past DynamoDB's per-key limit or the client's
// timeout, bot or not. One point is 4 of the 400 requests of `make bench`'s sale; what
// the bot does without the limit is larger (README, Security).
const abuseErrorTolerance = 1.0

// runAbuse runs a flash sale three times, each on a product of its own with
// cfg.AbuseStock units and a maxPerCustomer of cfg.AbuseMaxPerCustomer: without a bot and
// with it, on a gateway whose functions have the dev stack's per-user limits; and with the
// bot on a gateway whose functions have no limiter at all. The bench's stage has no
// per-address rule at its edge (Options.EdgeRates), so every client comes from 127.0.0.1
// and only the per-user limit tells the bot from the shoppers.
func runAbuse(ctx context.Context, st *stage.Stage, cfg Config, rep *Report) error {
	_, limits, err := stage.StackLimits()
	if err != nil {
		return err
	}
	checkout := limits[manifest.LimitCheckout]
	// A shopper sends ShopperRequests evenly over the sale, all within their burst, so
	// that what the limit refuses is the bot's alone.
	if cfg.AbuseShopperRequests > checkout.Burst {
		return fmt.Errorf("%d requests a shopper would be over the checkout burst of %d", cfg.AbuseShopperRequests, checkout.Burst)
	}
	limited, err := st.ServeWithUserLimits(ctx, limits)
	if err != nil {
		return err
	}
	unlimited, err := st.ServeWithoutUserLimits(ctx)
	if err != nil {
		return err
	}
	// A short sale on each gateway first, so that no run pays for its functions' first
	// connections or DynamoDB Local's first transactions.
	warm := cfg
	warm.AbuseDuration = cfg.AbuseDuration / 5
	for _, base := range []string{limited, unlimited} {
		if _, err := abuseSale(ctx, st, base, true, warm); err != nil {
			return err
		}
	}
	ab := &Abuse{Shoppers: cfg.AbuseShoppers, ShopperRequests: cfg.AbuseShopperRequests, Seconds: cfg.AbuseDuration.Seconds(),
		Stock: cfg.AbuseStock, MaxPerCustomer: cfg.AbuseMaxPerCustomer, BotFactor: botFactor, CheckoutLimit: checkout}
	for _, r := range []struct {
		bot, limit bool
		base       string
	}{{false, true, limited}, {true, true, limited}, {true, false, unlimited}} {
		run, err := abuseSale(ctx, st, r.base, r.bot, cfg)
		if err != nil {
			return err
		}
		run.UserLimits = r.limit
		ab.Runs = append(ab.Runs, run)
	}
	rep.Abuse = ab
	return nil
}

// abuseSale is one sale: the shoppers' requests are paced evenly (the i-th goes to shopper
// i mod Shoppers, so each shopper's are Seconds/ShopperRequests apart) and, with bot, the
// bot's at botFactor times one shopper's rate at the same time, each of them on as many
// connections as its requests in flight need.
func abuseSale(ctx context.Context, st *stage.Stage, base string, bot bool, cfg Config) (AbuseRun, error) {
	run := AbuseRun{Bot: bot, ShopperAnswers: map[string]int{}, BotAnswers: map[string]int{}}
	table, err := st.Admin.Config.Table(tables.Products)
	if err != nil {
		return run, err
	}
	id := fmt.Sprintf("abuse-%d", time.Now().UnixNano())
	now := time.Now().UTC().Format(time.RFC3339)
	limit := int64(cfg.AbuseMaxPerCustomer)
	if err := catalog.NewStore(st.Admin.DynamoDB, table).Put(ctx, catalog.Product{
		ProductID: id, Name: "Flash sale with a bot", Category: "flash", Price: 999, Currency: "USD",
		Stock: int64(cfg.AbuseStock), MaxPerCustomer: &limit, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return run, err
	}
	shoppers, err := shopperTokens(st, id, cfg.AbuseShoppers)
	if err != nil {
		return run, err
	}
	botUser := id + "-bot"
	botToken, err := st.Token(botUser)
	if err != nil {
		return run, err
	}
	body, _ := json.Marshal(orders.Request{Items: []orders.Line{{ProductID: id, Quantity: 1}}})
	dur := cfg.AbuseDuration

	throttledBefore := throttledOn(st, tables.Products) + throttledOn(st, tables.Stock)
	transactionsBefore := transactionsOn(st, tables.Products)
	var wg sync.WaitGroup
	var botResults []vegeta.Result
	if bot {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := botFactor * cfg.AbuseShopperRequests
			botResults = paced(ctx, "bot", orderTargeter(base+"/orders", id+"-bot", body, []string{botToken}), vegeta.Rate{Freq: n, Per: dur}, n)
		}()
	}
	n := cfg.AbuseShoppers * cfg.AbuseShopperRequests
	shopperResults := paced(ctx, "shoppers", orderTargeter(base+"/orders", id, body, shoppers), vegeta.Rate{Freq: n, Per: dur}, n)
	wg.Wait()
	run.Throttled = throttledOn(st, tables.Products) + throttledOn(st, tables.Stock) - throttledBefore
	run.Transactions = transactionsOn(st, tables.Products) - transactionsBefore

	var latencies []time.Duration
	for _, r := range shopperResults {
		answer, ok := classify(r)
		run.ShopperAnswers[answer]++
		latencies = append(latencies, r.Latency)
		if !ok {
			run.ShopperErrors++
		}
	}
	run.ShopperRequests = len(shopperResults)
	if run.ShopperRequests > 0 {
		run.ShopperErrorRate = 100 * float64(run.ShopperErrors) / float64(run.ShopperRequests)
	}
	run.ShopperP50Ms, run.ShopperP99Ms = quantileMs(latencies, 0.5), quantileMs(latencies, 0.99)
	for _, r := range botResults {
		answer, _ := classify(r)
		run.BotAnswers[answer]++
		if r.Code == http.StatusTooManyRequests {
			if string(r.Body) == manifest.EdgeRateLimitedBody {
				run.BotEdgeRefused++
			} else {
				run.BotRateLimited++
			}
		}
	}
	run.BotRequests = len(botResults)

	// What DynamoDB holds.
	units, err := unitsByUser(ctx, st, id)
	if err != nil {
		return run, err
	}
	for user, n := range units {
		if user == botUser {
			run.BotUnits = n
		} else {
			run.ShopperUnits += n
		}
	}
	run.Oversold = max(0, int(run.BotUnits+run.ShopperUnits)-cfg.AbuseStock)
	return run, nil
}

// transactionsOn is how many transactions on table the orders function sent the DynamoDB
// endpoint so far: a checkout's, whether it confirms the order or is cancelled.
func transactionsOn(st *stage.Stage, t tables.Table) int64 {
	name, _ := st.Admin.Config.Table(t)
	return st.DynamoDB().Usage()[dynproxy.Caller{Function: "orders", Table: name}].Operations["TransactWriteItems"]
}

// paced sends n of targeter's requests at rate (open loop: a late answer does not delay
// the next request) and returns every result with its body. It stops after n requests, not
// at a time, so that every planned request is sent even where the pacer falls behind the
// clock on a busy machine.
func paced(ctx context.Context, name string, targeter vegeta.Targeter, rate vegeta.Rate, n int) []vegeta.Result {
	atk := vegeta.NewAttacker(vegeta.Workers(100), vegeta.MaxWorkers(1000), vegeta.Connections(1000),
		vegeta.KeepAlive(true), vegeta.MaxBody(-1), vegeta.Timeout(30*time.Second))
	var out []vegeta.Result
	results, done := atk.Attack(targeter, countPacer{rate, uint64(n)}, 0, name), ctx.Done()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				return out
			}
			out = append(out, *r)
		case <-done:
			atk.Stop()
			done = nil
		}
	}
}

// countPacer paces as its rate does and stops after n requests.
type countPacer struct {
	rate vegeta.Rate
	n    uint64
}

func (p countPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.n {
		return 0, true
	}
	return p.rate.Pace(elapsed, hits)
}

func (p countPacer) Rate(elapsed time.Duration) float64 { return p.rate.Rate(elapsed) }

// orderTargeter orders one unit of the body's product per request, each under a new
// Idempotency-Key, as the users of tokens in turn.
func orderTargeter(url, keyPrefix string, body []byte, tokens []string) vegeta.Targeter {
	var n atomic.Int64
	return func(t *vegeta.Target) error {
		i := n.Add(1) - 1
		t.Method, t.URL, t.Body = http.MethodPost, url, body
		t.Header = http.Header{
			"Content-Type":    {"application/json"},
			"Authorization":   {"Bearer " + tokens[i%int64(len(tokens))]},
			"Idempotency-Key": {keyPrefix + "-" + strconv.FormatInt(i, 10)},
		}
		return nil
	}
}

// classify names an answer by its status and error code ("201", "409 out_of_stock", "429
// rate_limited", "error: ..."); ok is whether it is one a shopper in a sale expects: an
// order, or sold out or over the purchase limit.
func classify(r vegeta.Result) (answer string, ok bool) {
	if r.Error != "" && r.Code == 0 {
		return "error: " + r.Error, false
	}
	answer = strconv.Itoa(int(r.Code))
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if r.Code >= 400 && json.Unmarshal(r.Body, &e) == nil && e.Error.Code != "" {
		answer += " " + e.Error.Code
	}
	switch answer {
	case "201", "409 out_of_stock", "409 purchase_limit":
		return answer, true
	}
	return answer, false
}

// unitsByUser scans the orders table for the orders of product: the units each user bought.
func unitsByUser(ctx context.Context, st *stage.Stage, product string) (map[string]int64, error) {
	out := map[string]int64{}
	err := eachOrder(ctx, st, func(o orders.Order) {
		for _, it := range o.Items {
			if it.ProductID == product {
				out[o.UserID] += it.Quantity
			}
		}
	})
	return out, err
}

func abuseTargets(r *Report) []Target {
	a := r.Abuse
	if a == nil || len(a.Runs) != 3 {
		return nil
	}
	base, on, off := a.Runs[0], a.Runs[1], a.Runs[2]
	return []Target{
		{fmt.Sprintf("abuse: the bot got at most its maxPerCustomer (%d) with the per-user limit on and off", a.MaxPerCustomer),
			fmt.Sprintf("%d units with the limit on, %d off; oversold %d, %d", on.BotUnits, off.BotUnits, on.Oversold, off.Oversold),
			on.BotUnits <= int64(a.MaxPerCustomer) && off.BotUnits <= int64(a.MaxPerCustomer) && on.Oversold == 0 && off.Oversold == 0},
		{fmt.Sprintf("abuse: shoppers' error rate with the bot and the limit on within %.1f points of the sale without the bot", abuseErrorTolerance),
			fmt.Sprintf("%.2f%% (%d of %d) vs %.2f%% (%d of %d) without the bot; %.2f%% with the bot and no limit",
				on.ShopperErrorRate, on.ShopperErrors, on.ShopperRequests, base.ShopperErrorRate, base.ShopperErrors, base.ShopperRequests, off.ShopperErrorRate),
			on.ShopperErrorRate <= base.ShopperErrorRate+abuseErrorTolerance},
	}
}

func printAbuse(w io.Writer, a *Abuse) {
	if a == nil {
		return
	}
	fmt.Fprintf(w, "abuse\tsale\t%d units, maxPerCustomer %d, %d shoppers x %d requests in %.0f s; bot at %dx a shopper's rate; checkout limit %d/min, burst %d\n",
		a.Stock, a.MaxPerCustomer, a.Shoppers, a.ShopperRequests, a.Seconds, a.BotFactor, a.CheckoutLimit.PerMinute, a.CheckoutLimit.Burst)
	for _, run := range a.Runs {
		fmt.Fprintf(w, "\t%s: shoppers' p50 / p99, error rate\t%.2f / %.2f ms, %.2f%% (%d of %d)\n",
			run.name(), run.ShopperP50Ms, run.ShopperP99Ms, run.ShopperErrorRate, run.ShopperErrors, run.ShopperRequests)
		if run.Bot {
			fmt.Fprintf(w, "\t  bot: units, 429s of requests\t%d, %d of %d  (edge 429s %d)\n", run.BotUnits, run.BotRateLimited, run.BotRequests, run.BotEdgeRefused)
		}
		fmt.Fprintf(w, "\t  units to shoppers, oversold; checkout transactions, throttled\t%d, %d; %d, %d\n", run.ShopperUnits, run.Oversold, run.Transactions, run.Throttled)
		fmt.Fprintf(w, "\t  answers\tshoppers %v, bot %v\n", run.ShopperAnswers, run.BotAnswers)
	}
}

func (r AbuseRun) name() string {
	switch {
	case !r.Bot:
		return "no bot, limit on"
	case r.UserLimits:
		return "bot, limit on"
	}
	return "bot, limit off"
}
