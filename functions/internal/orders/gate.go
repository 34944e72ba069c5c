package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/shop-serverless/shop/functions/internal/pause"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shop-serverless/shop/functions/internal/breaker"
	"github.com/shop-serverless/shop/functions/internal/catalog"
)

// GateOptions tunes a Gate; zero fields take the defaults.
type GateOptions struct {
	// Lease is how long the gate trusts a shortage it knows of: within a lease of the last
	// sync with DynamoDB or the last admission it refuses orders the units left cannot
	// fill; after that one caller reads DynamoDB again. A restock made outside checkout is
	// so seen within a lease. Default 1 s.
	Lease time.Duration
	// Hold is how long a reservation lives unless settled: longer than any transaction
	// (with its retries) takes, so only a reservation lost with its instance expires.
	// Default 15 s.
	Hold time.Duration
	// MaxWait is how long an order waits for the gate to decide (while another instance
	// reads DynamoDB, or while reservations are in flight) before DynamoDB decides alone.
	// Default 5 s.
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
// refused without touching the product's item (checkout then records the refusal under the
// order's own key). DynamoDB stays the truth; the gate is a
// mirror that errs towards letting orders through:
//
//   - Redis learns a product's stock only from DynamoDB: one caller reads it (strongly
//     consistent) when Redis knows nothing, and again when the gate would refuse an order
//     a lease after its last news, so a restock is noticed within a lease; a transaction
//     DynamoDB cancels for lack of stock corrects it too;
//   - each order's units are reserved before its transaction, with an expiry; after the
//     transaction the reservation is committed (the units are taken) or released; one
//     lost with a crashed instance expires by itself;
//   - an order is refused only when the units left, minus those reserved, are too few and
//     no reservation is in flight; while reservations are in flight it waits for them (at
//     most MaxWait);
//   - whenever the gate cannot decide (Redis unreachable, flushed, slow), DynamoDB's
//     conditions decide alone: nothing is oversold, at worst more transactions are tried.
//
// A product's entry is two keys hash-tagged with the product's cache key, so the scripts
// that use both keep to one slot and work unchanged on a cluster-mode cache (ElastiCache
// Serverless). Different products are different slots: the lines of an order run one
// script each, in one pipeline.
type Gate struct {
	rdb     redis.UniversalClient
	opt     GateOptions
	breaker *breaker.Breaker // skips Redis for a cooldown after an error
}

// NewGate returns a gate over rdb; a nil rdb gives a gate that lets DynamoDB decide alone.
func NewGate(rdb redis.UniversalClient, opt GateOptions) *Gate {
	if opt.Lease <= 0 {
		opt.Lease = time.Second
	}
	if opt.Hold <= 0 {
		opt.Hold = 15 * time.Second
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 5 * time.Second
	}
	if opt.TTL <= 0 {
		opt.TTL = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Gate{rdb: rdb, opt: opt, breaker: breaker.New(breaker.Options{
		Cooldown: opt.Cooldown, Now: opt.Now, Logger: opt.Logger,
		Message: "stock gate unavailable, orders go to DynamoDB alone"})}
}

// GateKey is the Redis key of a product's stock entry. Its hash tag is the product's cache
// key, so the entry, its reservations and the cached product document share a slot.
func GateKey(productID string) string { return "stock:{" + catalog.CacheKey(productID) + "}" }

// gateKeys returns a product's two keys: the entry, a hash of the entryFields, and the
// reservations, a sorted set of "<token>:<units>" scored by expiry (Unix ms).
func gateKeys(productID string) []string {
	k := GateKey(productID)
	return []string{k, k + ":held"}
}

// Fields of a product's entry. The scripts know them by the Lua names in entryFields.
const (
	// fieldLeft: units left as far as the gate knows (DynamoDB's stock at the last sync
	// minus the units committed since).
	fieldLeft = "a"
	// fieldHeld: units held by live reservations.
	fieldHeld = "h"
	// fieldRefuseUntil: until when (Unix ms) a shortage may refuse orders.
	fieldRefuseUntil = "f"
	// fieldLoadingUntil: until when (Unix ms) one caller is reading DynamoDB for the product.
	fieldLoadingUntil = "i"
)

// Answers of acquireScript for one line.
const (
	codeAdmit  = 0 // the line's units are reserved
	codeRefuse = 1 // too few units left, none in flight, and that is recent news
	codeWait   = 2 // reservations are in flight, or another caller is reading DynamoDB
	codeLoad   = 3 // this caller reads DynamoDB and runs syncScript
)

// gateNames is the one table of what the scripts and the Go code both name: the entry's
// fields and acquireScript's answers. Every script starts by declaring them as locals.
var gateNames = []luaName{
	{"LEFT", fieldLeft}, {"HELD", fieldHeld},
	{"REFUSE_UNTIL", fieldRefuseUntil}, {"LOADING_UNTIL", fieldLoadingUntil},
	{"ADMIT", codeAdmit}, {"REFUSE", codeRefuse}, {"WAIT", codeWait}, {"LOAD", codeLoad},
}

// Names of the scripts' arguments, in Go (the keys of an argv) and in Lua (locals).
const (
	argQty      = "qty"      // units of the order's line
	argNow      = "now"      // Unix ms
	argLease    = "lease"    // ms a shortage may refuse orders after news of it
	argLockFor  = "lockFor"  // ms the caller told to read DynamoDB holds the load lock
	argTTL      = "ttl"      // ms the keys live without a write
	argToken    = "token"    // the order's reservation token
	argHold     = "hold"     // ms a reservation lives unless settled
	argStock    = "stock"    // units DynamoDB reported
	argHow      = "how"      // settleCommit or settleRelease
	argReported = "reported" // a stock DynamoDB reported with the settlement, or ""
)

// How an order settles its reservation.
const (
	settleCommit  = "commit"  // the order took the units: they leave the units left
	settleRelease = "release" // the units go back
)

// expireLua drops the reservations past their expiry from the held count. It expects the
// locals now and ttl.
const expireLua = `
local expired = redis.call("ZRANGEBYSCORE", KEYS[2], "-inf", now)
if #expired > 0 then
  local gone = 0
  for _, m in ipairs(expired) do gone = gone + tonumber(string.match(m, ":(%d+)$")) end
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
  if redis.call("EXISTS", KEYS[1]) == 1 then
    local h = tonumber(redis.call("HGET", KEYS[1], HELD) or 0)
    redis.call("HSET", KEYS[1], HELD, math.max(0, h - gone))
  end
end`

// acquireScript reserves a line's units, refuses it, or tells the caller to wait or to
// read DynamoDB.
var acquireScript = newGateScript([]luaArg{
	{argQty, true}, {argNow, true}, {argLease, true}, {argLockFor, true}, {argTTL, true},
	{argToken, false}, {argHold, true},
}, expireLua+`
local v = redis.call("HMGET", KEYS[1], LEFT, HELD, REFUSE_UNTIL, LOADING_UNTIL)
local loadingUntil = tonumber(v[4] or 0)
if not v[1] then
  if loadingUntil > now then return WAIT end
  redis.call("HSET", KEYS[1], LOADING_UNTIL, now + lockFor)
  redis.call("PEXPIRE", KEYS[1], ttl)
  return LOAD
end
local left, held, refuseUntil = tonumber(v[1]), tonumber(v[2] or 0), tonumber(v[3] or 0)
if left - held >= qty then
  redis.call("ZADD", KEYS[2], now + hold, token .. ":" .. qty)
  redis.call("HSET", KEYS[1], HELD, held + qty, REFUSE_UNTIL, now + lease)
  redis.call("PEXPIRE", KEYS[1], ttl)
  redis.call("PEXPIRE", KEYS[2], ttl)
  return ADMIT
end
if held > 0 then return WAIT end
if refuseUntil > now then return REFUSE end
if loadingUntil > now then return WAIT end
redis.call("HSET", KEYS[1], LOADING_UNTIL, now + lockFor)
return LOAD`)

// syncScript stores DynamoDB's stock, read by the caller acquireScript told to. Live
// reservations stay: the stock read still holds their units.
var syncScript = newGateScript([]luaArg{
	{argStock, true}, {argNow, true}, {argLease, true}, {argTTL, true},
}, expireLua+`
redis.call("HSET", KEYS[1], LEFT, stock, REFUSE_UNTIL, now + lease)
if not redis.call("HGET", KEYS[1], HELD) then redis.call("HSET", KEYS[1], HELD, 0) end
redis.call("HDEL", KEYS[1], LOADING_UNTIL)
redis.call("PEXPIRE", KEYS[1], ttl)
return 1`)

// unlockScript gives up the load lock (the product does not exist, or the read failed).
var unlockScript = newGateScript(nil, `
redis.call("HDEL", KEYS[1], LOADING_UNTIL)
return 1`)

// settleScript ends the reservation token of qty units; with a reported stock, the units
// left are then what DynamoDB said.
var settleScript = newGateScript([]luaArg{
	{argToken, false}, {argQty, true}, {argHow, false}, {argReported, false}, {argNow, true}, {argLease, true},
}, `
local held = redis.call("ZREM", KEYS[2], token .. ":" .. qty) == 1
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
if held then
  local h = tonumber(redis.call("HGET", KEYS[1], HELD) or 0)
  redis.call("HSET", KEYS[1], HELD, math.max(0, h - qty))
end
if how == "`+settleCommit+`" then redis.call("HINCRBY", KEYS[1], LEFT, -qty) end
if reported ~= "" then
  redis.call("HSET", KEYS[1], LEFT, reported, REFUSE_UNTIL, now + lease)
end
return 1`)

// observeScript records DynamoDB's answer that the product has stock units, too few for an
// order that held no reservation of it.
var observeScript = newGateScript([]luaArg{
	{argStock, true}, {argNow, true}, {argLease, true}, {argTTL, true},
}, `
redis.call("HSET", KEYS[1], LEFT, stock, REFUSE_UNTIL, now + lease)
if not redis.call("HGET", KEYS[1], HELD) then redis.call("HSET", KEYS[1], HELD, 0) end
redis.call("PEXPIRE", KEYS[1], ttl)
return 1`)

// StockLoader reads the stock of products from DynamoDB, strongly consistent; unknown
// products are absent from the map.
type StockLoader func(ctx context.Context, ids []string) (map[string]int64, error)

// Admission is the gate's decision on an order.
type Admission struct {
	// Reserved: the order's units are reserved; it must Commit or Release them.
	Reserved bool
	// Refused names a product the gate refuses the order for (too few units left).
	Refused string
	token   string
}

// An order the gate cannot decide yet asks again after a pause of firstPause, doubling up
// to maxPause. MaxWait ends the waiting; maxRounds only bounds the loop should the clock
// stand still.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 40 * time.Millisecond
	maxRounds  = 1000
)

// Acquire decides on an order: it reserves the units of every line, or refuses the order
// for a product with too few units left, or (the zero Admission) leaves the decision to
// DynamoDB. When the gate knows nothing of a product it reads its stock with load. An
// error is load's.
func (g *Gate) Acquire(ctx context.Context, lines []Line, load StockLoader) (Admission, error) {
	deadline := g.opt.Now().Add(g.opt.MaxWait)
	delay := firstPause
	for range maxRounds {
		if !g.Available() {
			return Admission{}, nil
		}
		token := newToken()
		codes, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
			return acquireScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
				argQty: l.Quantity, argNow: g.opt.Now().UnixMilli(), argLease: g.opt.Lease.Milliseconds(),
				argLockFor: g.opt.MaxWait.Milliseconds(), argTTL: g.opt.TTL.Milliseconds(),
				argToken: token, argHold: g.opt.Hold.Milliseconds()})
		})
		if err != nil {
			g.breaker.Fail(ctx, "acquire", err)
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
			return Admission{Reserved: true, token: token}, nil
		}
		// Hold no units while the rest of the order is undecided.
		g.Release(ctx, Admission{Reserved: true, token: token}, taken)
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
		if waiting && g.opt.Now().Add(delay).After(deadline) {
			return Admission{}, nil // undecided for too long: DynamoDB decides
		}
		if err := pause.For(ctx, delay); err != nil {
			return Admission{}, err
		}
		delay = min(delay*2, maxPause)
	}
	return Admission{}, nil // still undecided after maxRounds: DynamoDB decides
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
		return syncScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
			argStock: stocks[l.ProductID], argNow: g.opt.Now().UnixMilli(),
			argLease: g.opt.Lease.Milliseconds(), argTTL: g.opt.TTL.Milliseconds()})
	}); err != nil {
		g.breaker.Fail(ctx, "sync", err)
		return false, nil
	}
	return decided, nil
}

// Commit ends the reservations of an order whose transaction took its units.
func (g *Gate) Commit(ctx context.Context, a Admission, lines []Line) {
	g.settle(ctx, a, lines, settleCommit, "", -1)
}

// Release gives back the reserved units of an order whose transaction did not take them
// (or may not have: giving back too much only lets more orders try DynamoDB).
func (g *Gate) Release(ctx context.Context, a Admission, lines []Line) {
	g.settle(ctx, a, lines, settleRelease, "", -1)
}

// Observe records DynamoDB's answer that the product has only stock units, too few for an
// order (a transaction cancelled on its condition: a consistent answer). The order's
// reservation of the product, if it held one, is released with it.
func (g *Gate) Observe(ctx context.Context, a Admission, l Line, stock int64) {
	if !g.Available() {
		return
	}
	if a.Reserved {
		g.settle(ctx, a, []Line{l}, settleRelease, l.ProductID, stock)
		return
	}
	err := observeScript.eval(ctx, g.rdb, gateKeys(l.ProductID), argv{
		argStock: stock, argNow: g.opt.Now().UnixMilli(),
		argLease: g.opt.Lease.Milliseconds(), argTTL: g.opt.TTL.Milliseconds()}).Err()
	if err != nil {
		g.breaker.Fail(ctx, "observe", err)
	}
}

// settle ends the reservation of a's token on lines; for the line of product observed,
// DynamoDB reported stock units.
func (g *Gate) settle(ctx context.Context, a Admission, lines []Line, how, observed string, stock int64) {
	if !a.Reserved || len(lines) == 0 || !g.Available() {
		return
	}
	now, lease := g.opt.Now().UnixMilli(), g.opt.Lease.Milliseconds()
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		reported := ""
		if l.ProductID == observed {
			reported = strconv.FormatInt(stock, 10)
		}
		return settleScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
			argToken: a.token, argQty: l.Quantity, argHow: how, argReported: reported, argNow: now, argLease: lease})
	}); err != nil {
		g.breaker.Fail(ctx, how, err)
	}
}

// Forget drops what the gate knows of the products (not their reservations), so the next
// order reads DynamoDB; an admin's stock change may call it to be seen at once rather than
// within a lease.
func (g *Gate) Forget(ctx context.Context, productIDs ...string) {
	if len(productIDs) == 0 || !g.Available() {
		return
	}
	pipe := g.rdb.Pipeline()
	for _, id := range productIDs {
		pipe.HDel(ctx, GateKey(id), fieldLeft, fieldRefuseUntil)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		g.breaker.Fail(ctx, "forget", err)
	}
}

func (g *Gate) unlock(ctx context.Context, lines []Line) {
	if len(lines) == 0 {
		return
	}
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		return unlockScript.eval(ctx, pipe, []string{GateKey(l.ProductID)}, nil)
	}); err != nil {
		g.breaker.Fail(ctx, "unlock", err)
	}
}

// run runs one script per line (on that product's keys, one slot) in one pipeline and
// returns their answers.
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

func newToken() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Available reports whether the gate uses Redis now: it has a client and the breaker is
// closed.
func (g *Gate) Available() bool {
	return g.rdb != nil && g.breaker.Allow() == nil
}
