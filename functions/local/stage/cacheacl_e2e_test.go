package stage_test

import (
	"context"
	"testing"

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
	fn, _ := manifest.FunctionByName(name)
	env := st.Env(fn)
	cfg, err := clients.LoadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.NewFor(context.Background(), fn, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rdb, err := redisclient.Of(c)
	if err != nil || cfg.Redis.User != name {
		t.Fatalf("%s connects to Redis as %q: %v", name, cfg.Redis.User, err)
	}
	return rdb
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
	everyone := map[string]func(redis.UniversalClient) error{
		"FLUSHALL": func(r redis.UniversalClient) error { return r.FlushAll(ctx).Err() },
		"KEYS":     func(r redis.UniversalClient) error { return r.Keys(ctx, "*").Err() },
		"CONFIG":   func(r redis.UniversalClient) error { return r.ConfigGet(ctx, "*").Err() },
	}
	tests := []struct {
		function        string
		allowed, denied map[string]func(redis.UniversalClient) error
	}{
		{manifest.Catalog,
			map[string]func(redis.UniversalClient) error{"SET product": set(product), "GET product": get(product), "EXISTS lock": exists(lock), "DEL lock": del(lock)},
			map[string]func(redis.UniversalClient) error{"SET stock": set(stock), "HSET stock": hset(stock), "stock script": fillStock, "SET review page": set(page)}},
		{manifest.Reviews,
			map[string]func(redis.UniversalClient) error{"SET review page": set(page), "GET product": get(product), "EXISTS lock": exists(lock)},
			map[string]func(redis.UniversalClient) error{"SET stock": set(stock), "DEL stock": del(stock), "stock script": fillStock}},
		{manifest.CatalogAdmin,
			map[string]func(redis.UniversalClient) error{"DEL product": del(product)},
			map[string]func(redis.UniversalClient) error{"SET product": set(product), "GET product": get(product), "DEL stock": del(stock), "DEL review page": del(page)}},
		{manifest.Invalidator,
			map[string]func(redis.UniversalClient) error{"DEL product": del(product)},
			map[string]func(redis.UniversalClient) error{"SET product": set(product), "DEL stock": del(stock)}},
		{manifest.Orders,
			map[string]func(redis.UniversalClient) error{"stock script": fillStock, "DEL product": del(product)},
			map[string]func(redis.UniversalClient) error{"GET product": get(product), "SET product": set(product), "SET review page": set(page)}},
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
	// The default user is off: nothing connects without a user of its own.
	anon := redis.NewClient(&redis.Options{Addr: st.Servers.Redis.Addr, DisableIdentity: true})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil {
		t.Error("Redis answers a client without a user")
	}
}
