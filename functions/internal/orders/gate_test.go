package orders

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/local/servers"
)

// The gate's scripts run on a real single-node Redis and on a real 3-node Redis Cluster,
// so a script touching keys of different slots fails here (CROSSSLOT), not in production.
var (
	single  *servers.Process
	cluster *servers.Cluster
)

func TestMain(m *testing.M) { os.Exit(runWithRedis(m)) }

func runWithRedis(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if single, err = servers.StartRedis(ctx, servers.RedisOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "redis:", err)
		return 1
	}
	defer single.Stop()
	if cluster, err = servers.StartRedisCluster(ctx, 3); err != nil {
		fmt.Fprintln(os.Stderr, "redis cluster:", err)
		return 1
	}
	defer cluster.Stop()
	return m.Run()
}

// redisModes returns a client per kind of Redis the shop runs on.
func redisModes(t *testing.T) map[string]redis.UniversalClient {
	t.Helper()
	modes := map[string]redis.UniversalClient{
		"single":  redis.NewClient(&redis.Options{Addr: single.Addr}),
		"cluster": redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()[:1]}),
	}
	for _, c := range modes {
		t.Cleanup(func() { c.Close() })
	}
	return modes
}

// clock is a settable clock for leases.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestGateRemembersShortStockAndProbesAfterALease(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			g := NewGate(rdb, GateOptions{Lease: time.Second, TTL: time.Minute, Now: clk.Now})
			p := "gate-" + mode + "-a"
			one := []Line{{p, 1}}
			expect := func(lines []Line, want ...Verdict) {
				t.Helper()
				got := g.Check(ctx, lines)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("Check(%v) = %v, want %v", lines, got, want)
				}
				if !g.Available() {
					t.Fatal("the gate tripped its breaker on a healthy Redis")
				}
			}

			expect(one, Pass) // nothing known
			g.Observe(ctx, p, 0)
			expect(one, Refuse)
			expect(one, Refuse)

			ttl, err := rdb.PTTL(ctx, GateKey(p)).Result()
			if err != nil || ttl <= 0 || ttl > time.Minute {
				t.Errorf("marker TTL %v (%v), want within a minute", ttl, err)
			}

			// A lease later, exactly one caller probes DynamoDB; the others keep refusing.
			clk.Add(time.Second + time.Millisecond)
			expect(one, Probe)
			expect(one, Refuse)
			clk.Add(time.Second + time.Millisecond)
			expect(one, Probe)

			// Some stock left: smaller orders pass, larger ones are refused.
			g.Observe(ctx, p, 3)
			expect([]Line{{p, 3}}, Pass)
			expect([]Line{{p, 4}}, Refuse)

			// Restocked: the probe's reader forgets the marker.
			g.Forget(ctx, p)
			expect([]Line{{p, 100}}, Pass)
			if n, _ := rdb.Exists(ctx, GateKey(p)).Result(); n != 0 {
				t.Error("Forget left the marker")
			}
		})
	}
}

// Only one of many concurrent checks after a lease gets the probe: the script is atomic.
func TestGateGivesOneProbePerLease(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			g := NewGate(rdb, GateOptions{Lease: time.Second, Now: clk.Now})
			p := "gate-" + mode + "-probe"
			g.Observe(ctx, p, 0)
			clk.Add(2 * time.Second)
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				counts = map[Verdict]int{}
			)
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := g.Check(ctx, []Line{{p, 1}})[0]
					mu.Lock()
					counts[v]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts[Probe] != 1 || counts[Refuse] != 49 {
				t.Errorf("verdicts %v, want 1 probe and 49 refusals", counts)
			}
		})
	}
}

// An order of products whose markers live in different slots (on different nodes of the
// cluster) is checked in one pipeline without CROSSSLOT.
func TestGateChecksProductsOnDifferentSlots(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			g := NewGate(rdb, GateOptions{})
			var lines []Line
			slots := map[int64]bool{}
			for i := range 12 {
				id := fmt.Sprintf("gate-%s-multi-%02d", mode, i)
				lines = append(lines, Line{id, 2})
				if mode == "cluster" {
					slot, err := rdb.ClusterKeySlot(ctx, GateKey(id)).Result()
					if err != nil {
						t.Fatal(err)
					}
					slots[slot] = true
				}
			}
			if mode == "cluster" && len(slots) < 2 {
				t.Fatalf("the products' markers share a slot; the test proves nothing")
			}
			g.Observe(ctx, lines[3].ProductID, 1)
			g.Observe(ctx, lines[7].ProductID, 5)
			got := g.Check(ctx, lines)
			for i, v := range got {
				want := Pass
				if i == 3 {
					want = Refuse
				}
				if v != want {
					t.Errorf("line %d: %v, want %v", i, v, want)
				}
			}
			g.Forget(ctx, lines[3].ProductID, lines[7].ProductID)
			if !g.Available() {
				t.Fatal("the gate tripped its breaker")
			}
			for _, v := range g.Check(ctx, lines) {
				if v != Pass {
					t.Fatalf("after Forget: %v", v)
				}
			}
		})
	}
}

// The test cluster does catch the mistake the gate avoids: one script over keys of two slots.
func TestClusterRefusesCrossSlotScripts(t *testing.T) {
	ctx := context.Background()
	rdb := redisModes(t)["cluster"]
	err := rdb.Eval(ctx, `return redis.call("EXISTS", KEYS[1], KEYS[2])`, []string{GateKey("a"), GateKey("b")}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("a script over two slots answered %v, want CROSSSLOT", err)
	}
	// Keys hash-tagged with the same product share a slot.
	err = rdb.Eval(ctx, `return redis.call("EXISTS", KEYS[1], KEYS[2])`,
		[]string{GateKey("a"), "c:{product:a}"}).Err()
	if err != nil {
		t.Fatalf("a script over one product's keys: %v", err)
	}
}

// With Redis unreachable the gate passes everything at once and stops trying for a while.
func TestGatePassesWhenRedisIsDown(t *testing.T) {
	ctx := context.Background()
	port, err := servers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port),
		DialTimeout: 250 * time.Millisecond, DialerRetries: 1, MaxRetries: -1})
	defer rdb.Close()
	g := NewGate(rdb, GateOptions{Cooldown: time.Minute})
	start := time.Now()
	if v := g.Check(ctx, []Line{{"x", 1}}); v[0] != Pass {
		t.Fatalf("verdict %v with Redis down, want pass", v)
	}
	if g.Available() {
		t.Fatal("the breaker did not open")
	}
	g.Observe(ctx, "x", 0)
	g.Forget(ctx, "x")
	if v := g.Check(ctx, []Line{{"x", 1}}); v[0] != Pass {
		t.Fatalf("verdict %v, want pass", v)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Redis down cost %v", d)
	}
	if v := NewGate(nil, GateOptions{}).Check(ctx, []Line{{"x", 1}}); v[0] != Pass {
		t.Fatalf("a gate without Redis: %v", v)
	}
}
