package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// sample is one request's outcome.
type sample struct {
	at      time.Time
	latency time.Duration
	ok      bool
}

// loadResult is a closed-loop load's outcome.
type loadResult struct {
	samples []sample
	rps     float64
}

func (r loadResult) latencies() []time.Duration {
	out := make([]time.Duration, len(r.samples))
	for i, s := range r.samples {
		out[i] = s.latency
	}
	return out
}

func (r loadResult) errors() int {
	n := 0
	for _, s := range r.samples {
		if !s.ok {
			n++
		}
	}
	return n
}

// attack runs workers closed-loop clients against targeter for dur with vegeta; a request is
// ok when it answers 200.
func attack(name string, targeter vegeta.Targeter, workers int, dur time.Duration) loadResult {
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
		vegeta.Connections(workers), vegeta.KeepAlive(true), vegeta.MaxBody(0),
		vegeta.Timeout(30*time.Second),
	)
	var res loadResult
	var m vegeta.Metrics
	for r := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, dur, name) {
		m.Add(r)
		res.samples = append(res.samples, sample{at: r.Timestamp, latency: r.Latency, ok: r.Code == http.StatusOK && r.Error == ""})
	}
	m.Close()
	res.rps = m.Rate
	return res
}

// productTargeter picks product ids with a Zipf distribution: a few hot products take most
// reads, as in a sale.
func productTargeter(base string, ids []string, seed uint64) vegeta.Targeter {
	var mu sync.Mutex
	z := rand.NewZipf(rand.New(rand.NewPCG(seed, seed)), 1.2, 1, uint64(len(ids)-1))
	return func(t *vegeta.Target) error {
		mu.Lock()
		i := z.Uint64()
		mu.Unlock()
		t.Method, t.URL = http.MethodGet, base+"/products/"+ids[i]
		return nil
	}
}

func fixedTargeter(url string) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, url
		return nil
	}
}

// runHotRead measures warm cached reads, the floor (GET /health through the same gateway and
// a raw Redis GET from the same machine, both at the same concurrency) and the naive path
// (the same reads with no cache), with the functions in-process on st; then the cached reads
// and the floor again on lst, whose functions run in Lambda mode.
func runHotRead(ctx context.Context, st, lst *stage.Stage, naiveURL string, workers int, dur time.Duration, rep *Report) error {
	ids := seedIDs()
	if err := warmCache(st.URL, ids); err != nil {
		return err
	}
	warm := dur / 5
	attack("warmup", productTargeter(st.URL, ids, 1), workers, warm)

	cached := attack("cached", productTargeter(st.URL, ids, 2), workers, dur)
	floor := attack("floor", fixedTargeter(st.URL+"/health"), workers, dur)
	attack("warmup-naive", productTargeter(naiveURL, ids, 3), workers, warm)
	naive := attack("naive", productTargeter(naiveURL, ids, 4), workers, dur)
	user, password := st.RedisAdmin()
	redisGet, err := redisGetLatencies(ctx, &redis.Options{Addr: st.Servers.Redis.Addr, Username: user, Password: password, PoolSize: workers}, dur)
	if err != nil {
		return err
	}

	// Lambda mode: every environment the load needs is started (cold) in the warm-ups, so
	// the figures are warm invocations, as the in-process ones are warm calls.
	if err := warmCache(lst.URL, ids); err != nil {
		return err
	}
	attack("warmup-lambda", productTargeter(lst.URL, ids, 1), workers, warm)
	lambdaCached := attack("cached-lambda", productTargeter(lst.URL, ids, 2), workers, dur)
	attack("warmup-lambda-floor", fixedTargeter(lst.URL+"/health"), workers, warm)
	lambdaFloor := attack("floor-lambda", fixedTargeter(lst.URL+"/health"), workers, dur)

	for name, r := range map[string]loadResult{"cached": cached, "floor": floor, "naive": naive, "cached in Lambda mode": lambdaCached, "floor in Lambda mode": lambdaFloor} {
		if n := r.errors(); n > 0 {
			return fmt.Errorf("hot_read %s: %d of %d requests failed", name, n, len(r.samples))
		}
	}
	envs := map[string]int{}
	for name, s := range lst.Environments() {
		if name == manifest.Catalog || name == manifest.Health {
			envs[name] = s.Started
		}
	}
	rep.HotRead = HotRead{
		CachedP50Ms:    quantileMs(cached.latencies(), 0.5),
		CachedP99Ms:    quantileMs(cached.latencies(), 0.99),
		CachedRPS:      cached.rps,
		FloorHTTPP50Ms: quantileMs(floor.latencies(), 0.5),
		FloorHTTPP99Ms: quantileMs(floor.latencies(), 0.99),
		FloorHTTPRPS:   floor.rps,
		RedisGetP50Ms:  quantileMs(redisGet, 0.5),
		NaiveP50Ms:     quantileMs(naive.latencies(), 0.5),
		NaiveRPS:       naive.rps,
		Lambda: HotReadLambda{
			CachedP50Ms:    quantileMs(lambdaCached.latencies(), 0.5),
			CachedP99Ms:    quantileMs(lambdaCached.latencies(), 0.99),
			CachedRPS:      lambdaCached.rps,
			FloorHTTPP50Ms: quantileMs(lambdaFloor.latencies(), 0.5),
			FloorHTTPP99Ms: quantileMs(lambdaFloor.latencies(), 0.99),
			FloorHTTPRPS:   lambdaFloor.rps,
			Environments:   envs,
		},
		Workers: workers,
		Seconds: dur.Seconds(),
	}
	rep.Series["hot_read cached"] = toMs(cached.latencies())
	rep.Series["floor GET /health"] = toMs(floor.latencies())
	rep.Series["redis GET"] = toMs(redisGet)
	rep.Series["naive (DynamoDB)"] = toMs(naive.latencies())
	rep.Series["hot_read cached, Lambda mode"] = toMs(lambdaCached.latencies())
	rep.Series["floor GET /health, Lambda mode"] = toMs(lambdaFloor.latencies())
	return nil
}

// warmCache reads every product once through the gateway at base.
func warmCache(base string, ids []string) error {
	for _, id := range ids {
		resp, err := http.Get(base + "/products/" + id)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("warm GET /products/%s: %s", id, resp.Status)
		}
	}
	return nil
}

// redisGetLatencies times raw GETs of a cached product from workers goroutines for dur.
func redisGetLatencies(ctx context.Context, opts *redis.Options, dur time.Duration) ([]time.Duration, error) {
	workers := opts.PoolSize
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	key := "c:{product:" + seedIDs()[0] + "}"
	if err := rdb.Get(ctx, key).Err(); err != nil {
		return nil, fmt.Errorf("redis GET of a warm product: %w", err)
	}
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	end := time.Now().Add(dur)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := rdb.Get(ctx, key).Err(); err != nil {
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, nil
}

func seedIDs() []string {
	var ids []string
	for _, p := range stage.SeedProducts(time.Time{}) {
		ids = append(ids, p.ProductID)
	}
	return ids
}
