// Command bench is `make bench`: it runs the local stage on real servers and measures the
// shop against references taken in the same run (the machines are shared and noisy, so only
// ratios mean anything): hot reads, a cache stampede, a flash sale, one with a bot among the
// shoppers, a Redis outage, cold starts, artifact sizes and the storefront in a real browser.
// It prints a table, writes a JSON report to $BENCH_REPORT (default bench-report.json) and a
// latency plot beside it (.png).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/local/dynproxy"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Config sizes the scenarios.
type Config struct {
	Workers           int
	HotReadDuration   time.Duration
	RedisDownDuration time.Duration
	StampedeRequests  int
	StampedeInstances int
	// StampedeEnvironments are the catalog environments the stampede's burst in Lambda mode
	// is released over, all provisioned before it (at most the function's concurrency).
	StampedeEnvironments int
	FlashStock           int
	FlashAttempts        int
	FlashRetryPercent    int
	ColdStarts           int
	// CleanRebuild builds the artifacts the second time with an empty build cache, so
	// "reproducible" also covers a fresh machine (minutes on two cores).
	CleanRebuild bool
	// Storefront measures the built storefront in Chromium (Lighthouse, Playwright): a
	// minute or two, so only in `make bench`.
	Storefront bool
	// LimitScale scales DynamoDB's per-key limits for the scenarios that run with them on:
	// 0.1 shows at 100 write units a second per key what the cloud does at 1,000.
	LimitScale float64
	// HotSKUStock units per shard are sold to HotSKUShoppers (at least twice the units),
	// on 1 shard and on HotSKUShards, with
	// the per-key limits scaled by HotSKUScale: low enough that one key's limit, not how
	// fast DynamoDB Local commits transactions on one item, is what one shard meets.
	HotSKUStock, HotSKUShoppers, HotSKUShards int
	HotSKUScale                               float64
	// CostReadDuration is each read load the cost model measures; CostSaleStock units are
	// sold to CostSaleAttempts shoppers, with the gate and without.
	CostReadDuration                time.Duration
	CostSaleStock, CostSaleAttempts int
	// AbuseShoppers each send AbuseShopperRequests orders over AbuseDuration to a sale of
	// AbuseStock units, AbuseMaxPerCustomer per user, beside a bot at 50 times that rate.
	AbuseShoppers, AbuseShopperRequests int
	AbuseDuration                       time.Duration
	AbuseStock, AbuseMaxPerCustomer     int
	// Only, when set, runs just these scenarios ($BENCH_SCENARIOS, comma-separated).
	Only []string
}

// Full is `make bench`.
var Full = Config{
	Workers:              8,
	HotReadDuration:      10 * time.Second,
	RedisDownDuration:    9 * time.Second,
	StampedeRequests:     1000,
	StampedeInstances:    8,
	StampedeEnvironments: 10,
	FlashStock:           100,
	FlashAttempts:        5000,
	FlashRetryPercent:    10,
	ColdStarts:           20,
	CleanRebuild:         true,
	Storefront:           true,
	LimitScale:           0.1,
	HotSKUStock:          50,
	HotSKUShoppers:       2000,
	HotSKUShards:         10,
	HotSKUScale:          0.02,
	CostReadDuration:     5 * time.Second,
	CostSaleStock:        100,
	CostSaleAttempts:     2000,
	AbuseShoppers:        100,
	AbuseShopperRequests: 4,
	AbuseDuration:        10 * time.Second,
	AbuseStock:           150,
	AbuseMaxPerCustomer:  2,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The functions' logs (a warning per read while Redis is down) would drown the table.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	redis.SetLogger(quietRedis{})
	path := os.Getenv("BENCH_REPORT")
	if path == "" {
		path = "bench-report.json"
	}
	cfg := Full
	if only := os.Getenv("BENCH_SCENARIOS"); only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	rep, err := Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, rep)
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("\nreport: %s\n", path)
	// Only the latency scenarios draw; a run of others has no plot.
	if len(rep.Series) > 0 {
		png := strings.TrimSuffix(path, ".json") + ".png"
		if err := writePlot(rep.Series, png); err != nil {
			fmt.Fprintln(os.Stderr, "bench: plot:", err)
			os.Exit(1)
		}
		fmt.Printf("plot:   %s\n", png)
	}
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// Run starts a stage and runs every scenario on it, logging progress to progress.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	step := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }
	rep := &Report{
		Machine: Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(),
			Go: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339)},
		Series: map[string][]float64{},
	}
	step("starting the local stage (Redis, DynamoDB Local, s3rver)")
	m := &meter{}
	st, err := stage.Start(ctx, stage.Options{Seed: true, Logger: slog.New(slog.DiscardHandler), Runtime: stage.InProcess,
		DynamoDBClient: m.dynamoDBClient, Middleware: m.middleware})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	naiveURL, err := st.ServeNaive(ctx)
	if err != nil {
		return nil, err
	}
	// The scenarios that also run in Lambda mode share a second stage, started for the first
	// and stopped after the last of them.
	lambda := &lambdaStage{}
	defer lambda.close()
	// limited scenarios run with DynamoDB's per-key limits on (scaled; hot_sku sets its own).
	// The read loads run
	// without: they reach this machine's full read rate, near the cloud's, so a limit scaled
	// down for a slower machine would throttle what the service would not; the cost model
	// counts what requests use, not how fast they may go.
	scenarios := []scenario{
		{"hot_read", false, true, func() error {
			return runHotRead(ctx, st, lambda.st, naiveURL, cfg.Workers, cfg.HotReadDuration, rep)
		}},
		{"stampede", true, true, func() error {
			return runStampede(ctx, st, lambda, cfg.StampedeRequests, cfg.StampedeInstances, cfg.StampedeEnvironments, rep)
		}},
		{"flash_sale", true, false, func() error { return runFlashSale(ctx, st, m, cfg, 0, &rep.FlashSale) }},
		{"flash_sale_loaded", true, false, func() error { return runFlashSale(ctx, st, m, cfg, runtime.NumCPU(), &rep.FlashSaleLoaded) }},
		{"hot_sku", true, false, func() error { return runHotSKU(ctx, st, cfg, rep) }},
		{"abuse", true, false, func() error { return runAbuse(ctx, st, cfg, rep) }},
		{"cost", false, false, func() error { return runCost(ctx, st, naiveURL, cfg, rep) }},
		{"redis_down", false, false, func() error { return runRedisDown(ctx, st, cfg.Workers, cfg.RedisDownDuration, rep) }},
		{"cold_start", false, false, func() error { return runColdStart(ctx, st, cfg.ColdStarts, rep) }},
		{"artifacts", false, false, func() error { return runArtifacts(ctx, cfg.CleanRebuild, rep) }},
		{"storefront", false, false, func() error { return runStorefront(ctx, rep) }},
	}
	scenarios = slices.DeleteFunc(scenarios, func(s scenario) bool {
		return (s.name == "storefront" && !cfg.Storefront) || (len(cfg.Only) > 0 && !slices.Contains(cfg.Only, s.name))
	})
	lastLambda := -1
	for i, s := range scenarios {
		if s.lambda {
			lastLambda = i
		}
	}
	for i, s := range scenarios {
		if s.lambda && lambda.st == nil {
			step("starting a local stage in Lambda mode (building the bootstraps)")
			if _, err := lambda.get(ctx); err != nil {
				return nil, err
			}
		}
		limits := dynproxy.Limits{}
		if s.limited {
			limits = dynproxy.ServiceLimits.Scaled(cfg.LimitScale)
		}
		st.DynamoDB().SetLimits(limits)
		if lambda.st != nil {
			lambda.st.DynamoDB().SetLimits(limits)
		}
		rep.Scenarios = append(rep.Scenarios, s.name)
		step("%s ...", s.name)
		t0 := time.Now()
		if err := s.run(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		step("%s done in %s", s.name, time.Since(t0).Round(100*time.Millisecond))
		if i == lastLambda {
			// Its processes would only share the machine with the scenarios that follow.
			lambda.close()
		}
	}
	rep.Targets = evaluate(rep)
	return rep, nil
}

// scenario is one of the bench's scenarios.
type scenario struct {
	name string
	// limited: DynamoDB's per-key limits are on (scaled).
	limited bool
	// lambda: it uses the stage in Lambda mode too.
	lambda bool
	run    func() error
}

// evaluate checks the published targets against this run's figures.
func evaluate(r *Report) []Target {
	h, se := r.HotRead, r.Stampede.Environments
	ts := []Target{
		{"hot_read: cached p50 within 1.5x of (floor_http + redis_get)",
			fmt.Sprintf("%.2f ms vs 1.5 x (%.2f + %.2f) = %.2f ms", h.CachedP50Ms, h.FloorHTTPP50Ms, h.RedisGetP50Ms, 1.5*(h.FloorHTTPP50Ms+h.RedisGetP50Ms)),
			h.CachedP50Ms <= 1.5*(h.FloorHTTPP50Ms+h.RedisGetP50Ms)},
		{"hot_read: naive p50 at least 5x cached p50",
			fmt.Sprintf("%.2f ms = %.1fx of %.2f ms", h.NaiveP50Ms, h.NaiveP50Ms/h.CachedP50Ms, h.CachedP50Ms),
			h.NaiveP50Ms >= 5*h.CachedP50Ms},
		{"hot_read: Lambda mode's cached p50 within 1.5x of (its floor_http + redis_get)",
			fmt.Sprintf("%.2f ms vs 1.5 x (%.2f + %.2f) = %.2f ms", h.Lambda.CachedP50Ms, h.Lambda.FloorHTTPP50Ms, h.RedisGetP50Ms, 1.5*(h.Lambda.FloorHTTPP50Ms+h.RedisGetP50Ms)),
			h.Lambda.CachedP50Ms <= 1.5*(h.Lambda.FloorHTTPP50Ms+h.RedisGetP50Ms)},
		{"stampede: at most 1 DynamoDB read over in-process instances",
			fmt.Sprintf("%d reads for %d requests over %d instances (naive: %d)", r.Stampede.DBReads, r.Stampede.Requests, r.Stampede.Instances, r.Stampede.NaiveDBReads),
			r.Stampede.DBReads <= 1},
		{"stampede: at most 1 DynamoDB read over Lambda environments (processes)",
			fmt.Sprintf("%d reads for %d requests served by %d environments (%d provisioned, %d cold starts during the burst)",
				se.DBReads, se.Requests, se.Served, se.Provisioned, se.ColdStarts),
			se.DBReads <= 1 && se.Served > 1},
		{"flash_sale: oversold 0, duplicates 0, sold_out_db_writes 0",
			fmt.Sprintf("oversold %d, duplicates %d, sold_out_db_writes %d", r.FlashSale.Oversold, r.FlashSale.Duplicates, r.FlashSale.SoldOutDBWrites),
			r.FlashSale.Oversold == 0 && r.FlashSale.Duplicates == 0 && r.FlashSale.SoldOutDBWrites == 0},
		{"flash_sale_loaded: oversold 0, duplicates 0, sold_out_db_writes at most 1 per instance per lease",
			fmt.Sprintf("oversold %d, duplicates %d, sold_out_db_writes %d (1 instance, %d leases, %d busy loops)",
				r.FlashSaleLoaded.Oversold, r.FlashSaleLoaded.Duplicates, r.FlashSaleLoaded.SoldOutDBWrites,
				r.FlashSaleLoaded.soldOutLeases(), r.FlashSaleLoaded.BusyLoops),
			r.FlashSaleLoaded.Oversold == 0 && r.FlashSaleLoaded.Duplicates == 0 &&
				r.FlashSaleLoaded.SoldOutDBWrites <= r.FlashSaleLoaded.soldOutLeases()},
		{"redis_down: errors 0",
			fmt.Sprintf("%d errors in %d requests (%d during the outage)", r.RedisDown.Errors, r.RedisDown.Requests, r.RedisDown.OutageRequests),
			r.RedisDown.Errors == 0},
	}
	for _, name := range sortedKeys(r.ColdStart) {
		c := r.ColdStart[name]
		ts = append(ts, Target{"cold_start: " + name + " init within 1.5x of hello-world",
			fmt.Sprintf("%.1f ms vs %.1f ms (%.2fx)", c.InitP50Ms, c.HelloInitP50Ms, c.InitP50Ms/c.HelloInitP50Ms),
			c.InitP50Ms <= 1.5*c.HelloInitP50Ms})
	}
	for _, name := range sortedKeys(r.Artifacts) {
		a := r.Artifacts[name]
		ts = append(ts, Target{"artifacts: " + name + " at most 6 MiB and reproducible",
			fmt.Sprintf("%.2f MiB, reproducible %v", float64(a.ZipBytes)/(1<<20), a.Reproducible),
			a.ZipBytes <= 6<<20 && a.Reproducible})
	}
	ts = append(ts, hotSKUTargets(r)...)
	ts = append(ts, costTargets(r)...)
	ts = append(ts, abuseTargets(r)...)
	if sf := r.Storefront; sf != nil {
		for _, page := range sortedKeys(sf.Pages) {
			p := sf.Pages[page]
			for _, c := range []struct {
				name  string
				score float64
			}{{"performance", p.Performance}, {"accessibility", p.Accessibility}, {"best practices", p.BestPractices}} {
				ts = append(ts, Target{"storefront: " + page + " page Lighthouse " + c.name + " >= 95",
					fmt.Sprintf("%.0f", c.score), c.score >= 95})
			}
		}
		ts = append(ts, Target{"storefront: catalog page JavaScript at most 120 KB gzipped",
			fmt.Sprintf("%.1f KB in %d scripts", float64(sf.CatalogJSGzipBytes)/1024, len(sf.CatalogJS)),
			sf.CatalogJSGzipBytes <= 120*1024})
	}
	// Only the targets of the scenarios that ran.
	return slices.DeleteFunc(ts, func(t Target) bool {
		name, _, _ := strings.Cut(t.Name, ":")
		return !slices.Contains(r.Scenarios, name)
	})
}

func printTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	h := r.HotRead
	ran := func(name string) bool { return slices.Contains(r.Scenarios, name) }
	fmt.Fprintf(tw, "scenario\tfigure\tvalue\n")
	if ran("hot_read") {
		l := h.Lambda
		fmt.Fprintf(tw, "hot_read\tcached p50 / p99, req/s\t%.2f / %.2f ms, %.0f\n", h.CachedP50Ms, h.CachedP99Ms, h.CachedRPS)
		fmt.Fprintf(tw, "\tfloor: GET /health p50 / p99, req/s\t%.2f / %.2f ms, %.0f\n", h.FloorHTTPP50Ms, h.FloorHTTPP99Ms, h.FloorHTTPRPS)
		fmt.Fprintf(tw, "\tfloor: Redis GET p50\t%.3f ms\n", h.RedisGetP50Ms)
		fmt.Fprintf(tw, "\tnaive (DynamoDB) p50, req/s\t%.2f ms, %.0f\n", h.NaiveP50Ms, h.NaiveRPS)
		fmt.Fprintf(tw, "\tLambda mode: cached p50 / p99, req/s\t%.2f / %.2f ms, %.0f\n", l.CachedP50Ms, l.CachedP99Ms, l.CachedRPS)
		fmt.Fprintf(tw, "\tLambda mode: floor p50 / p99, req/s\t%.2f / %.2f ms, %.0f  (environments: catalog %d, health %d)\n",
			l.FloorHTTPP50Ms, l.FloorHTTPP99Ms, l.FloorHTTPRPS, l.Environments[manifest.Catalog], l.Environments[manifest.Health])
	}
	s := r.Stampede
	if ran("stampede") {
		e := s.Environments
		fmt.Fprintf(tw, "stampede\tDynamoDB reads, ours / naive\t%d / %d  (%d requests, %d in-process instances; naive throttled %d)\n",
			s.DBReads, s.NaiveDBReads, s.Requests, s.Instances, s.NaiveThrottled)
		fmt.Fprintf(tw, "\tLambda mode: DynamoDB reads\t%d  (%d requests, served by %d environments of %d provisioned, %d cold starts)\n",
			e.DBReads, e.Requests, e.Served, e.Provisioned, e.ColdStarts)
	}
	f := r.FlashSale
	if ran("flash_sale") {
		fmt.Fprintf(tw, "flash_sale\tconfirmed of stock\t%d of %d  (%d attempts + %d retries)\n", f.Confirmed, f.Stock, f.Attempts, f.Retries)
		fmt.Fprintf(tw, "\toversold, duplicates\t%d, %d\n", f.Oversold, f.Duplicates)
		fmt.Fprintf(tw, "\tDynamoDB writes on sold-out attempts\t%d\n", f.SoldOutDBWrites)
		fmt.Fprintf(tw, "\torders/s\t%.0f\n", f.OrdersPerS)
	}
	if ran("flash_sale_loaded") {
		fl := r.FlashSaleLoaded
		fmt.Fprintf(tw, "flash_sale beside %d busy loops\tconfirmed of stock\t%d of %d\n", fl.BusyLoops, fl.Confirmed, fl.Stock)
		fmt.Fprintf(tw, "\toversold, duplicates\t%d, %d\n", fl.Oversold, fl.Duplicates)
		fmt.Fprintf(tw, "\tDynamoDB writes on sold-out attempts\t%d  (%d leases)\n", fl.SoldOutDBWrites, fl.soldOutLeases())
		fmt.Fprintf(tw, "\torders/s\t%.0f\n", fl.OrdersPerS)
	}
	printHotSKU(tw, r.HotSKU)
	printCost(tw, r.Cost)
	printAbuse(tw, r.Abuse)
	d := r.RedisDown
	if ran("redis_down") {
		fmt.Fprintf(tw, "redis_down\terrors, p99 during outage\t%d, %.2f ms  (%d requests)\n", d.Errors, d.P99Ms, d.Requests)
	}
	for _, name := range sortedKeys(r.ColdStart) {
		c := r.ColdStart[name]
		fmt.Fprintf(tw, "cold_start\t%s init p50 of %d (hello-world)\t%.1f ms (%.1f ms); REPORT line's Init Duration %.2f ms (%.2f ms)\n",
			name, c.Starts, c.InitP50Ms, c.HelloInitP50Ms, c.ReportedInitP50Ms, c.HelloReportedInitP50Ms)
	}
	for _, name := range sortedKeys(r.Artifacts) {
		a := r.Artifacts[name]
		fmt.Fprintf(tw, "artifacts\t%s zip\t%.2f MiB, reproducible %v, sha256 %.12s\n", name, float64(a.ZipBytes)/(1<<20), a.Reproducible, a.SHA256)
	}
	if sf := r.Storefront; sf != nil {
		for _, page := range sortedKeys(sf.Pages) {
			p := sf.Pages[page]
			fmt.Fprintf(tw, "storefront\t%s page Lighthouse perf / a11y / best practices\t%.0f / %.0f / %.0f\n", page, p.Performance, p.Accessibility, p.BestPractices)
		}
		fmt.Fprintf(tw, "\tcatalog JS gzipped\t%.1f KB\n", float64(sf.CatalogJSGzipBytes)/1024)
		for i, a := range sf.CatalogJS {
			if i == 3 {
				break
			}
			fmt.Fprintf(tw, "\t  %s\t%.1f KB gzipped (%.1f KB)\n", a.Path, float64(a.GzipBytes)/1024, float64(a.Bytes)/1024)
		}
		f := sf.FirstCard
		fmt.Fprintf(tw, "\tfirst product card / first byte p50\t%.0f ms / %.1f ms  (%d navigations)\n", f.FirstCardP50Ms, f.TTFBP50Ms, f.Runs)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range r.Targets {
		mark := "met   "
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, t.Name, t.Measured)
	}
}
