package orders

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// localGate is one function instance's own view of the stock DynamoDB told it about, for
// the orders the Redis gate leaves undecided (Redis unreachable, slow, or waited on too
// long). Without it every undecided order reads a stock that units still in flight have not
// left yet, tries its transaction, and a sold-out product costs a write per attempt: a
// slow Redis at a flash sale would send every shopper to the product's item.
//
//   - an undecided order may try DynamoDB only while the units of the instance's undecided
//     transactions in flight, plus its own, fit the stock the instance last learned (a
//     strongly consistent read, at most once per lease while nothing is in flight); else it
//     waits for those in flight (at most MaxWait), then DynamoDB decides;
//   - once DynamoDB answered that a product has too few units (a cancelled transaction, or
//     that read), the instance refuses orders the shortage covers for a lease without
//     touching DynamoDB's product items, Redis or not.
//
// Instances do not share it: each may still spend one write per lease to learn a product is
// sold out. The Redis gate, when it decides, is the one that keeps that to none.
type localGate struct {
	lease, maxWait time.Duration
	now            func() time.Time

	mu       sync.Mutex
	products map[string]*localStock
}

// localStock is what an instance knows of one product.
type localStock struct {
	// stock is the units DynamoDB last reported, minus the units this instance's orders
	// took since; learned is when DynamoDB reported it.
	stock   int64
	learned time.Time
	// inflight is the units of undecided transactions in flight here.
	inflight int64
	// changed is closed (and replaced) whenever stock or inflight changes.
	changed chan struct{}
}

func newLocalGate(opt GateOptions) *localGate {
	return &localGate{lease: opt.Lease, maxWait: opt.MaxWait, now: opt.Now, products: map[string]*localStock{}}
}

// entry returns the product's entry, creating it; l.mu is held.
func (l *localGate) entry(id string) *localStock {
	e := l.products[id]
	if e == nil {
		e = &localStock{changed: make(chan struct{})}
		l.products[id] = e
	}
	return e
}

func (e *localStock) signal() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// fresh reports whether the entry's news is within the lease; l.mu is held.
func (l *localGate) fresh(e *localStock) bool {
	return !e.learned.IsZero() && l.now().Sub(e.learned) < l.lease
}

// Refused names a product of lines that DynamoDB said, within the lease, has fewer units
// than the line asks for, with none of this instance's orders for it in flight; "" when
// there is none.
func (l *localGate) Refused(lines []Line) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range lines {
		if e := l.products[ln.ProductID]; e != nil && e.inflight == 0 && l.fresh(e) && e.stock < ln.Quantity {
			return ln.ProductID
		}
	}
	return ""
}

// Admit lets an undecided order try DynamoDB: admitted is true when its units are counted
// in flight (the caller must Settle with admitted), refused names a product too short for
// it. When neither, the instance could not tell within MaxWait and DynamoDB decides. An
// error is load's.
func (l *localGate) Admit(ctx context.Context, lines []Line, load StockLoader) (admitted bool, refused string, err error) {
	deadline := l.now().Add(l.maxWait)
	for {
		stale, wait, refused := l.try(lines)
		switch {
		case refused != "":
			return false, refused, nil
		case stale == nil && wait == nil:
			return true, "", nil
		case stale != nil:
			stocks, err := load(ctx, stale)
			if err != nil {
				return false, "", err
			}
			if !l.learn(stale, stocks) {
				return false, "", nil // an unknown product: DynamoDB answers 404
			}
		default:
			left := deadline.Sub(l.now())
			if left <= 0 {
				return false, "", nil
			}
			t := time.NewTimer(left)
			select {
			case <-ctx.Done():
				t.Stop()
				return false, "", ctx.Err()
			case <-wait:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// try counts the order's units in flight if every line fits. Otherwise it returns the
// products to read (no fresh news and nothing in flight), or a channel that changes when
// a product the order waits for does, or a product that is short.
func (l *localGate) try(lines []Line) (stale []string, wait <-chan struct{}, refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range lines {
		e := l.entry(ln.ProductID)
		switch {
		case e.inflight+ln.Quantity <= e.stock && (l.fresh(e) || e.inflight > 0):
		case e.inflight > 0:
			if wait == nil {
				wait = e.changed
			}
		case !l.fresh(e):
			stale = append(stale, ln.ProductID)
		default:
			return nil, nil, ln.ProductID
		}
	}
	if stale != nil || wait != nil {
		return stale, wait, ""
	}
	for _, ln := range lines {
		l.products[ln.ProductID].inflight += ln.Quantity
	}
	return nil, nil, ""
}

// learn records the stocks DynamoDB reported for ids; it reports whether every product
// exists. Unknown ids leave no entry behind, so made-up ids cannot grow the map.
func (l *localGate) learn(ids []string, stocks map[string]StockLevel) (allKnown bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	allKnown = true
	for _, id := range ids {
		e := l.entry(id)
		n, ok := stocks[id]
		if !ok {
			allKnown = false
			if e.inflight == 0 {
				delete(l.products, id)
			}
			continue
		}
		e.stock, e.learned = n.Units, l.now()
		e.signal()
	}
	return allKnown
}

// Settle records how an order ended: admitted says its units were counted in flight here;
// taken, that its transaction took them; short, a product DynamoDB found with only stock
// units ("" for none).
func (l *localGate) Settle(lines []Line, admitted, taken bool, short string, stock int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range lines {
		e := l.products[ln.ProductID]
		if e == nil {
			if ln.ProductID != short {
				continue
			}
			e = l.entry(ln.ProductID)
		}
		if admitted {
			e.inflight = max(0, e.inflight-ln.Quantity)
		}
		switch {
		case ln.ProductID == short:
			e.stock, e.learned = stock, l.now()
		case taken:
			e.stock -= ln.Quantity
		}
		e.signal()
	}
}

// placeAdmitted places an order the Redis gate reserved, or, when it left the order
// undecided, once the instance's own gate lets it try; what DynamoDB answered teaches the
// instance's gate.
func (c *Checkout) placeAdmitted(ctx context.Context, userID, recKey, hash string, req Request, adm Admission) (Order, error) {
	admitted := false
	if !adm.Reserved {
		var refused string
		var err error
		if admitted, refused, err = c.local.Admit(ctx, req.Items, c.stocks); err != nil {
			return Order{}, err
		}
		if refused != "" {
			api.Logger(ctx).DebugContext(ctx, "order refused by the instance's stock view", "productId", refused)
			return Order{}, outOfStock(refused)
		}
	}
	o, err := c.place(ctx, userID, recKey, hash, req, adm)
	var short *shortError
	if errors.As(err, &short) {
		c.local.Settle(req.Items, admitted, false, short.ProductID, short.Stock)
		return Order{}, outOfStock(short.ProductID)
	}
	c.local.Settle(req.Items, admitted, err == nil, "", 0)
	return o, err
}
