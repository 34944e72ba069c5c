package orders

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
	"github.com/shop-serverless/shop/functions/tables"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Tables names the deployed tables the store uses.
type Tables struct {
	Products    string
	Stock       string
	Orders      string
	Idempotency string
	Purchases   string
}

// Store reads products and reads and writes orders and idempotency records in DynamoDB.
type Store struct {
	db DB
	t  Tables
}

// NewStore returns a store over db.
func NewStore(db DB, t Tables) *Store { return &Store{db: db, t: t} }

// Record is an idempotency record: the key a user sent, the fingerprint of the request and
// its final answer, kept for the key's lifetime so that the key always answers the same way.
// An order's record is written in the order's own transaction, so it exists exactly when the
// order does; a refusal's record (out of stock, unknown product, ...) is written alone, and
// takes nothing.
type Record struct {
	// Key is "<userId>#<Idempotency-Key>".
	Key         string `dynamodbav:"key"`
	RequestHash string `dynamodbav:"requestHash"`
	// OrderID is the order the request created; empty for a refusal.
	OrderID string `dynamodbav:"orderId,omitempty"`
	// Refusal is the answer a refused request got; nil for an order.
	Refusal   *Refusal `dynamodbav:"refusal,omitempty"`
	CreatedAt string   `dynamodbav:"createdAt"`
	// ExpiresAt is the Unix time (seconds) after which DynamoDB's TTL deletes the record.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// Refusal is a final refusal as the contract answered it.
type Refusal struct {
	Status  int    `dynamodbav:"status"`
	Code    string `dynamodbav:"code"`
	Message string `dynamodbav:"message"`
}

// RecordKey is the idempotency table's key of a user's Idempotency-Key.
func RecordKey(userID, key string) string { return userID + "#" + key }

// Product is what checkout reads of a product.
type Product struct {
	ProductID string `dynamodbav:"productId"`
	Price     int64  `dynamodbav:"price"`
	Currency  string `dynamodbav:"currency"`
	Stock     int64  `dynamodbav:"stock"`
	// StockShards is 2 or more when the stock is kept over shard items (Stock is then 0).
	StockShards int `dynamodbav:"stockShards"`
	// StockGen is the generation of the shards' layout, which every shard carries.
	StockGen string `dynamodbav:"stockGen"`
	// MaxPerCustomer is the units one user may buy across all their orders; nil: no limit.
	MaxPerCustomer *int64 `dynamodbav:"maxPerCustomer"`
}

// Record returns the idempotency record under key, read strongly consistent so that a
// retry right after the original's commit finds it.
func (s *Store) Record(ctx context.Context, key string) (Record, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.t.Idempotency),
		Key:            map[string]types.AttributeValue{tables.Idempotency.HashKey.Name: str(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("get idempotency record: %w", err)
	}
	if out.Item == nil {
		return Record{}, false, nil
	}
	var r Record
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return Record{}, false, fmt.Errorf("decode idempotency record: %w", err)
	}
	return r, true, nil
}

// Order returns the order, read strongly consistent, or an error wrapping api.ErrNotFound.
func (s *Store) Order(ctx context.Context, id string) (Order, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.t.Orders),
		Key:            map[string]types.AttributeValue{tables.Orders.HashKey.Name: str(id)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Order{}, fmt.Errorf("get order: %w", err)
	}
	if out.Item == nil {
		return Order{}, fmt.Errorf("order %s: %w", id, api.ErrNotFound)
	}
	var o Order
	if err := attributevalue.UnmarshalMap(out.Item, &o); err != nil {
		return Order{}, fmt.Errorf("decode order: %w", err)
	}
	return o, nil
}

// List returns a page of the user's orders, newest first. The index is eventually
// consistent: an order confirmed a moment ago may be missing from the list for a moment,
// never from Order.
func (s *Store) List(ctx context.Context, userID string, limit int, cursor string) (api.Page[Order], error) {
	start, err := dynamo.DecodeCursor(cursor, "orderId", "userId", "createdAt")
	if err != nil {
		return api.Page[Order]{}, api.Invalid("cursor is not valid for this list")
	}
	if u, ok := start["userId"].(*types.AttributeValueMemberS); start != nil && (!ok || u.Value != userID) {
		return api.Page[Order]{}, api.Invalid("cursor is not valid for this list")
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.t.Orders),
		IndexName:                 aws.String(tables.OrdersByUser),
		KeyConditionExpression:    aws.String("userId = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return api.Page[Order]{}, fmt.Errorf("query orders: %w", err)
	}
	page := api.Page[Order]{Items: make([]Order, 0, len(out.Items)), NextCursor: dynamo.EncodeCursor(out.LastEvaluatedKey)}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &page.Items); err != nil {
		return api.Page[Order]{}, fmt.Errorf("decode orders: %w", err)
	}
	return page, nil
}

// Products reads the products with the given ids (at most 100). The transaction's
// conditions, not this read, decide, so it is usually eventually consistent (half the cost
// on a hot item's partition). Unknown ids are absent from the map.
func (s *Store) Products(ctx context.Context, ids []string, consistent bool) (map[string]Product, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = map[string]types.AttributeValue{tables.Products.HashKey.Name: str(id)}
	}
	items, err := dynamo.BatchGet(ctx, s.db, s.t.Products, types.KeysAndAttributes{
		Keys:                     keys,
		ProjectionExpression:     aws.String("#id, #p, #c, #s, #n, #g, #m"),
		ExpressionAttributeNames: withLimit(withLayout(productNames())),
		ConsistentRead:           aws.Bool(consistent),
	}, newBackOff(), 6)
	switch {
	case errors.Is(err, dynamo.ErrUnprocessed):
		return nil, fmt.Errorf("batch get products: %w", api.ErrUnavailable)
	case err != nil:
		return nil, fmt.Errorf("products: %w", err)
	}
	var ps []Product
	if err := attributevalue.UnmarshalListOfMaps(items, &ps); err != nil {
		return nil, fmt.Errorf("decode products: %w", err)
	}
	found := make(map[string]Product, len(ps))
	for _, p := range ps {
		found[p.ProductID] = p
	}
	return found, nil
}

// productNames are the attribute name placeholders of the expressions on products.
func productNames() map[string]string {
	return map[string]string{"#id": "productId", "#p": "price", "#c": "currency", "#s": "stock"}
}

// Outcomes of Place other than success.
var (
	// errKeyUsed: an idempotency record with this key exists (a concurrent or earlier
	// request with the same key committed first).
	errKeyUsed = errors.New("idempotency key already used")
	// errProductChanged: a product's price or currency changed since it was read.
	errProductChanged = errors.New("product changed since it was read")
	// errBusy: the transaction conflicted with another one on the same items, or was
	// throttled; trying again is safe because nothing was written.
	errBusy = errors.New("transaction conflict or throttling")
	// errOrderIDTaken: the new order id exists already (random ids: practically never).
	errOrderIDTaken = errors.New("order id taken")
	// errNoReason: DynamoDB cancelled the transaction without a reason on the writes
	// classify knows.
	errNoReason = errors.New("cancelled without a reason")
)

// shortError says DynamoDB found a product short of the quantity asked for.
type shortError struct {
	ProductID string
	// Stock is the product's stock when the condition failed.
	Stock int64
	// Shards are the units of each shard of a sharded product when checkout read them all
	// (nil for a product kept in its own item), of the layout of generation Gen.
	Shards []int64
	Gen    string
}

// level is the stock the error reports, as the gate learns it.
func (e *shortError) level() StockLevel {
	return StockLevel{Units: e.Stock, Shards: e.Shards, Gen: e.Gen}
}

func (e *shortError) Error() string {
	return fmt.Sprintf("product %s has %d in stock", e.ProductID, e.Stock)
}

// goneError says a product no longer exists.
type goneError struct{ ProductID string }

func (e *goneError) Error() string { return fmt.Sprintf("product %s does not exist", e.ProductID) }

// PutRefusal writes the record of a refused request on condition that its key is new; it
// fails with errKeyUsed when a request with the key was answered first.
func (s *Store) PutRefusal(ctx context.Context, rec Record) error {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("encode idempotency record: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.t.Idempotency),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": tables.Idempotency.HashKey.Name},
	})
	if dynamo.IsConditionFailed(err) {
		return errKeyUsed
	}
	if err != nil {
		return fmt.Errorf("put idempotency record: %w", err)
	}
	return nil
}

// Place writes the order in one transaction: for every line, the product's stock goes down
// by the quantity on condition that it is at least the quantity and that the price and
// currency are the ones the order carries; the order is put; the idempotency record is put
// on condition that its key is new; for every line of a limited product, the user's count
// goes up within the limit (limits.go). All or nothing. When DynamoDB cancels the
// transaction, the error says why: errKeyUsed, *shortError, *goneError, errProductChanged,
// errBusy, or the contract's purchase_limit.
func (s *Store) Place(ctx context.Context, o Order, rec Record) error {
	orderItem, err := attributevalue.MarshalMap(o)
	if err != nil {
		return fmt.Errorf("encode order: %w", err)
	}
	recItem, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fmt.Errorf("encode idempotency record: %w", err)
	}
	writes := make([]types.TransactWriteItem, 0, 2*len(o.Items)+2)
	for _, it := range o.Items {
		if takes, ok := o.takes[it.ProductID]; ok {
			writes = append(writes, s.takeWrites(it, o.layouts[it.ProductID], takes)...)
			continue
		}
		writes = append(writes, types.TransactWriteItem{Update: &types.Update{
			TableName:                aws.String(s.t.Products),
			Key:                      map[string]types.AttributeValue{tables.Products.HashKey.Name: str(it.ProductID)},
			UpdateExpression:         aws.String("SET #s = #s - :q"),
			ConditionExpression:      aws.String("attribute_exists(#id) AND #s >= :q AND #p = :p AND #c = :c"),
			ExpressionAttributeNames: productNames(),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":q": num(it.Quantity), ":p": num(it.Price), ":c": str(it.Currency),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}})
	}
	writes = append(writes,
		types.TransactWriteItem{Put: &types.Put{
			TableName:           aws.String(s.t.Orders),
			Item:                orderItem,
			ConditionExpression: aws.String("attribute_not_exists(orderId)"),
		}},
		types.TransactWriteItem{Put: &types.Put{
			TableName:                aws.String(s.t.Idempotency),
			Item:                     recItem,
			ConditionExpression:      aws.String("attribute_not_exists(#k)"),
			ExpressionAttributeNames: map[string]string{"#k": tables.Idempotency.HashKey.Name},
		}},
	)
	writes = append(writes, s.limitWrites(o)...)
	if len(writes) > dynamo.MaxTransactItems {
		return api.Unprocessable("an order of these products needs %d writes, more than one transaction holds (%d); order fewer products at once",
			len(writes), dynamo.MaxTransactItems)
	}
	// The SDK gives the call a ClientRequestToken and keeps it across its own retries, so a
	// retry of a call whose answer was lost cannot apply the transaction twice.
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		if isThrottling(err) {
			return fmt.Errorf("place order: %w", errBusy)
		}
		return fmt.Errorf("place order: %w", err)
	}
	return classifyPlace(o, tce.CancellationReasons, err)
}

// withLimit adds the purchase limit's placeholder (#m) to names.
func withLimit(names map[string]string) map[string]string {
	names["#m"] = "maxPerCustomer"
	return names
}

// classify turns the reasons of a cancelled transaction (one per write, in order: the
// lines, the order, the idempotency record) into Place's outcome. A taken key wins over
// everything: the request was answered before, and its answer is the order it created.
func classify(o Order, reasons []types.CancellationReason, cause error) error {
	n := len(o.Items)
	if len(reasons) != n+2 {
		return fmt.Errorf("place order: %d cancellation reasons for %d writes: %w", len(reasons), n+2, cause)
	}
	code := func(i int) string { return aws.ToString(reasons[i].Code) }
	if code(n+1) == "ConditionalCheckFailed" {
		return errKeyUsed
	}
	busy := false
	var changed error
	for i, it := range o.Items {
		switch code(i) {
		case "None", "":
		case "ConditionalCheckFailed":
			old := reasons[i].Item
			if len(old) == 0 {
				return &goneError{ProductID: it.ProductID}
			}
			var p Product
			if err := attributevalue.UnmarshalMap(old, &p); err != nil {
				return fmt.Errorf("decode product %s: %w", it.ProductID, err)
			}
			if p.StockShards >= 2 { // sharded since it was read: its item holds no stock
				changed = errProductChanged
				continue
			}
			if p.Stock < it.Quantity {
				return &shortError{ProductID: it.ProductID, Stock: p.Stock}
			}
			changed = errProductChanged
		case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
			busy = true
		default:
			return fmt.Errorf("place order: line %d cancelled with %s: %w", i, code(i), cause)
		}
	}
	switch code(n) {
	case "None", "":
	case "ConditionalCheckFailed":
		return errOrderIDTaken
	case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
		busy = true
	default:
		return fmt.Errorf("place order: order write cancelled with %s: %w", code(n), cause)
	}
	switch code(n + 1) {
	case "None", "":
	case "TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError":
		busy = true
	default:
		return fmt.Errorf("place order: idempotency write cancelled with %s: %w", code(n+1), cause)
	}
	if changed != nil {
		return changed
	}
	if busy {
		return errBusy
	}
	return fmt.Errorf("place order: %w: %w", errNoReason, cause)
}

// isThrottling reports whether DynamoDB refused the call for capacity (after the SDK's own
// retries).
func isThrottling(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
		"TransactionInProgressException":
		return true
	}
	return false
}

// Timestamp formats t as the shop's createdAt: RFC 3339 UTC with milliseconds, fixed width,
// so that string order is time order in the byUser index.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
