package orders

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/catalog"
)

// GateOptions tunes a Gate; zero fields take the defaults.
type GateOptions struct {
	// Lease is how long what the gate knows of a product's stock is trusted to refuse orders
	// after the last sync with DynamoDB or the last admission; then one caller re-reads
	// DynamoDB. It bounds how long a restock (or a reservation lost with a crashed
	// instance) can go unnoticed. Default 1 s.
	Lease time.Duration
	// MaxWait is how long an order waits for the gate to decide (while another instance
	// reads DynamoDB, or while reservations are in flight) before DynamoDB decides alone.
	// Default 750 ms.
	MaxWait time.Duration
	// TTL is how long a product's entry lives without a write. Default 10 min.
	TTL time.Duration
	// Cooldown is how long Redis is skipped after an error. Default 1 s.
	Cooldown time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger returns the logger for ctx; default slog.Default.
	Logger func(context.Context) *slog.Logger
}

// Gate admits orders to DynamoDB by reserving units in Redis, so that at a flash sale only
// as many transactions reach a product's item as it has units, and every other order is
// refused without a DynamoDB write (or read). DynamoDB stays the truth; the gate is a
// mirror that errs towards letting orders through:
//
//   - Redis learns a product's stock only from DynamoDB: one caller reads it (strongly
//     consistent) when Redis knows nothing, and again a lease after the last admission or
//     sync when the gate would refuse, so a restock or a lost reservation is noticed within
//     a lease; DynamoDB's answers (too little stock) correct it too;
//   - a unit is reserved before the transaction, and after it the reservation is either
//     committed (the order took the unit) or released (it did not);
//   - an order is refused only when no units are left and no reservation is in flight;
//     while reservations are in flight it waits for them (at most MaxWait);
//   - whenever the gate cannot decide (Redis unreachable, flushed, slow), DynamoDB's
//     conditions decide alone: nothing is oversold, at worst more transactions are tried.
//
// Each product's entry is one hash, hash-tagged with the product's cache key, and each
// script touches one key, so the gate works unchanged on a cluster-mode cache (ElastiCache
// Serverless), where a script's keys must share a slot. The lines of an order run one
// script each, in one pipeline.
type Gate struct {
	rdb       redis.UniversalClient
	opt       GateOptions
	skipUntil atomic.Int64 // unix nanos; Redis is bypassed before then
}

// NewGate returns a gate over rdb; a nil rdb gives a gate that lets DynamoDB decide alone.
func NewGate(rdb redis.UniversalClient, opt GateOptions) *Gate {
	if opt.Lease <= 0 {
		opt.Lease = time.Second
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 750 * time.Millisecond
	}
	if opt.TTL <= 0 {
		opt.TTL = 10 * time.Minute
	}
	if opt.Cooldown <= 0 {
		opt.Cooldown = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = func(context.Context) *slog.Logger { return slog.Default() }
	}
	return &Gate{rdb: rdb, opt: opt}
}

// GateKey is the Redis key of a product's entry. Its hash tag is the product's cache key,
// so the entry and the cached product document live in the same slot.
func GateKey(productID string) string { return "stock:{" + catalog.CacheKey(productID) + "}" }

// The entry is a hash: s = units the gate may still admit, r = units reserved by orders
// whose transaction has not ended, f = until when (Unix ms) s may refuse orders, i = until
// when (Unix ms) one caller is reading DynamoDB for the entry.

// Answers of acquireScript.
const (
	codeAdmit  = 0 // q units reserved
	codeRefuse = 1 // no units left, none in flight, and that is recent news
	codeWait   = 2 // reservations are in flight, or another caller is reading DynamoDB
	codeLoad   = 3 // this caller reads DynamoDB and calls syncScript
)

// acquireScript: ARGV q, now, lease, lock (ms), ttl (ms).
var acquireScript = redis.NewScript(`
local q, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call("HMGET", KEYS[1], "s", "r", "f", "i")
local lock = tonumber(v[4] or 0)
if not v[1] then
  if lock > now then return 2 end
  redis.call("HSET", KEYS[1], "i", now + tonumber(ARGV[4]))
  redis.call("PEXPIRE", KEYS[1], ARGV[5])
  return 3
end
local s, r, f = tonumber(v[1]), tonumber(v[2] or 0), tonumber(v[3] or 0)
if s >= q then
  redis.call("HSET", KEYS[1], "s", s - q, "r", r + q, "f", now + tonumber(ARGV[3]))
  redis.call("PEXPIRE", KEYS[1], ARGV[5])
  return 0
end
if f > now then
  if r > 0 then return 2 end
  return 1
end
if lock > now then return 2 end
redis.call("HSET", KEYS[1], "i", now + tonumber(ARGV[4]))
return 3`)

// syncScript: what DynamoDB holds, read by the caller acquireScript told to. ARGV stock,
// now, lease, ttl. Reservations still in flight are forgotten: their transactions are
// either in the stock read or will fail on DynamoDB's condition.
var syncScript = redis.NewScript(`
redis.call("HSET", KEYS[1], "s", ARGV[1], "r", 0, "f", tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call("HDEL", KEYS[1], "i")
redis.call("PEXPIRE", KEYS[1], ARGV[4])
return 1`)

// unlockScript gives up the load lock (the product does not exist, or the read failed).
var unlockScript = redis.NewScript(`
redis.call("HDEL", KEYS[1], "i")
return 1`)

// settleScript ends a reservation of ARGV q units: ARGV[2] = 1 gives the units back
// (release), 0 keeps them taken (commit).
var settleScript = redis.NewScript(`
local v = redis.call("HMGET", KEYS[1], "s", "r")
if not v[1] then return 0 end
local q = tonumber(ARGV[1])
local r = math.max(0, tonumber(v[2] or 0) - q)
if ARGV[2] == "1" then
  redis.call("HSET", KEYS[1], "s", tonumber(v[1]) + q, "r", r)
else
  redis.call("HSET", KEYS[1], "r", r)
end
return 1`)

// observeScript: DynamoDB answered that the product has ARGV[1] units, too few for an
// order that held ARGV[2] reserved units (0: none). ARGV now, lease, ttl.
var observeScript = redis.NewScript(`
local stock, held, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call("HMGET", KEYS[1], "s", "r")
local s, r = stock, 0
if v[1] then
  r = math.max(0, tonumber(v[2] or 0) - held)
  s = math.min(tonumber(v[1]), math.max(0, stock - r))
end
redis.call("HSET", KEYS[1], "s", s, "r", r, "f", now + tonumber(ARGV[4]))
redis.call("PEXPIRE", KEYS[1], ARGV[5])
return 1`)

// StockLoader reads the stock of products from DynamoDB, strongly consistent; unknown
// products are absent from the map.
type StockLoader func(ctx context.Context, ids []string) (map[string]int64, error)

// Admission is the gate's decision on an order.
type Admission struct {
	// Reserved: the order's units are reserved; it must Settle them whatever happens.
	Reserved bool
	// Refused names a product the gate refuses the order for (no units left).
	Refused string
}

// Acquire decides on an order: it reserves the units of every line, or refuses the order
// for a product with no units left, or (the zero Admission) leaves the decision to
// DynamoDB. When the gate knows nothing of a product it reads its stock with load. An
// error is load's.
func (g *Gate) Acquire(ctx context.Context, lines []Line, load StockLoader) (Admission, error) {
	deadline := g.opt.Now().Add(g.opt.MaxWait)
	pause := 5 * time.Millisecond
	for range 100 {
		if !g.Available() {
			return Admission{}, nil
		}
		codes, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
			return acquireScript.Eval(ctx, pipe, []string{GateKey(l.ProductID)}, l.Quantity,
				g.opt.Now().UnixMilli(), g.opt.Lease.Milliseconds(), g.opt.MaxWait.Milliseconds(), g.opt.TTL.Milliseconds())
		})
		if err != nil {
			g.trip(ctx, "acquire", err)
			return Admission{}, nil
		}
		var taken, loads []Line
		refusedFor, waiting := "", false
		for i, code := range codes {
			switch code {
			case codeAdmit:
				taken = append(taken, lines[i])
			case codeRefuse:
				if refusedFor == "" {
					refusedFor = lines[i].ProductID
				}
			case codeWait:
				waiting = true
			case codeLoad:
				loads = append(loads, lines[i])
			}
		}
		if len(taken) == len(lines) {
			return Admission{Reserved: true}, nil
		}
		// Hold no units while the rest of the order is undecided.
		g.settle(ctx, taken, true)
		if refusedFor != "" {
			g.unlock(ctx, loads)
			return Admission{Refused: refusedFor}, nil
		}
		if len(loads) > 0 {
			decided, err := g.load(ctx, loads, load)
			if err != nil || !decided {
				return Admission{}, err
			}
			continue
		}
		if waiting && g.opt.Now().Add(pause).After(deadline) {
			return Admission{}, nil // undecided for too long: DynamoDB decides
		}
		if err := sleep(ctx, pause); err != nil {
			return Admission{}, err
		}
		pause = min(pause*2, 40*time.Millisecond)
	}
	return Admission{}, nil
}

// load reads the products' stock from DynamoDB and tells Redis. decided is false when a
// product does not exist (DynamoDB will say so) or Redis failed.
func (g *Gate) load(ctx context.Context, lines []Line, load StockLoader) (decided bool, err error) {
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.ProductID
	}
	stocks, err := load(ctx, ids)
	if err != nil {
		g.unlock(ctx, lines)
		return false, err
	}
	decided = true
	var known, unknown []Line
	for _, l := range lines {
		if _, ok := stocks[l.ProductID]; ok {
			known = append(known, l)
		} else {
			unknown, decided = append(unknown, l), false
		}
	}
	g.unlock(ctx, unknown)
	if _, err := g.run(ctx, known, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		return syncScript.Eval(ctx, pipe, []string{GateKey(l.ProductID)}, stocks[l.ProductID],
			g.opt.Now().UnixMilli(), g.opt.Lease.Milliseconds(), g.opt.TTL.Milliseconds())
	}); err != nil {
		g.trip(ctx, "sync", err)
		return false, nil
	}
	return decided, nil
}

// Commit ends the reservations of an order whose transaction took its units.
func (g *Gate) Commit(ctx context.Context, lines []Line) { g.settle(ctx, lines, false) }

// Release gives back the reserved units of an order whose transaction did not take them
// (or may not have: giving back too much only lets more orders try DynamoDB).
func (g *Gate) Release(ctx context.Context, lines []Line) { g.settle(ctx, lines, true) }

func (g *Gate) settle(ctx context.Context, lines []Line, giveBack bool) {
	if len(lines) == 0 || !g.Available() {
		return
	}
	flag := "0"
	if giveBack {
		flag = "1"
	}
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		return settleScript.Eval(ctx, pipe, []string{GateKey(l.ProductID)}, l.Quantity, flag)
	}); err != nil {
		g.trip(ctx, "settle", err)
	}
}

// Observe records DynamoDB's answer that the product has only stock units, too few for an
// order that held held reserved units of it (0: it held none).
func (g *Gate) Observe(ctx context.Context, productID string, stock, held int64) {
	if !g.Available() {
		return
	}
	err := observeScript.Run(ctx, g.rdb, []string{GateKey(productID)}, stock, held,
		g.opt.Now().UnixMilli(), g.opt.Lease.Milliseconds(), g.opt.TTL.Milliseconds()).Err()
	if err != nil {
		g.trip(ctx, "observe", err)
	}
}

// Forget drops what the gate knows of the products, so the next order reads DynamoDB; an
// admin's stock change may call it to be seen at once rather than within a lease.
func (g *Gate) Forget(ctx context.Context, productIDs ...string) {
	if len(productIDs) == 0 || !g.Available() {
		return
	}
	pipe := g.rdb.Pipeline()
	for _, id := range productIDs {
		pipe.Del(ctx, GateKey(id)) // one key per command: no CROSSSLOT on a cluster
	}
	if _, err := pipe.Exec(ctx); err != nil {
		g.trip(ctx, "forget", err)
	}
}

func (g *Gate) unlock(ctx context.Context, lines []Line) {
	if len(lines) == 0 {
		return
	}
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		return unlockScript.Eval(ctx, pipe, []string{GateKey(l.ProductID)})
	}); err != nil {
		g.trip(ctx, "unlock", err)
	}
}

// run runs one single-key script per line in one pipeline and returns their answers.
func (g *Gate) run(ctx context.Context, lines []Line, script func(redis.Pipeliner, Line) *redis.Cmd) ([]int64, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	pipe := g.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(lines))
	for i, l := range lines {
		cmds[i] = script(pipe, l)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]int64, len(cmds))
	for i, c := range cmds {
		n, err := c.Int64()
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// Available reports whether the gate uses Redis now: it has a client and the breaker is
// closed.
func (g *Gate) Available() bool {
	return g.rdb != nil && g.opt.Now().UnixNano() >= g.skipUntil.Load()
}

func (g *Gate) trip(ctx context.Context, op string, err error) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return // the request ended; not Redis's fault
	}
	g.skipUntil.Store(g.opt.Now().Add(g.opt.Cooldown).UnixNano())
	g.opt.Logger(ctx).WarnContext(ctx, "stock gate unavailable, orders go to DynamoDB alone",
		"op", op, "err", err, "retryIn", g.opt.Cooldown.String())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
