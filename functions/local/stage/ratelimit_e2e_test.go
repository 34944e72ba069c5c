package stage_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/clients/redisclient"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/local/access"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/manifest"
)

// tightLimits are generous limits but for checkout and cart updates: a burst of 2 and one
// request a minute after it, so a third request in a test is always over (the next one is
// allowed a minute later, longer than any test waits).
func tightLimits() map[string]manifest.UserLimit {
	l := maps.Clone(stage.GenerousUserLimits)
	l[manifest.LimitCheckout] = manifest.UserLimit{PerMinute: 1, Burst: 2}
	l[manifest.LimitCart] = manifest.UserLimit{PerMinute: 1, Burst: 2}
	return l
}

// limitedGateway is a gateway over the stage's servers whose functions have tightLimits.
func limitedGateway(t *testing.T) string {
	t.Helper()
	url, err := st.ServeWithUserLimits(context.Background(), tightLimits())
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// expectRateLimited checks r is the contract's 429 with a Retry-After of whole seconds.
func expectRateLimited(t *testing.T, r *stagetest.Response) {
	t.Helper()
	r.Expect(t, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q, want 1..60 seconds", r.Header.Get("Retry-After"))
	}
}

// One user over their checkout limit gets 429 with Retry-After, and takes no stock, while
// another user at the same moment is served: each user has an allowance of their own.
func TestUserOverCheckoutLimitIsRefusedWhileOthersAreServed(t *testing.T) {
	url := limitedGateway(t)
	p := putStockedProduct(t, "limited-checkout", 100, 100, "USD")
	suffix := strconv.FormatInt(time.Now().UnixNano(), 10)
	bot, shopper := asUser(t, url, "bot-"+suffix), asUser(t, url, "shopper-"+suffix)
	req := orderOf(orders.Line{ProductID: p, Quantity: 1})
	for i := range 2 {
		bot.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("b%d", i)).Expect(t, http.StatusCreated, "")
	}
	for i := 2; i < 6; i++ {
		expectRateLimited(t, bot.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("b%d", i)))
	}
	shopper.Do(t, "POST", "/orders", req, "Idempotency-Key", "s0").Expect(t, http.StatusCreated, "")
	if left := stockLeft(t, p); left != 97 {
		t.Errorf("stock %d, want 97: refused requests took stock", left)
	}
	// Reads are not counted against the limit.
	bot.Do(t, "GET", "/orders", nil).Expect(t, http.StatusOK, "")
	// Cart updates have their own limit.
	cart := asUser(t, url, "cart-"+suffix)
	for range 2 {
		cart.Do(t, "PUT", "/cart/items/"+p, map[string]any{"quantity": 1}).Expect(t, http.StatusOK, "")
	}
	expectRateLimited(t, cart.Do(t, "PUT", "/cart/items/"+p, map[string]any{"quantity": 2}))
	bot.Do(t, "PUT", "/cart/items/"+p, map[string]any{"quantity": 1}).Expect(t, http.StatusOK, "")
}

// With Redis stopped the limits are off: a user over their limit is served, nothing is
// refused for the limiter's sake.
func TestUserLimitsAreOffWhileRedisIsDown(t *testing.T) {
	url := limitedGateway(t)
	p := putStockedProduct(t, "limited-noredis", 100, 100, "USD")
	c := asUser(t, url, fmt.Sprintf("eager-%d", time.Now().UnixNano()))
	req := orderOf(orders.Line{ProductID: p, Quantity: 1})
	for i := range 2 {
		c.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("k%d", i)).Expect(t, http.StatusCreated, "")
	}
	expectRateLimited(t, c.Do(t, "POST", "/orders", req, "Idempotency-Key", "k2"))

	st.Servers.Redis.Stop()
	defer restartRedis(t)
	for i := 3; i < 8; i++ {
		c.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("k%d", i)).Expect(t, http.StatusCreated, "")
	}
	if left := stockLeft(t, p); left != 93 {
		t.Errorf("stock %d, want 93", left)
	}
}

// limiterAs connects to the stage's Redis as fn's limiter user, with the environment the
// stage gives fn.
func limiterAs(t *testing.T, name string) redis.UniversalClient {
	t.Helper()
	fn, _ := manifest.FunctionByName(name)
	c, cfg := clientsOf(t, name)
	rdb, err := redisclient.LimiterOf(c)
	if err != nil || rdb == nil || cfg.Limiter.User != fn.LimiterUser() {
		t.Fatalf("%s's limiter connects as %q: %v", name, cfg.Limiter.User, err)
	}
	return rdb
}

// Each limiter user runs the limiter's script on its own function's keys and nothing else:
// not the function's other keys (the product cache, the stock gate), not another
// function's limiter keys; and the functions' own users cannot touch limiter keys. The
// functions that limit nothing have no limiter user.
func TestLimiterUsersKeepToTheirKeys(t *testing.T) {
	ctx := context.Background()
	waitForCache(t)
	limited := map[string]bool{}
	for _, fn := range manifest.Functions {
		if fn.LimiterAccess() == nil {
			if _, ok := st.EnvVars(fn)[manifest.LimiterEnvPrefix+manifest.EnvRedisUser]; ok {
				t.Errorf("%s limits nothing but has a limiter user", fn.Name)
			}
			continue
		}
		limited[fn.Name] = true
	}
	for _, want := range []string{manifest.Orders, manifest.Cart, manifest.Reviews, manifest.CatalogAdmin} {
		if !limited[want] {
			t.Errorf("%s has no limiter", want)
		}
	}
	// Refused on purpose: kept out of the stage's refusals, as in TestCacheUsersKeepToTheirKeys.
	if err := st.ForgetCacheRefusals(ctx, func() { limiterRefusals(t, limited) }); err != nil {
		t.Fatal(err)
	}
}

func limiterRefusals(t *testing.T, limited map[string]bool) {
	ctx := context.Background()
	allow := func(r redis.UniversalClient, key string) error {
		_, err := redis_rate.NewLimiter(r).Allow(ctx, key, redis_rate.PerMinute(10))
		return err
	}
	for name := range limited {
		t.Run(name, func(t *testing.T) {
			r := limiterAs(t, name)
			own := manifest.LimiterKey(name, "acl", "alice")
			if err := allow(r, own); err != nil {
				t.Errorf("limiter script on its own key: %v", err)
			}
			other := manifest.Orders
			if name == manifest.Orders {
				other = manifest.Cart
			}
			denied := map[string]error{
				"limiter script on another function's key": allow(r, manifest.LimiterKey(other, "acl", "alice")),
				"GET product":  r.Get(ctx, "c:{product:acl}").Err(),
				"SET product":  r.Set(ctx, "c:{product:acl}", "x", 0).Err(),
				"DEL own key":  r.Del(ctx, "rate:"+own).Err(),
				"HSET stock":   r.HSet(ctx, "stock:{product:acl}", "a", 1).Err(),
				"FLUSHALL":     r.FlushAll(ctx).Err(),
				"KEYS":         r.Keys(ctx, "*").Err(),
				"CONFIG":       r.ConfigGet(ctx, "*").Err(),
				"SCRIPT FLUSH": r.ScriptFlush(ctx).Err(),
			}
			for what, err := range denied {
				if err == nil || !access.IsRefusal(err) {
					t.Errorf("%s: %v, want a refusal", what, err)
				}
			}
		})
	}
	// The functions' own users have no access to limiter keys.
	for _, name := range []string{manifest.Orders, manifest.Reviews, manifest.CatalogAdmin, manifest.Catalog} {
		r := cacheAs(t, name)
		key := "rate:" + manifest.LimiterKey(name, "acl", "alice")
		for what, err := range map[string]error{
			"limiter script": allow(r, manifest.LimiterKey(name, "acl", "alice")),
			"DEL":            r.Del(ctx, key).Err(),
		} {
			if err == nil || !access.IsRefusal(err) {
				t.Errorf("%s's own user, %s on %s: %v, want a refusal", name, what, key, err)
			}
		}
	}
}

// A gateway without user limits refuses no user, and its functions count nothing in Redis:
// no limiter runs at all, where the default stage's generous limits still count every
// request.
func TestGatewayWithoutUserLimitsCountsNothing(t *testing.T) {
	ctx := context.Background()
	url, err := st.ServeWithoutUserLimits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := putStockedProduct(t, "unlimited-checkout", 100, 100, "USD")
	req := orderOf(orders.Line{ProductID: p, Quantity: 1})
	suffix := strconv.FormatInt(time.Now().UnixNano(), 10)
	unlimited, counted := "unlimited-"+suffix, "counted-"+suffix
	c := asUser(t, url, unlimited)
	for i := range 6 {
		c.Do(t, "POST", "/orders", req, "Idempotency-Key", fmt.Sprintf("u%d", i)).Expect(t, http.StatusCreated, "")
	}
	asUser(t, st.URL, counted).Do(t, "POST", "/orders", req, "Idempotency-Key", "c0").Expect(t, http.StatusCreated, "")
	keyOf := func(user string) string {
		return "rate:" + manifest.LimiterKey(manifest.Orders, manifest.LimitCheckout, user)
	}
	if n, err := st.Admin.Redis.Exists(ctx, keyOf(counted)).Result(); err != nil || n != 1 {
		t.Fatalf("the default stage's limiter key %s: %d, %v; want it counted", keyOf(counted), n, err)
	}
	if n, err := st.Admin.Redis.Exists(ctx, keyOf(unlimited)).Result(); err != nil || n != 0 {
		t.Errorf("limiter key %s: %d, %v; want none without user limits", keyOf(unlimited), n, err)
	}
}
