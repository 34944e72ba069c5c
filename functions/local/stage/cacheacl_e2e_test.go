package stage_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/internal/reviews"
	"github.com/shop-serverless/shop/functions/local/access"
	"github.com/shop-serverless/shop/functions/manifest"
)

// cacheAs connects to the stage's Redis as fn's own ACL user, with the environment the
// stage gives fn, outside the stage's refusal log (these tests are refused on purpose).
func cacheAs(t *testing.T, name string) redis.UniversalClient {
	t.Helper()
	c, cfg := clientsOf(t, name)
	rdb, err := redisclient.Of(c)
	if err != nil || cfg.Redis.User != name {
		t.Fatalf("%s connects to Redis as %q: %v", name, cfg.Redis.User, err)
	}
	return rdb
}

// clientsOf builds the clients of function name from its environment on the stage, as its
// own process does, closed when the test ends.
func clientsOf(t *testing.T, name string) (*clients.Clients, clients.Config) {
	t.Helper()
	fn, _ := manifest.FunctionByName(name)
	env := st.Env(fn)
	cfg, err := clients.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	// A test's client on a loaded machine: the 100 ms a function's call gets is too short
	// to tell a refusal from a slow answer.
	cfg.Redis.Timeout = time.Second
	cfg.Limiter.Timeout = time.Second
	c, err := clients.NewFor(context.Background(), fn, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, cfg
}

// Each function's cache user reaches its own keys, made by the packages' key builders, with
// its own commands, and nothing else: the catalog's user cannot write the stock gate, the
// reviews' user cannot touch it either, the evicting functions cannot fill, and the orders'
// user cannot read or fill the product cache. Nobody may flush, list or configure.
func TestCacheUsersKeepToTheirKeys(t *testing.T) {
	ctx := context.Background()
	waitForCache(t)
	product, lock := cache.Keys(catalog.CacheKey("acl-product"))
	page, _ := cache.Keys(reviews.CacheKey("acl-product"))
	stock := orders.GateKey("acl-product")
	hset := func(key string) func(redis.UniversalClient) error {
		return func(r redis.UniversalClient) error { return r.HSet(ctx, key, "a", 1).Err() }
	}
	set := func(key string) func(redis.UniversalClient) error {
		return func(r redis.UniversalClient) error { return r.Set(ctx, key, "x", 0).Err() }
	}
	get := func(key string) func(redis.UniversalClient) error {
		return func(r redis.UniversalClient) error {
			if err := r.Get(ctx, key).Err(); err != redis.Nil {
				return err
			}
			return nil
		}
	}
	// exists is how a reader waits while another instance fills a key (a race the other
	// tests rarely hit).
	exists := func(key string) func(redis.UniversalClient) error {
		return func(r redis.UniversalClient) error { return r.Exists(ctx, key).Err() }
	}
	del := func(key string) func(redis.UniversalClient) error {
		return func(r redis.UniversalClient) error { return r.Del(ctx, key).Err() }
	}
	fillStock := func(r redis.UniversalClient) error {
		return r.Eval(ctx, `redis.call("HSET", KEYS[1], "a", 5) return redis.call("PEXPIRE", KEYS[1], 1000)`, []string{stock}).Err()
	}
	tests := []struct {
		function        string
		allowed, denied cacheCalls
	}{
		{manifest.Catalog,
			cacheCalls{"SET product": set(product), "GET product": get(product), "EXISTS lock": exists(lock), "DEL lock": del(lock)},
			cacheCalls{"SET stock": set(stock), "HSET stock": hset(stock), "stock script": fillStock, "SET review page": set(page)}},
		{manifest.Reviews,
			cacheCalls{"SET review page": set(page), "GET product": get(product), "EXISTS lock": exists(lock)},
			cacheCalls{"SET stock": set(stock), "DEL stock": del(stock), "stock script": fillStock}},
		{manifest.CatalogAdmin,
			cacheCalls{"DEL product": del(product)},
			cacheCalls{"SET product": set(product), "GET product": get(product), "DEL stock": del(stock), "DEL review page": del(page)}},
		{manifest.Invalidator,
			cacheCalls{"DEL product": del(product)},
			cacheCalls{"SET product": set(product), "DEL stock": del(stock)}},
		{manifest.Orders,
			cacheCalls{"stock script": fillStock, "DEL product": del(product)},
			cacheCalls{"GET product": get(product), "SET product": set(product), "SET review page": set(page)}},
	}
	// Refused on purpose: kept out of the stage's refusals (in Lambda mode they are read
	// from the server's ACL log, which would list them).
	if err := st.ForgetCacheRefusals(ctx, func() { cacheRefusals(t, tests) }); err != nil {
		t.Fatal(err)
	}
	// The default user is off: nothing connects without a user of its own.
	anon := redis.NewClient(&redis.Options{Addr: st.Servers.Redis.Addr, DisableIdentity: true})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil {
		t.Error("Redis answers a client without a user")
	}
}

type cacheCalls = map[string]func(redis.UniversalClient) error

func cacheRefusals(t *testing.T, tests []struct {
	function        string
	allowed, denied cacheCalls
}) {
	ctx := context.Background()
	everyone := cacheCalls{
		"FLUSHALL": func(r redis.UniversalClient) error { return r.FlushAll(ctx).Err() },
		"KEYS":     func(r redis.UniversalClient) error { return r.Keys(ctx, "*").Err() },
		"CONFIG":   func(r redis.UniversalClient) error { return r.ConfigGet(ctx, "*").Err() },
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			r := cacheAs(t, tt.function)
			for name, call := range tt.allowed {
				if err := call(r); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			for name, call := range tt.denied {
				if err := call(r); err == nil || !access.IsRefusal(err) {
					t.Errorf("%s: %v, want a refusal", name, err)
				}
			}
			for name, call := range everyone {
				if err := call(r); err == nil || !access.IsRefusal(err) {
					t.Errorf("%s: %v, want a refusal", name, err)
				}
			}
		})
	}
}
