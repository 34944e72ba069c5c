package cart

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
	"github.com/cenkalti/backoff/v5"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/dynamo"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Stored is a cart as the carts table holds it: one item per user, with a map of product
// id to quantity and one of product id to when it was first added (the display order).
// Every write is conditioned on the Version it read, so what the service decided from the
// cart as read (one currency, at most MaxLines products, a total within range) still holds
// when the write lands; a concurrent change makes the write fail with errChanged instead.
type Stored struct {
	UserID     string            `dynamodbav:"userId"`
	Quantities map[string]int64  `dynamodbav:"quantities"`
	Added      map[string]string `dynamodbav:"added"`
	UpdatedAt  string            `dynamodbav:"updatedAt"`
	// ExpiresAt is the Unix time (seconds) after which the cart is gone: DynamoDB's TTL
	// deletes it some time later, and reads ignore it from then on.
	ExpiresAt int64 `dynamodbav:"expiresAt"`
	// Version counts the cart's writes; 0 for a cart not stored (or stored before carts
	// had versions).
	Version int64 `dynamodbav:"version"`
}

// live reports whether the cart has not expired at now.
func (s Stored) live(now time.Time) bool { return s.ExpiresAt > now.Unix() }

// Product is what the cart shows of a product.
type Product struct {
	ProductID string `dynamodbav:"productId"`
	Name      string `dynamodbav:"name"`
	Price     int64  `dynamodbav:"price"`
	Currency  string `dynamodbav:"currency"`
}

// Store reads and writes carts, and reads products, in DynamoDB.
type Store struct {
	db       DB
	carts    string
	products string
}

// NewStore returns a store over the carts and products tables with the given names.
func NewStore(db DB, carts, products string) *Store {
	return &Store{db: db, carts: carts, products: products}
}

// errChanged: the cart changed since it was read; read it again and decide again.
var errChanged = errors.New("cart changed since it was read")

// Get returns the user's live cart; an expired or missing cart is empty.
func (s *Store) Get(ctx context.Context, userID string, now time.Time) (Stored, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.carts),
		Key:            map[string]types.AttributeValue{"userId": str(userID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Stored{}, fmt.Errorf("get cart: %w", err)
	}
	return decodeLive(out.Item, userID, now)
}

func decodeLive(item map[string]types.AttributeValue, userID string, now time.Time) (Stored, error) {
	var c Stored
	if item != nil {
		if err := attributevalue.UnmarshalMap(item, &c); err != nil {
			return Stored{}, fmt.Errorf("decode cart: %w", err)
		}
	}
	if item == nil || !c.live(now) {
		return Stored{UserID: userID}, nil
	}
	return c, nil
}

// Set puts quantity units of the product in the cart c (as read at now) and extends its
// life to expires; when c is not live, a new cart holding just this line replaces it. It
// fails with errChanged when the stored cart is no longer c.
func (s *Store) Set(ctx context.Context, c Stored, productID string, quantity int64, now, expires time.Time) (Stored, error) {
	if !c.live(now) {
		fresh := Stored{UserID: c.UserID, Quantities: map[string]int64{productID: quantity},
			Added: map[string]string{productID: stamp(now)}, UpdatedAt: stamp(now), ExpiresAt: expires.Unix(), Version: 1}
		item, err := attributevalue.MarshalMap(fresh)
		if err != nil {
			return Stored{}, fmt.Errorf("encode cart: %w", err)
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.carts),
			Item:                      item,
			ConditionExpression:       aws.String("attribute_not_exists(userId) OR expiresAt <= :nowUnix"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":nowUnix": num(now.Unix())},
		})
		if dynamo.IsConditionFailed(err) {
			return Stored{}, errChanged
		}
		if err != nil {
			return Stored{}, fmt.Errorf("put cart: %w", err)
		}
		return fresh, nil
	}
	return s.update(ctx, c, "SET #q.#p = :q, #a.#p = if_not_exists(#a.#p, :now), updatedAt = :now, expiresAt = :exp",
		productID, map[string]types.AttributeValue{":q": num(quantity), ":now": str(stamp(now)), ":exp": num(expires.Unix())})
}

// Remove takes the product out of the live cart c and extends its life to expires. It
// fails with errChanged when the stored cart is no longer c.
func (s *Store) Remove(ctx context.Context, c Stored, productID string, now, expires time.Time) (Stored, error) {
	return s.update(ctx, c, "REMOVE #q.#p, #a.#p SET updatedAt = :now, expiresAt = :exp",
		productID, map[string]types.AttributeValue{":now": str(stamp(now)), ":exp": num(expires.Unix())})
}

// update applies the update expression (on the line of productID) to the stored cart if it
// is still c, and counts the write in its version.
func (s *Store) update(ctx context.Context, c Stored, expr, productID string, values map[string]types.AttributeValue) (Stored, error) {
	cond := "attribute_exists(#q) AND attribute_not_exists(#v)" // stored before carts had versions
	if c.Version > 0 {
		cond, values[":v"] = "#v = :v", num(c.Version)
	}
	values[":one"] = num(1)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.carts),
		Key:                       map[string]types.AttributeValue{"userId": str(c.UserID)},
		UpdateExpression:          aws.String(expr + " ADD #v :one"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#q": "quantities", "#a": "added", "#p": productID, "#v": "version"},
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if dynamo.IsConditionFailed(err) {
		return Stored{}, errChanged
	}
	if err != nil {
		return Stored{}, fmt.Errorf("update cart: %w", err)
	}
	var updated Stored
	if err := attributevalue.UnmarshalMap(out.Attributes, &updated); err != nil {
		return Stored{}, fmt.Errorf("decode cart: %w", err)
	}
	return updated, nil
}

// Products reads the products with the given ids (at most 100); unknown ids are absent.
func (s *Store) Products(ctx context.Context, ids []string) (map[string]Product, error) {
	found := make(map[string]Product, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = map[string]types.AttributeValue{"productId": str(id)}
	}
	items, err := dynamo.BatchGet(ctx, s.db, s.products, types.KeysAndAttributes{
		Keys:                     keys,
		ProjectionExpression:     aws.String("#id, #n, #p, #c"),
		ExpressionAttributeNames: map[string]string{"#id": "productId", "#n": "name", "#p": "price", "#c": "currency"},
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
	for _, p := range ps {
		found[p.ProductID] = p
	}
	return found, nil
}

func newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 20 * time.Millisecond
	b.MaxInterval = 400 * time.Millisecond
	return b
}

// stamp formats t as RFC 3339 UTC with milliseconds, fixed width (string order is time order).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
