// Package orders is the shop's checkout: idempotent orders that never oversell, at
// flash-sale concurrency.
//
//   - DynamoDB is the source of truth. One TransactWriteItems takes the stock of every line
//     (each with the condition stock >= quantity), puts the order and puts the idempotency
//     record, all or nothing: stock is never taken without an order, and an order never
//     exists without its idempotency record.
//   - A retried request (same user, same Idempotency-Key) finds the record and answers the
//     original order, or the original refusal (out of stock, unknown product,
//     unprocessable), which is recorded under the key as well; the same key with another
//     body is refused.
//   - Redis only decides who may try: the Gate mirrors each product's stock (read from
//     DynamoDB) and reserves units before the transaction, so at a flash sale only the
//     orders that get a unit write stock and all others are refused without touching the
//     product's item.
//     It errs towards letting orders through; without Redis, orders still work, from
//     DynamoDB alone.
package orders

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/shop-serverless/shop/functions/internal/api"
)

// Limits of the contract.
const (
	MaxLines    = 50
	MaxQuantity = 100
	// StatusConfirmed is the only status an order has: it exists once its stock is taken.
	StatusConfirmed = "confirmed"
)

// Line is one product line of an order request.
type Line struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity"`
}

// Request is the body of POST /orders.
type Request struct {
	Items []Line `json:"items"`
}

// Item is one line of an order, priced from the product when the order was placed.
type Item struct {
	ProductID string `json:"productId" dynamodbav:"productId"`
	Quantity  int64  `json:"quantity" dynamodbav:"quantity"`
	Price     int64  `json:"price" dynamodbav:"price"`
	Currency  string `json:"currency" dynamodbav:"currency"`
}

// Order is the contract's order document; it is also the DynamoDB item.
type Order struct {
	OrderID   string `json:"orderId" dynamodbav:"orderId"`
	UserID    string `json:"userId" dynamodbav:"userId"`
	Status    string `json:"status" dynamodbav:"status"`
	Items     []Item `json:"items" dynamodbav:"items"`
	Total     int64  `json:"total" dynamodbav:"total"`
	Currency  string `json:"currency" dynamodbav:"currency"`
	CreatedAt string `json:"createdAt" dynamodbav:"createdAt"`

	// layouts is the shard layout of each line's product whose stock is sharded, as read;
	// takes, the shards those lines take their units from in the next transaction.
	layouts map[string]layout
	takes   map[string][]shardTake
	// limits is the maxPerCustomer of each line's product that has one, as read.
	limits map[string]int64
}

// IdempotencyKey returns the request's Idempotency-Key header, which is required.
func IdempotencyKey(req api.Request) (string, error) {
	k := api.Header(req, "Idempotency-Key")
	if k == "" {
		return "", api.Invalid("the Idempotency-Key header is required")
	}
	if !api.MadeOf(k, 1, 128, api.URLSafe) {
		return "", api.Invalid("Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 _ -")
	}
	return k, nil
}

// Validate checks the request against the contract: 1..50 lines of distinct, well-formed
// product ids, each for 1..100 units.
func (r Request) Validate() error {
	if len(r.Items) == 0 || len(r.Items) > MaxLines {
		return api.Invalid("items must hold 1 to %d products", MaxLines)
	}
	seen := make(map[string]bool, len(r.Items))
	for i, l := range r.Items {
		if !api.ValidID(l.ProductID) {
			return api.Invalid("items[%d].productId must be 1 to 64 characters of A-Z a-z 0-9 _ -", i)
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return api.Invalid("items[%d].quantity must be an integer from 1 to %d", i, MaxQuantity)
		}
		if seen[l.ProductID] {
			return api.Invalid("items[%d]: product %s is listed twice; put the whole quantity on one line", i, l.ProductID)
		}
		seen[l.ProductID] = true
	}
	return nil
}

// Hash is the fingerprint of the request's meaning: its lines sorted by product, so the same
// order sent with its lines in another order is the same request.
func (r Request) Hash() string {
	lines := slices.Clone(r.Items)
	slices.SortFunc(lines, func(a, b Line) int { return strings.Compare(a.ProductID, b.ProductID) })
	b, _ := json.Marshal(lines)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
