package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/shop-serverless/shop/functions/internal/pause"

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
//     conditions decide alone: nothing is oversold, at worst more transactions are tried;
//   - for a product with sharded stock the entry also keeps each shard's units left and
//     held, learned from DynamoDB with the layout's generation, and a reservation is made
//     on the shard(s) acquireScript picks: checkout takes the units there (shards.go).
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
	// fieldShards: the shard count of a product whose stock is sharded, as the gate learned
	// it; absent for a product kept in its own item (or whose shards the gate forgot).
	fieldShards = "n"
	// fieldGen: the layout generation (catalog's shards.go) of the shards the gate learned.
	fieldGen = "g"
	// fieldShardLeft and fieldShardHeld prefix a shard's number: "s3" is the units left in
	// shard 3 (the shard's units at the last sync minus those committed since), "t3" the
	// units live reservations hold on it. fieldLeft and fieldHeld stay their sums.
	fieldShardLeft = "s"
	fieldShardHeld = "t"
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
	{"SHARDS", fieldShards}, {"GEN", fieldGen},
	{"SHARD_LEFT", fieldShardLeft}, {"SHARD_HELD", fieldShardHeld},
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
	argShards   = "shards"   // a sharded product's units by shard, "u0,u1,..."; "" when not sharded
	argGen      = "gen"      // the layout generation of those shards
	argPick     = "pick"     // a random number below 2^30 (exact in Lua): which of the shards that hold the quantity
	argTakes    = "takes"    // the shards a reservation holds units on, "shard:units,...", or ""
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
  local gone, shardGone = 0, {}
  for _, m in ipairs(expired) do
    local sh, u = string.match(m, ":(%d+):(%d+)$")
    if sh then
      shardGone[sh] = (shardGone[sh] or 0) + tonumber(u)
    else
      u = string.match(m, ":(%d+)$")
    end
    gone = gone + tonumber(u)
  end
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now)
  if redis.call("EXISTS", KEYS[1]) == 1 then
    local h = tonumber(redis.call("HGET", KEYS[1], HELD) or 0)
    redis.call("HSET", KEYS[1], HELD, math.max(0, h - gone))
    for sh, u in pairs(shardGone) do
      local sh_h = tonumber(redis.call("HGET", KEYS[1], SHARD_HELD .. sh) or 0)
      redis.call("HSET", KEYS[1], SHARD_HELD .. sh, math.max(0, sh_h - u))
    end
  end
end`

// storeShardsLua defines storeShards(shards, gen): it replaces the shards the entry knows
// by shards ("u0,u1,...", or "" for a product not sharded) of layout gen. What live
// reservations hold on each shard stays: the units read still include theirs.
const storeShardsLua = `
local function storeShards(shards, gen)
  local old = tonumber(redis.call("HGET", KEYS[1], SHARDS) or 0)
  for i = 0, old - 1 do redis.call("HDEL", KEYS[1], SHARD_LEFT .. i) end
  if shards == "" then
    redis.call("HDEL", KEYS[1], SHARDS, GEN)
    return
  end
  local n = 0
  for u in string.gmatch(shards, "[^,]+") do
    redis.call("HSET", KEYS[1], SHARD_LEFT .. n, u)
    n = n + 1
  end
  redis.call("HSET", KEYS[1], SHARDS, n, GEN, gen)
end`

// acquireScript reserves a line's units, refuses it, or tells the caller to wait or to
// read DynamoDB.
//
// For a sharded product it also picks the shards: one, at random, among those whose units
// left minus held cover the quantity, so that concurrent orders spread over the shards'
// items (the reason for sharding: each item's write rate is the limit; the fullest shard
// would draw every order of a burst while the others hold as many units); when none alone
// does, the fullest ones, as few as hold it. It answers then {ADMIT, gen, shard, units,
// shard, units, ...}, the units reserved on each shard, on the layout of generation gen.
var acquireScript = newGateScript([]luaArg{
	{argQty, true}, {argNow, true}, {argLease, true}, {argLockFor, true}, {argTTL, true},
	{argToken, false}, {argHold, true}, {argPick, true},
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
local n = tonumber(redis.call("HGET", KEYS[1], SHARDS) or 0)
if n > 0 and left - held >= qty then
  -- One HMGET of every shard's left and held fields, not two calls per shard: this runs
  -- for every order of the product, and Redis runs one script at a time.
  local fields = {}
  for i = 0, n - 1 do
    fields[2 * i + 1], fields[2 * i + 2] = SHARD_LEFT .. i, SHARD_HELD .. i
  end
  local sv = redis.call("HMGET", KEYS[1], unpack(fields))
  local free, fits, total = {}, {}, 0
  for i = 0, n - 1 do
    local f = tonumber(sv[2 * i + 1] or 0) - tonumber(sv[2 * i + 2] or 0)
    free[i] = f
    if f >= qty then fits[#fits + 1] = i end
    if f > 0 then total = total + f end
  end
  local takes = {}
  if #fits > 0 then
    takes = {fits[pick % #fits + 1], qty}
  elseif total >= qty then
    local fullest = {}
    for i = 0, n - 1 do if free[i] > 0 then fullest[#fullest + 1] = i end end
    table.sort(fullest, function(a, b) return free[a] > free[b] end)
    local rest = qty
    for _, i in ipairs(fullest) do
      if rest == 0 then break end
      local u = math.min(rest, free[i])
      table.insert(takes, i)
      table.insert(takes, u)
      rest = rest - u
    end
  end
  if #takes > 0 then
    local answer = {ADMIT, redis.call("HGET", KEYS[1], GEN) or ""}
    for j = 1, #takes, 2 do
      redis.call("ZADD", KEYS[2], now + hold, token .. ":" .. takes[j] .. ":" .. takes[j + 1])
      redis.call("HINCRBY", KEYS[1], SHARD_HELD .. takes[j], takes[j + 1])
      table.insert(answer, takes[j])
      table.insert(answer, takes[j + 1])
    end
    redis.call("HSET", KEYS[1], HELD, held + qty, REFUSE_UNTIL, now + lease)
    redis.call("PEXPIRE", KEYS[1], ttl)
    redis.call("PEXPIRE", KEYS[2], ttl)
    return answer
  end
  -- The sum covers the order and the shards do not (units committed on shards of an older
  -- layout): reserved on the sum alone, and checkout picks the shards itself.
end
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
	{argStock, true}, {argShards, false}, {argGen, false}, {argNow, true}, {argLease, true}, {argTTL, true},
}, expireLua+storeShardsLua+`
storeShards(shards, gen)
redis.call("HSET", KEYS[1], LEFT, stock, REFUSE_UNTIL, now + lease)
if not redis.call("HGET", KEYS[1], HELD) then redis.call("HSET", KEYS[1], HELD, 0) end
redis.call("HDEL", KEYS[1], LOADING_UNTIL)
redis.call("PEXPIRE", KEYS[1], ttl)
return 1`)

// unlockScript gives up the load lock (the product does not exist, or the read failed).
var unlockScript = newGateScript(nil, `
redis.call("HDEL", KEYS[1], LOADING_UNTIL)
return 1`)

// forgetScript drops what the entry knows of the product's stock and shards (not what
// reservations hold), so the next order reads DynamoDB.
var forgetScript = newGateScript(nil, storeShardsLua+`
storeShards("", "")
redis.call("HDEL", KEYS[1], LEFT, REFUSE_UNTIL)
return 1`)

// settleScript ends the reservation token of qty units (on the shards of takes, when the
// gate picked them); with a reported stock (and its shards), the units left are then what
// DynamoDB said.
var settleScript = newGateScript([]luaArg{
	{argToken, false}, {argQty, true}, {argTakes, false}, {argHow, false}, {argReported, false},
	{argShards, false}, {argGen, false}, {argNow, true}, {argLease, true},
}, storeShardsLua+`
local commit = how == "`+settleCommit+`"
local exists = redis.call("EXISTS", KEYS[1]) == 1
local gone = 0
if takes == "" then
  if redis.call("ZREM", KEYS[2], token .. ":" .. qty) == 1 then gone = qty end
else
  for sh, u in string.gmatch(takes, "(%d+):(%d+)") do
    if redis.call("ZREM", KEYS[2], token .. ":" .. sh .. ":" .. u) == 1 then
      gone = gone + tonumber(u)
      local h = tonumber(redis.call("HGET", KEYS[1], SHARD_HELD .. sh) or 0)
      if h > 0 then redis.call("HSET", KEYS[1], SHARD_HELD .. sh, math.max(0, h - tonumber(u))) end
    end
    if exists and commit and redis.call("HGET", KEYS[1], SHARD_LEFT .. sh) then
      redis.call("HINCRBY", KEYS[1], SHARD_LEFT .. sh, -tonumber(u))
    end
  end
end
if not exists then return 0 end
if gone > 0 then
  local h = tonumber(redis.call("HGET", KEYS[1], HELD) or 0)
  redis.call("HSET", KEYS[1], HELD, math.max(0, h - gone))
end
if commit and redis.call("HGET", KEYS[1], LEFT) then redis.call("HINCRBY", KEYS[1], LEFT, -qty) end
if reported ~= "" then
  storeShards(shards, gen)
  redis.call("HSET", KEYS[1], LEFT, reported, REFUSE_UNTIL, now + lease)
end
return 1`)

// observeScript records DynamoDB's answer that the product has stock units, too few for an
// order that held no reservation of it.
var observeScript = newGateScript([]luaArg{
	{argStock, true}, {argShards, false}, {argGen, false}, {argNow, true}, {argLease, true}, {argTTL, true},
}, storeShardsLua+`
storeShards(shards, gen)
redis.call("HSET", KEYS[1], LEFT, stock, REFUSE_UNTIL, now + lease)
if not redis.call("HGET", KEYS[1], HELD) then redis.call("HSET", KEYS[1], HELD, 0) end
redis.call("PEXPIRE", KEYS[1], ttl)
return 1`)

// StockLoader reads the stock of products from DynamoDB, strongly consistent; unknown
// products are absent from the map.
type StockLoader func(ctx context.Context, ids []string) (map[string]StockLevel, error)

// StockLevel is a product's stock as DynamoDB holds it.
type StockLevel struct {
	// Units is the product's whole stock.
	Units int64
	// Shards are the units of each shard, by shard number, of a product whose stock is
	// sharded (nil otherwise), of the layout of generation Gen.
	Shards []int64
	Gen    string
}

// shardList is how the scripts take a product's shards: "u0,u1,...".
func (s StockLevel) shardList() string {
	parts := make([]string, len(s.Shards))
	for i, u := range s.Shards {
		parts[i] = strconv.FormatInt(u, 10)
	}
	return strings.Join(parts, ",")
}

// Admission is the gate's decision on an order.
type Admission struct {
	// Reserved: the order's units are reserved; it must Commit or Release them.
	Reserved bool
	// Refused names a product the gate refuses the order for (too few units left).
	Refused string
	// picks are the shards the gate reserved a sharded product's units on, by product.
	picks map[string]gatePick
	token string
}

// gatePick is the shards the gate reserved a line's units on: the units of each, on the
// layout of generation Gen as the gate learned it.
type gatePick struct {
	Gen   string
	Takes []shardTake
}

// takeList is how the scripts take a pick: "shard:units,...".
func (p gatePick) takeList() string {
	parts := make([]string, len(p.Takes))
	for i, t := range p.Takes {
		parts[i] = strconv.Itoa(t.Shard) + ":" + strconv.FormatInt(t.Units, 10)
	}
	return strings.Join(parts, ",")
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
		answers, err := g.pipeline(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
			return acquireScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
				argQty: l.Quantity, argNow: g.opt.Now().UnixMilli(), argLease: g.opt.Lease.Milliseconds(),
				argLockFor: g.opt.MaxWait.Milliseconds(), argTTL: g.opt.TTL.Milliseconds(),
				argToken: token, argHold: g.opt.Hold.Milliseconds(), argPick: mrand.Int64N(1 << 30)})
		})
		var codes []int64
		var picks map[string]gatePick
		if err == nil {
			codes, picks, err = acquireAnswers(lines, answers)
		}
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
			return Admission{Reserved: true, picks: picks, token: token}, nil
		}
		// Hold no units while the rest of the order is undecided.
		g.Release(ctx, Admission{Reserved: true, picks: picks, token: token}, taken)
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
		st := stocks[l.ProductID]
		return syncScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
			argStock: st.Units, argShards: st.shardList(), argGen: st.Gen, argNow: g.opt.Now().UnixMilli(),
			argLease: g.opt.Lease.Milliseconds(), argTTL: g.opt.TTL.Milliseconds()})
	}); err != nil {
		g.breaker.Fail(ctx, "sync", err)
		return false, nil
	}
	return decided, nil
}

// Commit ends the reservations of an order whose transaction took its units. The gate's
// picks are committed as the shards the units left (an order that took them elsewhere
// makes the gate Forget the product).
func (g *Gate) Commit(ctx context.Context, a Admission, lines []Line) {
	g.settle(ctx, a, lines, settleCommit, "", StockLevel{})
}

// Release gives back the reserved units of an order whose transaction did not take them
// (or may not have: giving back too much only lets more orders try DynamoDB).
func (g *Gate) Release(ctx context.Context, a Admission, lines []Line) {
	g.settle(ctx, a, lines, settleRelease, "", StockLevel{})
}

// Observe records DynamoDB's answer that the product has only stock, too few for an order
// (a transaction cancelled on its condition, or a consistent read of all its shards). The
// order's reservation of the product, if it held one, is released with it.
func (g *Gate) Observe(ctx context.Context, a Admission, l Line, stock StockLevel) {
	if !g.Available() {
		return
	}
	if a.Reserved {
		g.settle(ctx, a, []Line{l}, settleRelease, l.ProductID, stock)
		return
	}
	err := observeScript.eval(ctx, g.rdb, gateKeys(l.ProductID), argv{
		argStock: stock.Units, argShards: stock.shardList(), argGen: stock.Gen, argNow: g.opt.Now().UnixMilli(),
		argLease: g.opt.Lease.Milliseconds(), argTTL: g.opt.TTL.Milliseconds()}).Err()
	if err != nil {
		g.breaker.Fail(ctx, "observe", err)
	}
}

// settle ends the reservation of a's token on lines; for the line of product observed,
// DynamoDB reported stock units.
func (g *Gate) settle(ctx context.Context, a Admission, lines []Line, how, observed string, stock StockLevel) {
	if !a.Reserved || len(lines) == 0 || !g.Available() {
		return
	}
	now, lease := g.opt.Now().UnixMilli(), g.opt.Lease.Milliseconds()
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		reported, shards := "", ""
		if l.ProductID == observed {
			reported, shards = strconv.FormatInt(stock.Units, 10), stock.shardList()
		}
		return settleScript.eval(ctx, pipe, gateKeys(l.ProductID), argv{
			argToken: a.token, argQty: l.Quantity, argTakes: a.picks[l.ProductID].takeList(), argHow: how,
			argReported: reported, argShards: shards, argGen: stock.Gen, argNow: now, argLease: lease})
	}); err != nil {
		g.breaker.Fail(ctx, how, err)
	}
}

// Forget drops what the gate knows of the products' stock and shards (not their
// reservations), so the next order reads DynamoDB: checkout calls it when the gate's
// shards turn out stale (a layout changed by an admin write, a shard short of the units
// the gate picked it for).
func (g *Gate) Forget(ctx context.Context, productIDs ...string) {
	if len(productIDs) == 0 || !g.Available() {
		return
	}
	lines := make([]Line, len(productIDs))
	for i, id := range productIDs {
		lines[i] = Line{ProductID: id}
	}
	if _, err := g.run(ctx, lines, func(pipe redis.Pipeliner, l Line) *redis.Cmd {
		return forgetScript.eval(ctx, pipe, []string{GateKey(l.ProductID)}, nil)
	}); err != nil {
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
	cmds, err := g.pipeline(ctx, lines, script)
	if err != nil {
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

// pipeline runs one script per line in one pipeline and returns their commands, answered.
func (g *Gate) pipeline(ctx context.Context, lines []Line, script func(redis.Pipeliner, Line) *redis.Cmd) ([]*redis.Cmd, error) {
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
	return cmds, nil
}

// acquireAnswers reads acquireScript's answers: a code per line, or {ADMIT, gen, shard,
// units, ...} for a sharded line the gate picked shards for.
func acquireAnswers(lines []Line, cmds []*redis.Cmd) (codes []int64, picks map[string]gatePick, err error) {
	codes = make([]int64, len(cmds))
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, nil, err
		}
		switch v := v.(type) {
		case int64:
			codes[i] = v
		case []any:
			pick, err := pickOf(v)
			if err != nil {
				return nil, nil, err
			}
			if picks == nil {
				picks = map[string]gatePick{}
			}
			codes[i], picks[lines[i].ProductID] = codeAdmit, pick
		default:
			return nil, nil, fmt.Errorf("acquire: answer %v of type %T", v, v)
		}
	}
	return codes, picks, nil
}

// pickOf reads {ADMIT, gen, shard, units, ...}.
func pickOf(v []any) (gatePick, error) {
	bad := fmt.Errorf("acquire: answer %v is not {ADMIT, gen, shard, units, ...}", v)
	if len(v) < 4 || len(v)%2 != 0 || v[0] != int64(codeAdmit) {
		return gatePick{}, bad
	}
	gen, ok := v[1].(string)
	if !ok {
		return gatePick{}, bad
	}
	p := gatePick{Gen: gen}
	for j := 2; j < len(v); j += 2 {
		shard, ok1 := v[j].(int64)
		units, ok2 := v[j+1].(int64)
		if !ok1 || !ok2 {
			return gatePick{}, bad
		}
		p.Takes = append(p.Takes, shardTake{Shard: int(shard), Units: units})
	}
	return p, nil
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

// KnownShards returns what the gate knows of a sharded product: the units left in each
// shard (as of the last sync, minus the units committed since) and the layout generation;
// ok is false when it knows no shards of the product.
func (g *Gate) KnownShards(ctx context.Context, productID string) (left []int64, gen string, ok bool, err error) {
	key := GateKey(productID)
	v, err := g.rdb.HMGet(ctx, key, fieldShards, fieldGen).Result()
	if err != nil {
		return nil, "", false, fmt.Errorf("read gate entry of %s: %w", productID, err)
	}
	n, _ := strconv.Atoi(fmt.Sprint(v[0]))
	if v[0] == nil || n <= 0 {
		return nil, "", false, nil
	}
	gen, _ = v[1].(string)
	fields := make([]string, n)
	for i := range fields {
		fields[i] = fieldShardLeft + strconv.Itoa(i)
	}
	units, err := g.rdb.HMGet(ctx, key, fields...).Result()
	if err != nil {
		return nil, "", false, fmt.Errorf("read gate shards of %s: %w", productID, err)
	}
	left = make([]int64, n)
	for i, u := range units {
		left[i], _ = strconv.ParseInt(fmt.Sprint(u), 10, 64)
	}
	return left, gen, true, nil
}
