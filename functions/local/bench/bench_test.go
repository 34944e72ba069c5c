package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shop-serverless/shop/functions/manifest"
)

// smoke runs every scenario for seconds: it checks correctness, never timing (the machines
// are shared; speed is what `make bench` reports).
var smoke = Config{
	Workers:              4,
	HotReadDuration:      time.Second,
	RedisDownDuration:    1500 * time.Millisecond,
	StampedeRequests:     200,
	StampedeInstances:    8,
	StampedeEnvironments: 10,
	FlashStock:           10,
	FlashAttempts:        200,
	FlashRetryPercent:    10,
	ColdStarts:           2,
	LimitScale:           0.1,
	HotSKUStock:          20,
	HotSKUShoppers:       200,
	HotSKUShards:         10,
	HotSKUScale:          0.01,
	CostReadDuration:     time.Second,
	CostSaleStock:        10,
	CostSaleAttempts:     100,
	AbuseShoppers:        20,
	AbuseShopperRequests: 4,
	AbuseDuration:        2 * time.Second,
	AbuseStock:           30,
	AbuseMaxPerCustomer:  2,
}

// TestBenchSmoke runs every scenario, or those $BENCH_SCENARIOS names (comma-separated).
func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cfg := smoke
	if only := os.Getenv("BENCH_SCENARIOS"); only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	rep, err := Run(ctx, cfg, logWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ran := func(name string) bool { return slices.Contains(rep.Scenarios, name) }
	h := rep.HotRead
	if ran("hot_read") && (h.CachedRPS <= 0 || h.NaiveRPS <= 0 || h.CachedP50Ms <= 0 || h.FloorHTTPP50Ms <= 0 || h.FloorHTTPRPS <= 0 || h.RedisGetP50Ms <= 0) {
		t.Errorf("hot_read figures missing: %+v", h)
	}
	// The Lambda mode's loads ran in environments: at least one of each function's.
	if l := h.Lambda; ran("hot_read") && (l.CachedRPS <= 0 || l.CachedP50Ms <= 0 || l.FloorHTTPRPS <= 0 || l.FloorHTTPP50Ms <= 0 ||
		l.Environments[manifest.Catalog] < 1 || l.Environments[manifest.Health] < 1) {
		t.Errorf("hot_read in Lambda mode: %+v", l)
	}
	// How many naive instances miss together depends on scheduling; that more than one does
	// shows the stampede the fill lock prevents.
	if s := rep.Stampede; ran("stampede") && (s.DBReads != 1 || s.NaiveDBReads < 2) {
		t.Errorf("stampede: %+v, want 1 read for ours and more than one for naive", s)
	}
	// Over environments, separate processes whose only common ground is Redis and the
	// DynamoDB endpoint, the burst is served by several of them and still reads once.
	if e := rep.Stampede.Environments; ran("stampede") && (e.DBReads != 1 || e.Served < 2 || e.Provisioned < cfg.StampedeEnvironments ||
		e.ColdStarts != 0 || e.Requests != cfg.StampedeRequests || e.Cache["miss"] != 1) {
		t.Errorf("stampede over environments: %+v, want 1 read (1 miss) by several of the %d environments provisioned, none started during the burst",
			e, cfg.StampedeEnvironments)
	}
	f := rep.FlashSale
	if ran("flash_sale") && (f.Confirmed != f.Stock || f.Oversold != 0 || f.Duplicates != 0 || f.SoldOutDBWrites != 0 || f.Errors != 0) {
		t.Errorf("flash_sale: %+v", f)
	}
	if f := rep.FlashSaleLoaded; ran("flash_sale_loaded") && (f.Confirmed != f.Stock || f.Oversold != 0 || f.Duplicates != 0 || f.Errors != 0 ||
		f.BusyLoops == 0 || f.SoldOutDBWrites > f.soldOutLeases()) {
		t.Errorf("flash_sale beside busy loops: %+v, want at most %d sold-out writes", f, f.soldOutLeases())
	}
	if d := rep.RedisDown; ran("redis_down") && (d.Errors != 0 || d.OutageRequests == 0) {
		t.Errorf("redis_down: %+v, want requests during the outage and no errors", d)
	}
	if ran("cold_start") && len(rep.ColdStart) == 0 {
		t.Error("no cold start measured")
	}
	for name, c := range rep.ColdStart {
		if c.Starts != cfg.ColdStarts || c.InitP50Ms <= 0 || c.HelloInitP50Ms <= 0 || c.ReportedInitP50Ms <= 0 || c.HelloReportedInitP50Ms <= 0 {
			t.Errorf("cold_start %s: %+v", name, c)
		}
	}
	if ran("artifacts") && len(rep.Artifacts) == 0 {
		t.Error("no artifact measured")
	}
	for name, a := range rep.Artifacts {
		if !a.Reproducible || a.ZipBytes == 0 || len(a.SHA256) != 64 {
			t.Errorf("artifact %s: %+v", name, a)
		}
	}
	if ran("hot_sku") {
		checkHotSKU(t, rep.HotSKU)
	}
	if ran("cost") {
		checkCost(t, rep.Cost)
	}
	if ran("abuse") {
		checkAbuse(t, rep)
	}
	var table strings.Builder
	printTable(&table, rep)
	t.Log("\n" + table.String())
	if len(rep.Series) == 0 {
		return
	}
	out := filepath.Join(t.TempDir(), "report.png")
	if err := writePlot(rep.Series, out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("plot not written: %v", err)
	}
}

// logWriter sends the bench's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// checkHotSKU: every run sold its stock with no oversell, no duplicate and every order
// readable; one shard was throttled and every answer kept to the contract.
func checkHotSKU(t *testing.T, h *HotSKU) {
	t.Helper()
	if h == nil || len(h.Runs) == 0 {
		t.Fatal("hot_sku: no run")
	}
	for _, r := range h.Runs {
		if r.Confirmed != r.Stock || r.Oversold != 0 || r.Duplicates != 0 || r.Unreadable != 0 || r.OutOfContract != 0 || len(r.Unfinished) != 0 || r.UnitsPerS <= 0 {
			t.Errorf("hot_sku: %+v", r)
		}
	}
	if h.Runs[0].Throttled == 0 {
		t.Errorf("hot_sku: one shard was never throttled: %+v", h.Runs[0])
	}
}

// checkCost: the model priced what was measured, for both stacks.
func checkCost(t *testing.T, c *CostReport) {
	t.Helper()
	if c == nil || len(c.Stacks) != 2 {
		t.Fatalf("cost: %+v", c)
	}
	if c.NaiveReads.ReadUnits <= 0 || c.CachedReads.ReadUnits >= c.NaiveReads.ReadUnits || c.GatedOrders == 0 || c.UngatedOrders == 0 ||
		c.GatedSale.WriteUnits > c.UngatedSale.WriteUnits {
		t.Errorf("cost measured: %+v", c)
	}
	for _, s := range c.Stacks {
		if s.PerMillionCached.Total <= 0 || s.PerMillionNaive.Total <= s.PerMillionCached.Total || s.PerThousandGated.Total <= 0 {
			t.Errorf("cost %s: %+v", s.Stack, s)
		}
	}
}

// checkAbuse: in every run the bot got at most its maxPerCustomer and nothing was
// oversold; the per-user limit refused the bot where it was on and nobody where it was
// off; no shopper was refused for their rate and no 429 came from a per-address rule.
// The error rates' target is a figure for `make bench` (DynamoDB's per-key limit throttles
// by the clock).
func checkAbuse(t *testing.T, rep *Report) {
	t.Helper()
	a := rep.Abuse
	if a == nil || len(a.Runs) != 3 {
		t.Fatalf("abuse: %+v", a)
	}
	for _, r := range a.Runs {
		botPlanned := 0
		if r.Bot {
			botPlanned = botFactor * a.ShopperRequests
		}
		if r.BotUnits > int64(a.MaxPerCustomer) || r.Oversold != 0 || r.ShopperUnits == 0 || r.BotEdgeRefused != 0 ||
			r.ShopperAnswers["429 rate_limited"] != 0 || r.ShopperRequests != a.Shoppers*a.ShopperRequests || r.BotRequests != botPlanned {
			t.Errorf("abuse, %s: %+v", r.name(), r)
		}
	}
	if on, off := a.Runs[1], a.Runs[2]; !on.UserLimits || on.BotRateLimited == 0 || off.UserLimits || off.BotRateLimited != 0 {
		t.Errorf("abuse: the bot's 429s %d with the limit on (%v), %d off (%v); want some, then none", on.BotRateLimited, on.UserLimits, off.BotRateLimited, off.UserLimits)
	}
	var targets int
	for _, tg := range rep.Targets {
		if strings.HasPrefix(tg.Name, "abuse:") {
			targets++
			if strings.Contains(tg.Name, "maxPerCustomer") && !tg.Met {
				t.Errorf("target missed: %s: %s", tg.Name, tg.Measured)
			}
		}
	}
	if targets != 2 {
		t.Errorf("%d abuse targets, want 2", targets)
	}
}
