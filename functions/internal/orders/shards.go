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

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/tables"
)

// Checkout over sharded stock (catalog's shards.go): a line of a product whose stock is
// kept over N shard items takes its units from one shard, picked at random (so concurrent
// orders spread over the shards' partitions), or, after blindTries shards turned out short
// for this request, from the shards a strongly consistent read of all of them shows have
// units, several in the same transaction when no single one holds the quantity. Only that
// read decides "sold out". The product's item is not written: the line's transaction
// takes units from shard items and checks the product item (it exists, with the price and
// currency the order carries and the shard count the line was planned with), so an order
// never confirms for a product deleted or repriced since it was read.

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

// noteShards records on o that product p keeps its stock over shards; it reports whether
// it does.
func noteShards(o *Order, p Product) bool {
	if p.StockShards < 2 {
		return false
	}
	if o.shards == nil {
		o.shards = map[string]int{}
	}
	o.shards[p.ProductID] = p.StockShards
	return true
}

// shardMisses are the shards each product's line found short in one request.
type shardMisses map[string][]int

func (m shardMisses) add(e *shardShortError) {
	if !slices.Contains(m[e.ProductID], e.Shard) {
		m[e.ProductID] = append(m[e.ProductID], e.Shard)
	}
}

// planTakes decides which shards the sharded lines of o take their units from, given the
// shards they already found short. A line no shard can serve, by a consistent read of all
// of them, ends the request: *shortError with the product's whole stock.
func (c *Checkout) planTakes(ctx context.Context, o *Order, misses shardMisses) error {
	o.takes = nil
	for _, it := range o.Items {
		n, ok := o.shards[it.ProductID]
		if !ok {
			continue
		}
		if o.takes == nil {
			o.takes = map[string][]shardTake{}
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
			return &shortError{ProductID: it.ProductID, Stock: stock}
		}
		o.takes[it.ProductID] = takes
	}
	if n := transactionWrites(*o); n > maxTransactItems {
		return api.Unprocessable("the order needs %d writes, more than one transaction holds (%d); order fewer products at once",
			n, maxTransactItems)
	}
	return nil
}

// maxTransactItems is DynamoDB's limit of items in one transaction.
const maxTransactItems = 100

// transactionWrites is how many items the order's transaction writes or checks: per
// unsharded line its product, per sharded line its shards and its product's check, then
// the order and its idempotency record.
func transactionWrites(o Order) int {
	n := 2
	for _, it := range o.Items {
		if takes, ok := o.takes[it.ProductID]; ok {
			n += len(takes) + 1
		} else {
			n++
		}
	}
	return n
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

// shardedStock is the whole stock of a sharded product: the sum of its shards.
func (s *Store) shardedStock(ctx context.Context, productID string) (int64, error) {
	shards, err := s.Shards(ctx, productID)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, sh := range shards {
		n += sh.Units
	}
	return n, nil
}

// takeWrites are the transaction's writes of a line that takes its units from shards:
// each shard's units go down on condition that it holds them, and the product item is
// checked, last, as the unsharded line's update conditions it: it exists, with the line's
// price and currency, and still keeps its stock over shards shards (a product moved back
// into its item, or to another count, is priced and planned again).
func (s *Store) takeWrites(it Item, shards int, takes []shardTake) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, len(takes), len(takes)+1)
	productID := it.ProductID
	for i, t := range takes {
		out[i] = types.TransactWriteItem{Update: &types.Update{
			TableName:                           aws.String(s.t.Stock),
			Key:                                 catalog.ShardKey(productID, t.Shard),
			UpdateExpression:                    aws.String("SET #u = #u - :q"),
			ConditionExpression:                 aws.String("#u >= :q"),
			ExpressionAttributeNames:            map[string]string{"#u": "units"},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":q": num(t.Units)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}}
	}
	return append(out, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                aws.String(s.t.Products),
		Key:                      map[string]types.AttributeValue{tables.Products.HashKey.Name: str(productID)},
		ConditionExpression:      aws.String("attribute_exists(#id) AND #p = :p AND #c = :c AND #n = :n"),
		ExpressionAttributeNames: map[string]string{"#id": "productId", "#p": "price", "#c": "currency", "#n": "stockShards"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": num(it.Price), ":c": str(it.Currency), ":n": num(int64(shards)),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}})
}

// classifyTakes is classify for an order with sharded lines: a shard's failed condition is
// a *shardShortError (the line tries elsewhere) unless the rest of the transaction has a
// final answer (a taken key, a product gone or short) or a product changed under the order
// (its check failed: priced and planned again); a conflict or throttling is errBusy.
func classifyTakes(o Order, reasons []types.CancellationReason, cause error) error {
	var rest Order
	var restReasons []types.CancellationReason
	var short, gone, changed error
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
				if short == nil {
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
		r, ok := next() // the product item's check
		if !ok {
			return fmt.Errorf("place order: %d cancellation reasons for more writes: %w", len(reasons), cause)
		}
		switch aws.ToString(r.Code) {
		case "None", "":
		case "ConditionalCheckFailed":
			if len(r.Item) == 0 {
				if gone == nil {
					gone = &goneError{ProductID: it.ProductID}
				}
			} else {
				changed = errProductChanged
			}
		case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
			busy = true
		default:
			return fmt.Errorf("place order: product check of %s cancelled with %s: %w", it.ProductID, aws.ToString(r.Code), cause)
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
	case gone != nil:
		return gone
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

// withShardCount adds the shard count's placeholder (#n) to names.
func withShardCount(names map[string]string) map[string]string {
	names["#n"] = "stockShards"
	return names
}
