package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/money"
)

// RecordTTL is how long an Idempotency-Key is remembered: a retry within it gets the
// original order; after it, the key is new again.
const RecordTTL = 24 * time.Hour

// maxAttempts bounds the transaction attempts of one request (conflicts, throttling, a
// product changed under it); after them the answer is 503 with Retry-After, and the
// client's retry with the same key is safe.
const maxAttempts = 8

// newBackOff is the pause between attempts: exponential from 15 ms, at most 400 ms, each
// pause randomized by ±50 % so that requests that conflicted together do not retry together.
func newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 15 * time.Millisecond
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = 400 * time.Millisecond
	return b
}

// Invalidator evicts cached product documents; *cache.Cache is one.
type Invalidator interface {
	Invalidate(ctx context.Context, key string) error
}

// Checkout places orders.
type Checkout struct {
	store    *Store
	gate     *Gate
	local    *localGate
	products Invalidator
	now      func() time.Time
}

// NewCheckout returns a checkout over store and gate that evicts the cached documents of
// products whose stock it took from products (nil: none).
func NewCheckout(store *Store, gate *Gate, products Invalidator) *Checkout {
	return &Checkout{store: store, gate: gate, local: newLocalGate(gate.opt), products: products, now: time.Now}
}

// Place places the user's order under the user's idempotency key. created is false when the
// key was used before with the same request: the answer is the one that request got, the
// order it created or the refusal it met.
//
// The order of steps matters: the idempotency record is looked up first, so a retry is
// answered as before even once the product is sold out or restocked; then the gate admits
// the order (or refuses it without touching the product); then one transaction decides.
// A final refusal is recorded under the key before it is answered; an answer a retry may
// change (503, a failure) is not.
func (c *Checkout) Place(ctx context.Context, userID, key string, req Request) (o Order, created bool, err error) {
	recKey, hash := RecordKey(userID, key), req.Hash()
	if rec, ok, err := c.store.Record(ctx, recKey); err != nil {
		return Order{}, false, err
	} else if ok {
		o, err := c.replay(ctx, rec, hash)
		return o, false, err
	}

	o, err = c.decide(ctx, userID, recKey, hash, req)
	if refusal, ok := finalRefusal(err); ok {
		now := c.now()
		rerr := c.store.PutRefusal(ctx, Record{Key: recKey, RequestHash: hash, Refusal: refusal,
			CreatedAt: Timestamp(now), ExpiresAt: now.Add(RecordTTL).Unix()})
		if rerr == nil {
			return Order{}, false, err
		}
		err = rerr
	}
	switch {
	case err == nil:
		c.evict(ctx, o)
		return o, true, nil
	case errors.Is(err, errKeyUsed):
		// A request with the same key was answered first (a concurrent retry of this one).
		rec, ok, rerr := c.store.Record(ctx, recKey)
		if rerr != nil {
			return Order{}, false, rerr
		}
		if !ok {
			return Order{}, false, fmt.Errorf("idempotency record %s vanished: %w", recKey, api.ErrUnavailable)
		}
		o, err := c.replay(ctx, rec, hash)
		return o, false, err
	case errors.Is(err, errBusy), errors.Is(err, errProductChanged), errors.Is(err, errOrderIDTaken):
		return Order{}, false, fmt.Errorf("%w: %w", api.ErrUnavailable, err)
	default:
		return Order{}, false, err
	}
}

// decide has the gates admit the order and places it: the order, or why not.
func (c *Checkout) decide(ctx context.Context, userID, recKey, hash string, req Request) (Order, error) {
	if id := c.local.Refused(req.Items); id != "" {
		api.Logger(ctx).DebugContext(ctx, "order refused by the instance's sold-out lease", "productId", id)
		return Order{}, outOfStock(id)
	}
	adm, err := c.gate.Acquire(ctx, req.Items, c.stocks)
	if err != nil {
		return Order{}, err
	}
	if adm.Refused != "" {
		api.Logger(ctx).DebugContext(ctx, "order refused by the stock gate", "productId", adm.Refused)
		return Order{}, outOfStock(adm.Refused)
	}
	return c.placeAdmitted(ctx, userID, recKey, hash, req, adm)
}

// finalCodes are the refusals a retry of the same request would meet again as long as
// nothing else changes (a restock, a price change): the key keeps them as its answer.
var finalCodes = map[string]bool{"out_of_stock": true, "not_found": true, "unprocessable": true, "purchase_limit": true}

// finalRefusal returns err as the contract answers it when it is a final refusal.
func finalRefusal(err error) (*Refusal, bool) {
	var e *api.Error
	if !errors.As(err, &e) || !finalCodes[e.Code] {
		return nil, false
	}
	return &Refusal{Status: e.Status, Code: e.Code, Message: e.Message}, true
}

// place prices the order and runs its transaction, with bounded retries, then settles the
// gate's reservations: committed when the order took its units, given back otherwise.
func (c *Checkout) place(ctx context.Context, userID, recKey, hash string, req Request, adm Admission) (o Order, err error) {
	// Products whose shards the gate knows stale: it forgets them once the order settled.
	relearn := map[string]bool{}
	// Settled even when the request's time ran out: its reservation would otherwise hold
	// units until it expires, and a Redis call on a spent context would trip the breaker.
	defer func() { c.settle(context.WithoutCancel(ctx), adm, req.Items, err, relearn) }()

	// With units reserved, the stock is the transaction's to check; without (the gate could
	// not decide), the read refuses what it sees is short, sparing a doomed write.
	o, err = c.price(ctx, userID, req, false, !adm.Reserved)
	if err != nil {
		return Order{}, err
	}
	rec := Record{Key: recKey, RequestHash: hash, OrderID: o.OrderID, CreatedAt: o.CreatedAt,
		ExpiresAt: c.now().Add(RecordTTL).Unix()}
	attempt := 0
	misses := shardMisses{}
	picks := usablePicks(o, adm, relearn)
	o, err = backoff.Retry(ctx, func() (Order, error) {
		attempt++
		if err := c.planTakes(ctx, &o, picks, misses); err != nil {
			return o, backoff.Permanent(err)
		}
		err := c.store.Place(ctx, o, rec)
		var gone *goneError
		var shardShort *shardShortError
		switch {
		case err == nil:
			return o, nil
		case errors.As(err, &shardShort):
			if _, picked := picks[shardShort.ProductID]; picked {
				// The gate's counts were stale: today's path, and the gate learns again.
				delete(picks, shardShort.ProductID)
				relearn[shardShort.ProductID] = true
			}
			misses.add(shardShort)
			return o, err
		case errors.As(err, &gone):
			return o, backoff.Permanent(api.NotFound("product %s does not exist", gone.ProductID))
		case errors.Is(err, errProductChanged), errors.Is(err, errOrderIDTaken):
			// Price the order again from the products as they are now.
			fresh, perr := c.price(ctx, userID, req, true, true)
			if perr != nil {
				return o, backoff.Permanent(perr)
			}
			o = fresh
			rec.OrderID, rec.CreatedAt = o.OrderID, o.CreatedAt
			misses = shardMisses{} // of a layout that may be gone
			picks = usablePicks(o, adm, relearn)
			return o, err
		case errors.Is(err, errBusy):
			return o, err
		default: // errKeyUsed, *shortError, failures
			return o, backoff.Permanent(err)
		}
	}, backoff.WithBackOff(newBackOff()), backoff.WithMaxTries(maxAttempts), backoff.WithMaxElapsedTime(10*time.Second))
	if attempt > 1 {
		api.Logger(ctx).InfoContext(ctx, "order transaction retried", "attempts", attempt, "err", err)
	}
	if shardShort := (*shardShortError)(nil); errors.As(err, &shardShort) {
		err = fmt.Errorf("%w: %w", errBusy, err) // the shards kept changing under the order
	}
	return o, err
}

// settle tells the gate how the order ended: its reservations are committed when it took
// its units and given back otherwise; a transaction cancelled for a product short of stock
// (DynamoDB's own, consistent answer) corrects what the gate knows of it. Then the gate
// forgets the products of relearn, whose shards it knows stale, unless that answer just
// taught it their shards.
func (c *Checkout) settle(ctx context.Context, adm Admission, lines []Line, err error, relearn map[string]bool) {
	var short *shortError
	switch {
	case err == nil:
		c.gate.Commit(ctx, adm, lines)
	case errors.As(err, &short):
		var rest []Line
		for _, l := range lines {
			if l.ProductID == short.ProductID {
				c.gate.Observe(ctx, adm, l, short.level())
			} else {
				rest = append(rest, l)
			}
		}
		c.gate.Release(ctx, adm, rest)
		if short.Shards != nil {
			delete(relearn, short.ProductID)
		}
	default:
		c.gate.Release(ctx, adm, lines)
	}
	if len(relearn) > 0 {
		c.gate.Forget(ctx, slices.Sorted(maps.Keys(relearn))...)
	}
}

// price reads the products and builds the order, priced from them. With checkStock, a
// product short of the quantity ends the request here, before any write. The gate does not
// learn from this read: an eventually consistent read can trail a restock, and only
// DynamoDB's own answers (a cancelled transaction, the gate's consistent reads) may make
// the gate refuse orders.
func (c *Checkout) price(ctx context.Context, userID string, req Request, consistent, checkStock bool) (Order, error) {
	ids := make([]string, len(req.Items))
	for i, l := range req.Items {
		ids[i] = l.ProductID
	}
	products, err := c.store.Products(ctx, ids, consistent)
	if err != nil {
		return Order{}, err
	}
	o := Order{OrderID: newOrderID(), UserID: userID, Status: StatusConfirmed, CreatedAt: Timestamp(c.now())}
	var total money.Total
	for _, l := range req.Items {
		p, ok := products[l.ProductID]
		if !ok {
			return Order{}, api.NotFound("product %s does not exist", l.ProductID)
		}
		if sharded := noteShards(&o, p); checkStock && !sharded && p.Stock < l.Quantity {
			return Order{}, outOfStock(p.ProductID)
		}
		if err := noteLimit(&o, p, l.Quantity); err != nil {
			return Order{}, err
		}
		if o.Currency == "" {
			o.Currency = p.Currency
		} else if p.Currency != o.Currency {
			return Order{}, api.Unprocessable("all products of an order must be priced in one currency; %s is in %s, not %s",
				p.ProductID, p.Currency, o.Currency)
		}
		o.Items = append(o.Items, Item{ProductID: p.ProductID, Quantity: l.Quantity, Price: p.Price, Currency: p.Currency})
		total.AddLine(p.Price, l.Quantity)
	}
	if o.Total, err = total.Sum(); err != nil {
		return Order{}, api.Unprocessable("the order's total would exceed %d %s (minor units); order fewer units",
			int64(money.MaxAmount), o.Currency)
	}
	return o, nil
}

// stocks is the gate's StockLoader: the products' stock, strongly consistent, with the
// shards of those kept over shards.
func (c *Checkout) stocks(ctx context.Context, ids []string) (map[string]StockLevel, error) {
	products, err := c.store.Products(ctx, ids, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]StockLevel, len(products))
	for id, p := range products {
		out[id] = StockLevel{Units: p.Stock}
		if p.StockShards >= 2 {
			if out[id], err = c.store.shardedStock(ctx, id, p.StockGen); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// replay answers a request whose key has a record: the original order or refusal if the
// request is the same, 422 otherwise.
func (c *Checkout) replay(ctx context.Context, rec Record, hash string) (Order, error) {
	if rec.RequestHash != hash {
		return Order{}, api.ErrIdempotencyReused
	}
	if r := rec.Refusal; r != nil {
		return Order{}, &api.Error{Status: r.Status, Code: r.Code, Message: r.Message}
	}
	o, err := c.store.Order(ctx, rec.OrderID)
	if errors.Is(err, api.ErrNotFound) {
		// The record and the order are written together; this is not the client's doing.
		return Order{}, fmt.Errorf("order %s of idempotency record %s is missing", rec.OrderID, rec.Key)
	}
	return o, err
}

// evict removes the cached documents of the order's products, whose stock changed, so the
// next product read shows the stock left. Redis failing is not the order's failure: it
// trips the gate's breaker (so the next orders do not wait on Redis either), and cached
// documents expire.
func (c *Checkout) evict(ctx context.Context, o Order) {
	if c.products == nil || !c.gate.Available() {
		return
	}
	for _, it := range o.Items {
		if err := c.products.Invalidate(ctx, catalog.CacheKey(it.ProductID)); err != nil {
			c.gate.breaker.Fail(ctx, "evict "+it.ProductID, err)
			return
		}
	}
}

func outOfStock(productID string) error {
	return &api.Error{Status: http.StatusConflict, Code: "out_of_stock",
		Message: fmt.Sprintf("product %s does not have the quantity asked for in stock", productID)}
}

// newOrderID returns a new random order id: 32 hex characters.
func newOrderID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
