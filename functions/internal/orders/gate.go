package orders

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/catalog"
)

// Verdict is the gate's answer for one line of an order.
type Verdict int

// Verdicts of Gate.Check.
const (
	// Pass: nothing is known against the line; DynamoDB decides.
	Pass Verdict = iota
	// Refuse: DynamoDB recently found the product short of the quantity; refuse the order
	// without touching DynamoDB.
	Refuse
	// Probe: the product was found short, but that was a lease ago. This caller, and only
	// this one until the next lease ends, reads DynamoDB again, so a restock is noticed.
	Probe
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Probe:
		return "probe"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// GateOptions tunes a Gate; zero fields take the defaults.
type GateOptions struct {
	// Lease is how long an observation is trusted before one caller re-reads DynamoDB; it
	// bounds how long a restocked product can still be refused. Default 1 s.
	Lease time.Duration
	// TTL is how long a marker lives without being observed again. Default 10 min.
	TTL time.Duration
	// Cooldown is how long Redis is skipped after an error. Default 1 s.
	Cooldown time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger returns the logger for ctx; default slog.Default.
	Logger func(context.Context) *slog.Logger
}

// Gate keeps, in Redis, what DynamoDB last said about products that could not fill an
// order, so that a sold-out product's further orders are refused without a DynamoDB write
// (or read). It is a hint, never the truth:
//
//   - a marker is only set from a DynamoDB answer (a read showing too little stock, or a
//     transaction cancelled on the stock condition), and only ever refuses quantities above
//     the stock DynamoDB reported;
//   - every Lease one caller re-reads DynamoDB, so a restock is honoured within a lease
//     whoever made it, with no coupling to the writer;
//   - markers expire (TTL), and a flushed or restarted Redis merely loses them: DynamoDB's
//     conditions still refuse what cannot be filled, and the next refusal sets them again;
//   - when Redis fails, the gate passes everything for Cooldown (a breaker), so an outage
//     costs no timeouts, and orders go to DynamoDB alone.
//
// Each product's marker is its own key, hash-tagged with the product's cache key, and each
// script touches one key: the gate works unchanged on a cluster-mode cache (ElastiCache
// Serverless), where a script's keys must share a slot. A multi-product order runs one
// script per product in one pipeline.
type Gate struct {
	rdb       redis.UniversalClient
	opt       GateOptions
	skipUntil atomic.Int64 // unix nanos; Redis is bypassed before then
}

// NewGate returns a gate over rdb; a nil rdb gives a gate that passes everything.
func NewGate(rdb redis.UniversalClient, opt GateOptions) *Gate {
	if opt.Lease <= 0 {
		opt.Lease = time.Second
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

// GateKey is the Redis key of a product's marker. Its hash tag is the product's cache key,
// so the marker and the cached product document live in the same slot.
func GateKey(productID string) string { return "soldout:{" + catalog.CacheKey(productID) + "}" }

// checkScript: KEYS[1] the marker (a hash: s = stock DynamoDB reported, f = until when, in
// Unix ms, that report is trusted); ARGV[1] the quantity asked for, ARGV[2] now (ms),
// ARGV[3] the lease (ms). Returns 0 pass, 1 refuse, 2 probe (and takes the probe lease).
var checkScript = redis.NewScript(`
local v = redis.call("HMGET", KEYS[1], "s", "f")
if not v[1] or tonumber(v[1]) >= tonumber(ARGV[1]) then return 0 end
local now = tonumber(ARGV[2])
if v[2] and tonumber(v[2]) > now then return 1 end
redis.call("HSET", KEYS[1], "f", now + tonumber(ARGV[3]))
return 2`)

// observeScript: KEYS[1] the marker; ARGV[1] the stock DynamoDB reported, ARGV[2] until
// when (ms) to trust it, ARGV[3] the marker's TTL (ms).
var observeScript = redis.NewScript(`
redis.call("HSET", KEYS[1], "s", ARGV[1], "f", ARGV[2])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return 1`)

// Check returns the verdict for each line, in order. When Redis is unavailable, every line
// passes.
func (g *Gate) Check(ctx context.Context, lines []Line) []Verdict {
	out := make([]Verdict, len(lines))
	if !g.Available() {
		return out
	}
	now := strconv.FormatInt(g.opt.Now().UnixMilli(), 10)
	lease := g.opt.Lease.Milliseconds()
	pipe := g.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(lines))
	for i, l := range lines {
		cmds[i] = checkScript.Eval(ctx, pipe, []string{GateKey(l.ProductID)}, l.Quantity, now, lease)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		g.trip(ctx, "check", err)
		return make([]Verdict, len(lines))
	}
	for i, c := range cmds {
		switch v, _ := c.Int64(); v {
		case 1:
			out[i] = Refuse
		case 2:
			out[i] = Probe
		}
	}
	return out
}

// Observe records that DynamoDB reported stock units of the product when it could not fill
// an order.
func (g *Gate) Observe(ctx context.Context, productID string, stock int64) {
	if !g.Available() {
		return
	}
	until := g.opt.Now().Add(g.opt.Lease).UnixMilli()
	err := observeScript.Run(ctx, g.rdb, []string{GateKey(productID)}, stock, until, g.opt.TTL.Milliseconds()).Err()
	if err != nil {
		g.trip(ctx, "observe", err)
	}
}

// Forget removes the products' markers: DynamoDB has stock for them again.
func (g *Gate) Forget(ctx context.Context, productIDs ...string) {
	if !g.Available() || len(productIDs) == 0 {
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
