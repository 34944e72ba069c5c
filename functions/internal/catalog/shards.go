package catalog

import (
	"context"
	"errors"
	"fmt"
	"github.com/shop-serverless/shop/functions/internal/pause"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
	"github.com/shop-serverless/shop/functions/tables"
)

// Sharded stock. A product whose stockShards is 1 (the default) keeps its stock in its own
// item, as "stock". With stockShards N >= 2 the product item has no "stock": its units are
// kept by N items of the stock table (tables.Stock), shards 0..N-1, "units" each, and the
// product's stock is their sum. A sale then writes a small item of its own, and N of them
// spread a hot product's orders over N items' throughput; the product item is not
// rewritten (nor streamed) per sale.
//
// The shard items are the truth of the layout: checkout reads them all to decide "sold
// out", and the product item's stockShards is what the admin set (it trails a layout
// change by one write).
//
// Every shard also carries the product's price and currency and the generation ("gen") of
// the admin write that laid it out, which the product item keeps as "stockGen". Checkout
// conditions a take on the shard's own copy (price, currency, gen as it read them from the
// product item), so an order's transaction writes nothing of the product item and checks
// nothing on it. Every admin write of a sharded product (lock.go) writes its shards with a
// new generation before its item, so an order that read the product before the write can no
// longer take units at the old price or from the old layout: it is priced and planned again.
//
// Shards written before shards carried these (no gen, no price) are migrated by the
// product's next admin write; until then checkout takes from them on condition that they
// still have no gen, which the first admin write breaks.

// MaxStockShards is the largest shard count of a product.
const MaxStockShards = 100

// Shard is one item of the stock table.
type Shard struct {
	ProductID string `dynamodbav:"productId"`
	Shard     int    `dynamodbav:"shard"`
	Units     int64  `dynamodbav:"units"`
	// Price, Currency and Gen are the product's when the shard was laid out; a shard laid
	// out before they were kept has none (Gen "").
	Price    int64  `dynamodbav:"price"`
	Currency string `dynamodbav:"currency"`
	Gen      string `dynamodbav:"gen"`
}

// stamp is what every shard of one layout carries besides its units.
type stamp struct {
	price    int64
	currency string
	gen      string
}

// ShardsQuery is the query of all of a product's shard items, strongly consistent.
func ShardsQuery(table, productID string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": tables.Stock.HashKey.Name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: productID}},
		ConsistentRead:            aws.Bool(true),
	}
}

// ShardKey is the stock table's key of one shard.
func ShardKey(productID string, shard int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		tables.Stock.HashKey.Name:  &types.AttributeValueMemberS{Value: productID},
		tables.Stock.RangeKey.Name: &types.AttributeValueMemberN{Value: strconv.Itoa(shard)},
	}
}

// Spread divides total units over n shards as evenly as they go: the first total%n get one
// more.
func Spread(total int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = total / int64(n)
		if int64(i) < total%int64(n) {
			out[i]++
		}
	}
	return out
}

// WithStock returns a store that also reads and writes sharded stock in the table named
// stock; a store without one only knows stock kept in product items.
func (s *Store) WithStock(stock string) *Store {
	c := *s
	c.stock = stock
	return &c
}

// Shards returns the product's shard items, read strongly consistent, in shard order.
func (s *Store) Shards(ctx context.Context, id string) ([]Shard, error) {
	if s.stock == "" {
		return nil, errors.New("the store has no stock table")
	}
	var out []Shard
	p := dynamodb.NewQueryPaginator(s.db, ShardsQuery(s.stock, id))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query stock shards: %w", err)
		}
		var shards []Shard
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &shards); err != nil {
			return nil, fmt.Errorf("decode stock shards: %w", err)
		}
		out = append(out, shards...)
	}
	return out, nil
}

// withStock completes p as read from its item: a sharded product's stock is the sum of its
// shards; an unsharded one has one shard, its item.
func (s *Store) withStock(ctx context.Context, p *Product) error {
	if p.StockShards < 2 {
		p.StockShards = 1
		return nil
	}
	shards, err := s.Shards(ctx, p.ProductID)
	if err != nil {
		return err
	}
	p.Stock = 0
	for _, sh := range shards {
		p.Stock += sh.Units
	}
	return nil
}

// putShards writes a new product's shard items (before its item, so no reader sees the
// product without its stock).
func (s *Store) putShards(ctx context.Context, id string, total int64, n int, st stamp) error {
	var writes []types.TransactWriteItem
	for i, units := range Spread(total, n) {
		writes = append(writes, s.putShard(id, i, units, nil, st))
	}
	if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes}); err != nil {
		return fmt.Errorf("put stock shards: %w", err)
	}
	return nil
}

// putShard is the write of shard i with units, stamped st; with was set, only if the shard holds
// exactly *was units (or does not exist, for a negative *was).
func (s *Store) putShard(id string, i int, units int64, was *int64, st stamp) types.TransactWriteItem {
	item := ShardKey(id, i)
	item["units"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(units, 10)}
	item["price"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(st.price, 10)}
	item["currency"] = &types.AttributeValueMemberS{Value: st.currency}
	item["gen"] = &types.AttributeValueMemberS{Value: st.gen}
	put := &types.Put{TableName: aws.String(s.stock), Item: item}
	if was != nil {
		s.condition(&put.ConditionExpression, &put.ExpressionAttributeNames, &put.ExpressionAttributeValues, *was)
	}
	return types.TransactWriteItem{Put: put}
}

// deleteShard is the removal of shard i; with was set, only if it holds exactly *was units.
func (s *Store) deleteShard(id string, i int, was *int64) types.TransactWriteItem {
	del := &types.Delete{TableName: aws.String(s.stock), Key: ShardKey(id, i)}
	if was != nil {
		s.condition(&del.ConditionExpression, &del.ExpressionAttributeNames, &del.ExpressionAttributeValues, *was)
	}
	return types.TransactWriteItem{Delete: del}
}

// condition sets a condition that the shard holds was units (does not exist when was < 0).
func (s *Store) condition(expr **string, names *map[string]string, values *map[string]types.AttributeValue, was int64) {
	if was < 0 {
		*expr = aws.String("attribute_not_exists(#u)")
		*names = map[string]string{"#u": "units"}
		return
	}
	*expr = aws.String("#u = :was")
	*names = map[string]string{"#u": "units"}
	*values = map[string]types.AttributeValue{":was": &types.AttributeValueMemberN{Value: strconv.FormatInt(was, 10)}}
}

// errLayoutRaced: an order took units from a shard between the read and the move.
var errLayoutRaced = errors.New("stock changed while its shards were moved")

// layoutPatience bounds how long one layout change keeps reading and moving while orders
// change the shards under it; then the answer is 503 and nothing of that step is written.
const layoutPatience = 8 * time.Second

// relayout changes the product's shard count from the layout it has (from: its item's
// count) to n. With total set, the product then holds *total units, spread over the
// shards; without, the units it holds now are moved, each transaction conditioned on every
// shard (or the item's stock) it read, and read again when an order took units meanwhile:
// none is lost or counted twice. Every shard written carries st. A layout change that would
// exceed one transaction's items goes through two shards.
func (s *Store) relayout(ctx context.Context, id string, from, n int, total *int64, st stamp) error {
	if (from == 1 && n > dynamo.MaxTransactItems-1) || (n == 1 && from > dynamo.MaxTransactItems-1) {
		if err := s.relayout(ctx, id, from, 2, total, st); err != nil {
			return err
		}
		from = 2
	}
	deadline := time.Now().Add(layoutPatience)
	for delay := 5 * time.Millisecond; time.Now().Before(deadline); delay = min(2*delay, 100*time.Millisecond) {
		err := s.relayoutOnce(ctx, id, from, n, total, st)
		if !errors.Is(err, errLayoutRaced) {
			return err
		}
		// Jittered, so the next read lands between other orders.
		if err := pause.For(ctx, delay/2+rand.N(delay)); err != nil {
			return err
		}
	}
	return fmt.Errorf("move the stock of product %s: orders kept changing it: %w", id, api.ErrUnavailable)
}

// relayoutOnce reads the product's units and writes the new layout in one transaction.
func (s *Store) relayoutOnce(ctx context.Context, id string, from, n int, total *int64, st stamp) error {
	move := total == nil
	var was []int64 // units read, per shard (or the item's stock when from == 1)
	if from == 1 {
		p, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		if p.StockShards >= 2 {
			// Under the product's lock only a step of this same change shards it.
			return fmt.Errorf("product %s was sharded meanwhile: %w", id, api.ErrConflict)
		}
		was = []int64{p.Stock}
	} else {
		shards, err := s.Shards(ctx, id)
		if err != nil {
			return err
		}
		for _, sh := range shards {
			for len(was) <= sh.Shard {
				was = append(was, -1)
			}
			was[sh.Shard] = sh.Units
		}
	}
	units := int64(0)
	if move {
		for _, w := range was {
			units += max(0, w)
		}
	} else {
		units = *total
	}
	cond := func(i int) *int64 {
		if !move {
			return nil
		}
		w := int64(-1)
		if i < len(was) {
			w = was[i]
		}
		return &w
	}
	var writes []types.TransactWriteItem
	switch {
	case from == 1: // the item's stock moves to n shards
		writes = append(writes, s.itemToShards(id, n, cond(0), st.gen))
		for i, u := range Spread(units, n) {
			writes = append(writes, s.putShard(id, i, u, nil, st))
		}
	case n == 1: // the shards move back into the item
		writes = append(writes, s.shardsToItem(id, units))
		for i, w := range was {
			if w >= 0 {
				writes = append(writes, s.deleteShard(id, i, cond(i)))
			}
		}
	default:
		for i, u := range Spread(units, n) {
			writes = append(writes, s.putShard(id, i, u, cond(i), st))
		}
		for i := n; i < len(was); i++ {
			if was[i] >= 0 {
				writes = append(writes, s.deleteShard(id, i, cond(i)))
			}
		}
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return errLayoutRaced
	}
	if err != nil {
		return fmt.Errorf("move stock shards: %w", err)
	}
	return nil
}

// itemToShards is the product item's side of moving its stock to n shards of generation
// gen: its stock goes, its count and generation are set, on condition that it exists and,
// with was set, still holds *was units.
func (s *Store) itemToShards(id string, n int, was *int64, gen string) types.TransactWriteItem {
	u := &types.Update{
		TableName:                aws.String(s.table),
		Key:                      key(id),
		UpdateExpression:         aws.String("REMOVE #s SET #n = :n, #g = :g"),
		ConditionExpression:      aws.String("attribute_exists(productId)"),
		ExpressionAttributeNames: map[string]string{"#s": "stock", "#n": "stockShards", "#g": "stockGen"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
			":g": &types.AttributeValueMemberS{Value: gen},
		},
	}
	if was != nil {
		u.ConditionExpression = aws.String("attribute_exists(productId) AND #s = :was")
		u.ExpressionAttributeValues[":was"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*was, 10)}
	}
	return types.TransactWriteItem{Update: u}
}

// shardsToItem is the product item's side of moving its shards back into it: it holds
// stock units again and has no generation, on condition that it exists and is still sharded (its count may trail
// an earlier step of the same change).
func (s *Store) shardsToItem(id string, stock int64) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       key(id),
		UpdateExpression:          aws.String("SET #s = :stock REMOVE #n, #g"),
		ConditionExpression:       aws.String("attribute_exists(productId) AND attribute_exists(#n)"),
		ExpressionAttributeNames:  map[string]string{"#s": "stock", "#n": "stockShards", "#g": "stockGen"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":stock": &types.AttributeValueMemberN{Value: strconv.FormatInt(stock, 10)}},
	}}
}

// deleteShards removes a deleted product's shard items.
func (s *Store) deleteShards(ctx context.Context, id string) error {
	shards, err := s.Shards(ctx, id)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.stock), Key: ShardKey(id, sh.Shard),
		}); err != nil {
			return fmt.Errorf("delete stock shard: %w", err)
		}
	}
	return nil
}
