package orders

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
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

// clock is the real clock moved forward by the test, to let leases pass at once.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.offset) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// stockTable is a StockLoader over a map, counting its reads.
type stockTable struct {
	mu     sync.Mutex
	stock  map[string]int64
	shards map[string][]int64 // units by shard of sharded products, of generation gen
	gen    map[string]string
	reads  int
	delay  time.Duration
	readBy map[string]int
}

func newStockTable(stock map[string]int64) *stockTable {
	return &stockTable{stock: stock, shards: map[string][]int64{}, gen: map[string]string{}, readBy: map[string]int{}}
}

func (s *stockTable) load(_ context.Context, ids []string) (map[string]StockLevel, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	out := map[string]StockLevel{}
	for _, id := range ids {
		s.readBy[id]++
		if n, ok := s.stock[id]; ok {
			out[id] = StockLevel{Units: n}
		}
		if shards, ok := s.shards[id]; ok {
			out[id] = StockLevel{Units: sum(shards), Shards: slices.Clone(shards), Gen: s.gen[id]}
		}
	}
	return out, nil
}

func (s *stockTable) set(id string, n int64) { s.mu.Lock(); s.stock[id] = n; s.mu.Unlock() }

func (s *stockTable) readsOf(id string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.readBy[id] }

func TestGateReservesRefusesAndResyncs(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			clk := &clock{}
			g := NewGate(rdb, GateOptions{Lease: time.Second, Hold: 5 * time.Second, MaxWait: 50 * time.Millisecond,
				TTL: time.Minute, Now: clk.Now})
			p := "gate-" + mode + "-a"
			db := newStockTable(map[string]int64{p: 3})
			acquire := func(q int64) Admission {
				t.Helper()
				a, err := g.Acquire(ctx, []Line{{p, q}}, db.load)
				if err != nil {
					t.Fatal(err)
				}
				if !g.Available() {
					t.Fatal("the gate tripped its breaker on a healthy Redis")
				}
				return a
			}
			reserved := func(q int64) Admission {
				t.Helper()
				a := acquire(q)
				if !a.Reserved {
					t.Fatalf("admission %+v for %d, want reserved", a, q)
				}
				return a
			}
			expect := func(got, want Admission) {
				t.Helper()
				if got.Reserved != want.Reserved || got.Refused != want.Refused {
					t.Fatalf("admission %+v, want %+v", got, want)
				}
			}
			undecided, refusedFor := Admission{}, Admission{Refused: p}
			line := func(q int64) []Line { return []Line{{p, q}} }

			a := reserved(2) // nothing known: one read of DynamoDB, then 2 of 3 reserved
			if db.readsOf(p) != 1 {
				t.Fatalf("%d reads of the stock, want 1", db.readsOf(p))
			}
			// 1 left beside 2 in flight: an order of 2 waits for them, then leaves it to DynamoDB.
			expect(acquire(2), undecided)
			g.Commit(ctx, a, line(2))
			expect(acquire(2), refusedFor) // 1 left, nothing in flight: refused
			a = reserved(1)
			g.Release(ctx, a, line(1)) // that order did not take its unit
			a = reserved(1)
			g.Commit(ctx, a, line(1))
			expect(acquire(1), refusedFor) // sold out
			if db.readsOf(p) != 1 {
				t.Fatalf("%d reads of the stock, want still 1", db.readsOf(p))
			}
			if ttl, err := rdb.PTTL(ctx, GateKey(p)).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
				t.Errorf("entry TTL %v (%v), want within a minute", ttl, err)
			}
			if n, _ := rdb.Exists(ctx, gateKeys(p)[1]).Result(); n != 0 {
				t.Error("settled reservations are still listed")
			}

			// A lease after the last news the gate reads DynamoDB again: a restock is seen.
			db.set(p, 4)
			clk.Add(time.Second + time.Millisecond)
			a = reserved(4)
			if db.readsOf(p) != 2 {
				t.Fatalf("%d reads of the stock, want 2", db.readsOf(p))
			}
			g.Release(ctx, a, line(4))

			// A reservation lost with its instance (never settled) blocks nobody beyond its hold.
			reserved(1)
			expect(acquire(4), undecided) // waits on the lost reservation, gives up
			clk.Add(5*time.Second + time.Millisecond)
			a = reserved(4)

			// DynamoDB's refusal corrects an optimistic entry (and ends the order's reservation).
			g.Observe(ctx, a, Line{p, 4}, StockLevel{})
			expect(acquire(1), refusedFor)
			if h, _ := rdb.HGet(ctx, GateKey(p), fieldHeld).Int64(); h != 0 {
				t.Errorf("%d units still held after Observe", h)
			}

			// Forget: the next order reads DynamoDB.
			db.set(p, 10)
			g.Forget(ctx, p)
			reserved(10)
			if db.readsOf(p) != 3 {
				t.Fatalf("%d reads of the stock, want 3", db.readsOf(p))
			}
		})
	}
}

// Many concurrent orders for a product nobody has asked about yet: one reads DynamoDB, the
// others wait for it; exactly the stock is reserved; the rest are refused once the
// reservations are settled.
func TestGateAdmitsExactlyTheStockUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			g := NewGate(rdb, GateOptions{MaxWait: 5 * time.Second})
			p := "gate-" + mode + "-rush"
			db := newStockTable(map[string]int64{p: 50})
			db.delay = 20 * time.Millisecond
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				counts = map[string]int{}
			)
			for i := range 300 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, err := g.Acquire(ctx, []Line{{p, 1}}, db.load)
					kind := "undecided"
					switch {
					case err != nil:
						kind = err.Error()
					case a.Reserved:
						kind = "reserved"
						time.Sleep(time.Duration(i%7) * time.Millisecond) // the transaction
						g.Commit(ctx, a, []Line{{p, 1}})
					case a.Refused != "":
						kind = "refused"
					}
					mu.Lock()
					counts[kind]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts["reserved"] != 50 || counts["refused"] != 250 {
				t.Errorf("admissions %v, want 50 reserved and 250 refused", counts)
			}
			if n := db.readsOf(p); n != 1 {
				t.Errorf("%d reads of DynamoDB, want 1", n)
			}
		})
	}
}

// An order of products whose entries live in different slots (on different nodes of the
// cluster) is decided in one pipeline without CROSSSLOT, all lines or none.
func TestGateDecidesProductsOnDifferentSlots(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			g := NewGate(rdb, GateOptions{MaxWait: 50 * time.Millisecond})
			db := newStockTable(map[string]int64{})
			var lines []Line
			slots := map[int64]bool{}
			for i := range 12 {
				id := fmt.Sprintf("gate-%s-multi-%02d", mode, i)
				lines = append(lines, Line{id, 2})
				db.set(id, 5)
				if mode == "cluster" {
					slot, err := rdb.ClusterKeySlot(ctx, GateKey(id)).Result()
					if err != nil {
						t.Fatal(err)
					}
					slots[slot] = true
				}
			}
			if mode == "cluster" && len(slots) < 2 {
				t.Fatalf("the products' entries share a slot; the test proves nothing")
			}
			db.set(lines[7].ProductID, 1) // too few for 2
			a, err := g.Acquire(ctx, lines, db.load)
			if err != nil || a.Refused != lines[7].ProductID || a.Reserved {
				t.Fatalf("admission %+v %v, want refused for %s", a, err, lines[7].ProductID)
			}
			if db.reads != 1 {
				t.Errorf("%d reads of DynamoDB for one order, want 1", db.reads)
			}
			// Nothing stays reserved for a refused order.
			for _, l := range lines {
				h, err := rdb.HGet(ctx, GateKey(l.ProductID), fieldHeld).Int64()
				if err != nil || h != 0 {
					t.Errorf("%s: %d units held (%v), want 0", l.ProductID, h, err)
				}
			}
			lines[7].Quantity = 1
			a, err = g.Acquire(ctx, lines, db.load)
			if err != nil || !a.Reserved {
				t.Fatalf("admission %+v %v, want reserved", a, err)
			}
			g.Release(ctx, a, lines)
			if !g.Available() {
				t.Fatal("the gate tripped its breaker")
			}
		})
	}
}

// A product DynamoDB does not know is left to DynamoDB (which answers 404), and is read
// again next time rather than remembered by the gate.
func TestGateLeavesUnknownProductsToDynamoDB(t *testing.T) {
	ctx := context.Background()
	rdb := redisModes(t)["single"]
	g := NewGate(rdb, GateOptions{})
	db := newStockTable(map[string]int64{})
	for range 2 {
		a, err := g.Acquire(ctx, []Line{{"gate-nobody", 1}}, db.load)
		if err != nil || a.Reserved || a.Refused != "" {
			t.Fatalf("admission %+v %v, want undecided", a, err)
		}
	}
	if db.reads != 2 {
		t.Errorf("%d reads, want 2", db.reads)
	}
	if n, _ := rdb.Exists(ctx, GateKey("gate-nobody")).Result(); n != 0 {
		t.Error("an entry was left for an unknown product")
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
	// Keys hash-tagged with the same product share a slot: the gate's two keys, and the
	// product's cached document.
	document, _ := cache.Keys(catalog.CacheKey("a"))
	keys := append(gateKeys("a"), document)
	err = rdb.Eval(ctx, `return redis.call("EXISTS", KEYS[1], KEYS[2], KEYS[3])`, keys).Err()
	if err != nil {
		t.Fatalf("a script over one product's keys: %v", err)
	}
}

// With Redis unreachable the gate leaves every order to DynamoDB at once and stops trying
// Redis for a while.
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
	db := newStockTable(map[string]int64{"x": 5})
	start := time.Now()
	for range 3 {
		if a, err := g.Acquire(ctx, []Line{{"x", 1}}, db.load); err != nil || a.Reserved || a.Refused != "" {
			t.Fatalf("admission %+v %v with Redis down, want undecided", a, err)
		}
		if g.Available() {
			t.Fatal("the breaker did not open")
		}
	}
	held := Admission{Reserved: true, token: "t"}
	g.Observe(ctx, held, Line{"x", 1}, StockLevel{})
	g.Commit(ctx, held, []Line{{"x", 1}})
	g.Release(ctx, held, []Line{{"x", 1}})
	g.Forget(ctx, "x")
	if d := time.Since(start); d > time.Second {
		t.Errorf("Redis down cost %v", d)
	}
	if db.reads != 0 {
		t.Errorf("%d reads of DynamoDB by the gate with Redis down", db.reads)
	}
	if a, err := NewGate(nil, GateOptions{}).Acquire(ctx, []Line{{"x", 1}}, db.load); err != nil || a.Reserved || a.Refused != "" {
		t.Fatalf("a gate without Redis: %+v %v", a, err)
	}
}

// A script runs only with exactly the arguments it names; a missing one is an error, not
// an empty ARGV the Lua would read as nil.
func TestGateScriptsTakeExactlyTheirArguments(t *testing.T) {
	ctx := context.Background()
	rdb := redisModes(t)["single"]
	keys := gateKeys("gate-args")
	full := argv{argStock: 3, argShards: "", argGen: "", argNow: time.Now().UnixMilli(), argLease: 1000, argTTL: 60000}
	if err := observeScript.eval(ctx, rdb, keys, full).Err(); err != nil {
		t.Fatalf("with every argument: %v", err)
	}
	if left, err := rdb.HGet(ctx, keys[0], fieldLeft).Int64(); err != nil || left != 3 {
		t.Fatalf("units left %d (%v), want 3", left, err)
	}
	missing := argv{argStock: 3, argShards: "", argGen: "", argNow: 1, argLease: 1000, argHold: 60000}
	if err := observeScript.eval(ctx, rdb, keys, missing).Err(); err == nil || !strings.Contains(err.Error(), argTTL) {
		t.Fatalf("without %s: %v, want an error naming it", argTTL, err)
	}
	if err := observeScript.eval(ctx, rdb, keys, argv{argStock: 3}).Err(); err == nil {
		t.Fatal("with one argument of six: no error")
	}
}

func sum(units []int64) (n int64) {
	for _, u := range units {
		n += u
	}
	return n
}

// For a sharded product the gate reserves on a shard that holds the quantity, on several
// when none alone does, and keeps each shard's count through commits and releases; it
// refuses only when all shards together are short.
func TestGatePicksShards(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			g := NewGate(rdb, GateOptions{MaxWait: 50 * time.Millisecond, TTL: time.Minute})
			p := "gate-" + mode + "-shards"
			db := newStockTable(map[string]int64{})
			db.shards[p], db.gen[p] = []int64{5, 1, 0}, "g1"
			line := func(q int64) []Line { return []Line{{p, q}} }
			reserve := func(q int64, want []shardTake) Admission {
				t.Helper()
				a, err := g.Acquire(ctx, line(q), db.load)
				if err != nil || !a.Reserved {
					t.Fatalf("admission %+v (%v) for %d, want reserved", a, err, q)
				}
				if pick := a.picks[p]; pick.Gen != "g1" || !slices.Equal(pick.Takes, want) {
					t.Fatalf("pick %+v for %d, want %v of generation g1", pick, q, want)
				}
				return a
			}
			known := func(want ...int64) {
				t.Helper()
				left, gen, ok, err := g.KnownShards(ctx, p)
				if err != nil || !ok || gen != "g1" || !slices.Equal(left, want) {
					t.Fatalf("gate knows shards %v of %q (%v, %v), want %v of g1", left, gen, ok, err, want)
				}
			}

			g.Commit(ctx, reserve(3, []shardTake{{0, 3}}), line(3)) // only shard 0 holds 3
			known(2, 1, 0)
			// No shard holds 3 alone: the fullest ones, together.
			a := reserve(3, []shardTake{{0, 2}, {1, 1}})
			if h, _ := rdb.HGet(ctx, GateKey(p), fieldShardHeld+"0").Int64(); h != 2 {
				t.Errorf("shard 0 holds %d reserved units, want 2", h)
			}
			g.Release(ctx, a, line(3))
			known(2, 1, 0)
			for i := range 2 {
				if h, _ := rdb.HGet(ctx, GateKey(p), fieldShardHeld+strconv.Itoa(i)).Int64(); h != 0 {
					t.Errorf("shard %d holds %d reserved units after the release", i, h)
				}
			}
			g.Commit(ctx, reserve(3, []shardTake{{0, 2}, {1, 1}}), line(3))
			known(0, 0, 0)
			if a, err := g.Acquire(ctx, line(1), db.load); err != nil || a.Refused != p {
				t.Fatalf("admission %+v (%v) when sold out, want refused", a, err)
			}

			// A reservation lost with its instance gives its shard's units back at expiry.
			q := "gate-" + mode + "-shards-expiry"
			db.shards[q], db.gen[q] = []int64{1}, "g1"
			clk := &clock{}
			h := NewGate(rdb, GateOptions{Hold: time.Second, MaxWait: 50 * time.Millisecond, TTL: time.Minute, Now: clk.Now})
			if a, err := h.Acquire(ctx, []Line{{q, 1}}, db.load); err != nil || !a.Reserved {
				t.Fatalf("admission %+v (%v), want reserved", a, err)
			}
			clk.Add(2 * time.Second)
			if a, err := h.Acquire(ctx, []Line{{q, 1}}, db.load); err != nil || !a.Reserved || a.picks[q].Takes[0] != (shardTake{0, 1}) {
				t.Fatalf("admission %+v (%v) after the lost reservation expired, want shard 0 reserved", a, err)
			}
		})
	}
}

// Concurrent orders over shards: exactly the stock is reserved, no shard beyond its units,
// and the shards' counts end at zero.
func TestGateSpreadsConcurrentOrdersOverShards(t *testing.T) {
	ctx := context.Background()
	for mode, rdb := range redisModes(t) {
		t.Run(mode, func(t *testing.T) {
			g := NewGate(rdb, GateOptions{MaxWait: 5 * time.Second})
			p := "gate-" + mode + "-shard-rush"
			db := newStockTable(map[string]int64{})
			db.shards[p] = []int64{10, 10, 10, 10, 3}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				byShard = map[int]int64{}
				counts  = map[string]int{}
			)
			for i := range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					q := int64(1 + i%2)
					a, err := g.Acquire(ctx, []Line{{p, q}}, db.load)
					kind := "undecided"
					switch {
					case err != nil:
						kind = err.Error()
					case a.Reserved:
						kind = "reserved"
						mu.Lock()
						for _, tk := range a.picks[p].Takes {
							byShard[tk.Shard] += tk.Units
							counts["units"] += int(tk.Units)
						}
						mu.Unlock()
						g.Commit(ctx, a, []Line{{p, q}})
					case a.Refused != "":
						kind = "refused"
					}
					mu.Lock()
					counts[kind]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts["units"] != 43 || counts["undecided"] != 0 {
				t.Errorf("admissions %v, want 43 units reserved, none undecided", counts)
			}
			for shard, n := range byShard {
				if n > db.shards[p][shard] {
					t.Errorf("shard %d reserved %d units of its %d", shard, n, db.shards[p][shard])
				}
			}
			if left, _, _, _ := g.KnownShards(ctx, p); !slices.Equal(left, []int64{0, 0, 0, 0, 0}) {
				t.Errorf("gate's shards end at %v, want all 0", left)
			}
		})
	}
}
