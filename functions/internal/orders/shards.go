package orders

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/catalog"
)

// Checkout over sharded stock (catalog's shards.go): a line of a product whose stock is
// kept over N shard items takes its units from the shard(s) the Redis gate reserved them on
// (gate.go: the gate keeps per-shard counts and picks a shard that holds the quantity, or
// several when none alone does). Without such a pick (no Redis, the breaker open, the gate
// knowing another layout than the order read) or once a picked shard turned out short, the
// line takes its units from one shard picked at random (so concurrent orders spread over
// the shards' partitions), or, after blindTries shards turned out short for this request,
// from the shards a strongly consistent read of all of them shows have units, several in
// the same transaction when no single one holds the quantity. Only that read decides "sold
// out". The product's item is neither written nor checked: each shard
// carries the product's price, currency and layout generation (catalog's shards.go), and a
// take is conditioned on them being those the line read from the product item, so an order
// never confirms for a product deleted, repriced or laid out again since it was read: the
// shard's condition fails, and the order is priced and planned again from the product as it
// is (gone: 404).

// blindTries is how many shards a line tries at random before it reads them all.
const blindTries = 2

// shardTake is the units a line takes from one shard.
type shardTake struct {
	Shard int
	Units int64
}

// shardShortError says a shard held fewer units than the line took from it (or is gone,
// after a layout change): the line tries elsewhere.
type shardShortError struct {
	ProductID string
	Shard     int
	Units     int64
}

func (e *shardShortError) Error() string {
	return fmt.Sprintf("shard %d of product %s has %d units", e.Shard, e.ProductID, e.Units)
}

// layout is how a product's stock was laid out over shards when checkout read it.
type layout struct {
	shards int
	// gen is the layout's generation; "" for shards laid out before shards carried one.
	gen string
}

// noteShards records on o that product p keeps its stock over shards; it reports whether
// it does.
func noteShards(o *Order, p Product) bool {
	if p.StockShards < 2 {
		return false
	}
	if o.layouts == nil {
		o.layouts = map[string]layout{}
	}
	o.layouts[p.ProductID] = layout{shards: p.StockShards, gen: p.StockGen}
	return true
}

// shardMisses are the shards each product's line found short in one request.
type shardMisses map[string][]int

func (m shardMisses) add(e *shardShortError) {
	if !slices.Contains(m[e.ProductID], e.Shard) {
		m[e.ProductID] = append(m[e.ProductID], e.Shard)
	}
}

// planTakes decides which shards the sharded lines of o take their units from: the gate's
// picks, or, for lines without one, given the shards they already found short. A line no
// shard can serve, by a consistent read of all of them, ends the request: *shortError with
// the product's whole stock and its shards.
func (c *Checkout) planTakes(ctx context.Context, o *Order, picks map[string]gatePick, misses shardMisses) error {
	o.takes = nil
	for _, it := range o.Items {
		l, ok := o.layouts[it.ProductID]
		if !ok {
			continue
		}
		n := l.shards
		if o.takes == nil {
			o.takes = map[string][]shardTake{}
		}
		if p, ok := picks[it.ProductID]; ok {
			o.takes[it.ProductID] = p.Takes
			continue
		}
		missed := misses[it.ProductID]
		if len(missed) < blindTries && len(missed) < n {
			shard := rand.IntN(n)
			for slices.Contains(missed, shard) {
				shard = rand.IntN(n)
			}
			o.takes[it.ProductID] = []shardTake{{Shard: shard, Units: it.Quantity}}
			continue
		}
		shards, err := c.store.Shards(ctx, it.ProductID)
		if err != nil {
			return err
		}
		takes, stock := takeLargestFirst(shards, it.Quantity)
		if takes == nil {
			return &shortError{ProductID: it.ProductID, Stock: stock, Shards: shardUnits(shards), Gen: l.gen}
		}
		o.takes[it.ProductID] = takes
	}
	return nil
}

// takeLargestFirst takes q units from the fullest shards, as few as hold them; nil when
// all of them together hold fewer. stock is their sum.
func takeLargestFirst(shards []catalog.Shard, q int64) (takes []shardTake, stock int64) {
	sorted := slices.Clone(shards)
	slices.SortFunc(sorted, func(a, b catalog.Shard) int { return int(b.Units - a.Units) })
	left := q
	for _, sh := range sorted {
		stock += max(0, sh.Units)
		if left > 0 && sh.Units > 0 {
			n := min(left, sh.Units)
			takes = append(takes, shardTake{Shard: sh.Shard, Units: n})
			left -= n
		}
	}
	if left > 0 {
		return nil, stock
	}
	return takes, stock
}

// Shards returns the product's shard items, read strongly consistent.
func (s *Store) Shards(ctx context.Context, productID string) ([]catalog.Shard, error) {
	var out []catalog.Shard
	p := dynamodb.NewQueryPaginator(s.db, catalog.ShardsQuery(s.t.Stock, productID))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query stock shards: %w", err)
		}
		var shards []catalog.Shard
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &shards); err != nil {
			return nil, fmt.Errorf("decode stock shards: %w", err)
		}
		out = append(out, shards...)
	}
	return out, nil
}

// shardedStock is the stock of a sharded product of layout generation gen: its shards
// and their sum.
func (s *Store) shardedStock(ctx context.Context, productID, gen string) (StockLevel, error) {
	shards, err := s.Shards(ctx, productID)
	if err != nil {
		return StockLevel{}, err
	}
	level := StockLevel{Shards: shardUnits(shards), Gen: gen}
	for _, u := range level.Shards {
		level.Units += max(0, u)
	}
	return level, nil
}

// shardUnits are the units of shards by shard number (none below zero).
func shardUnits(shards []catalog.Shard) []int64 {
	n := 0
	for _, sh := range shards {
		n = max(n, sh.Shard+1)
	}
	out := make([]int64, n)
	for _, sh := range shards {
		if sh.Shard >= 0 {
			out[sh.Shard] = max(0, sh.Units)
		}
	}
	return out
}

// usablePicks are the gate's picks of a reserved order o can take: those for a sharded
// line, of the layout the order read, covering its quantity. A product the gate picked for
// on another layout, or did not pick for although the order found it sharded, goes to
// relearn: the gate's shards are stale.
func usablePicks(o Order, adm Admission, relearn map[string]bool) map[string]gatePick {
	if !adm.Reserved {
		return nil
	}
	out := map[string]gatePick{}
	for _, it := range o.Items {
		l, sharded := o.layouts[it.ProductID]
		p, picked := adm.picks[it.ProductID]
		switch {
		case sharded && picked && p.fits(l, it.Quantity):
			out[it.ProductID] = p
		case sharded || picked:
			relearn[it.ProductID] = true
		}
	}
	return out
}

// fits reports whether the pick takes q units from shards of layout l.
func (p gatePick) fits(l layout, q int64) bool {
	if p.Gen != l.gen {
		return false
	}
	var n int64
	for _, t := range p.Takes {
		if t.Shard < 0 || t.Shard >= l.shards || t.Units <= 0 {
			return false
		}
		n += t.Units
	}
	return n == q
}

// takeWrites are the transaction's writes of a line that takes its units from shards:
// each shard's units go down on condition that it holds them and still carries the price,
// currency and generation of the layout the line read (shards without a generation: that
// it still has none, as the product's next admin write gives every shard one).
func (s *Store) takeWrites(it Item, l layout, takes []shardTake) []types.TransactWriteItem {
	cond := "#u >= :q AND #p = :p AND #c = :c AND #g = :g"
	names := map[string]string{"#u": "units", "#p": "price", "#c": "currency", "#g": "gen"}
	if l.gen == "" {
		cond = "#u >= :q AND attribute_not_exists(#g)"
		names = map[string]string{"#u": "units", "#g": "gen"}
	}
	out := make([]types.TransactWriteItem, len(takes))
	for i, t := range takes {
		values := map[string]types.AttributeValue{":q": num(t.Units)}
		if l.gen != "" {
			values[":p"], values[":c"], values[":g"] = num(it.Price), str(it.Currency), str(l.gen)
		}
		out[i] = types.TransactWriteItem{Update: &types.Update{
			TableName:                           aws.String(s.t.Stock),
			Key:                                 catalog.ShardKey(it.ProductID, t.Shard),
			UpdateExpression:                    aws.String("SET #u = #u - :q"),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            names,
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}
	}
	return out
}

// shardChanged reports whether a shard whose take failed its condition no longer belongs
// to the layout the line read (gone, or stamped by a later admin write), rather than
// holding too few units.
func shardChanged(old map[string]types.AttributeValue, it Item, l layout) bool {
	if len(old) == 0 {
		return true
	}
	var sh catalog.Shard
	if err := attributevalue.UnmarshalMap(old, &sh); err != nil {
		return true
	}
	return sh.Gen != l.gen || (l.gen != "" && (sh.Price != it.Price || sh.Currency != it.Currency))
}

// classifyTakes is classify for an order with sharded lines: a shard's failed condition is
// a *shardShortError (the line tries elsewhere) unless the rest of the transaction has a
// final answer (a taken key, a product gone or short) or a product changed under the order
// (a shard gone or stamped by a later admin write: priced and planned again); a conflict
// or throttling is errBusy.
func classifyTakes(o Order, reasons []types.CancellationReason, cause error) error {
	var rest Order
	var restReasons []types.CancellationReason
	var short, changed error
	busy := false
	i := 0
	next := func() (types.CancellationReason, bool) {
		if i >= len(reasons) {
			return types.CancellationReason{}, false
		}
		i++
		return reasons[i-1], true
	}
	for _, it := range o.Items {
		takes, sharded := o.takes[it.ProductID]
		if !sharded {
			r, ok := next()
			if !ok {
				return fmt.Errorf("place order: %d cancellation reasons for more writes: %w", len(reasons), cause)
			}
			rest.Items = append(rest.Items, it)
			restReasons = append(restReasons, r)
			continue
		}
		for _, t := range takes {
			r, ok := next()
			if !ok {
				return fmt.Errorf("place order: %d cancellation reasons for more writes: %w", len(reasons), cause)
			}
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				if shardChanged(r.Item, it, o.layouts[it.ProductID]) {
					changed = errProductChanged
				} else if short == nil {
					units := int64(0)
					if n, ok := r.Item["units"].(*types.AttributeValueMemberN); ok {
						units, _ = strconv.ParseInt(n.Value, 10, 64)
					}
					short = &shardShortError{ProductID: it.ProductID, Shard: t.Shard, Units: units}
				}
			case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
				busy = true
			}
		}
	}
	if i+2 != len(reasons) {
		return fmt.Errorf("place order: %d cancellation reasons for %d writes: %w", len(reasons), i+2, cause)
	}
	err := classify(rest, append(restReasons, reasons[i:]...), cause)
	var productGone *goneError
	var productShort *shortError
	switch {
	case errors.Is(err, errKeyUsed):
		return err
	case errors.As(err, &productGone), errors.As(err, &productShort):
		return err
	case changed != nil:
		return changed
	case short != nil:
		return short
	case busy && !errors.Is(err, errProductChanged) && !errors.Is(err, errOrderIDTaken):
		return errBusy
	}
	return err
}

// withLayout adds the placeholders of the shard count (#n) and generation (#g) to names.
func withLayout(names map[string]string) map[string]string {
	names["#n"], names["#g"] = "stockShards", "stockGen"
	return names
}
