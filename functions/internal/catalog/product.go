// Package catalog is the product catalog: the product document, its DynamoDB store and the
// cache-aside reads that serve shoppers at flash-sale concurrency.
package catalog

import (
	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/productkey"
)

// Product is the contract's product document; it is also the DynamoDB item.
type Product struct {
	ProductID   string `json:"productId" dynamodbav:"productId"`
	Name        string `json:"name" dynamodbav:"name"`
	Description string `json:"description" dynamodbav:"description"`
	Category    string `json:"category" dynamodbav:"category"`
	Price       int64  `json:"price" dynamodbav:"price"`
	Currency    string `json:"currency" dynamodbav:"currency"`
	Stock       int64  `json:"stock" dynamodbav:"stock"`
	// StockShards is how many shard items hold the stock (shards.go); the item keeps it
	// only when it is 2 or more.
	StockShards int `json:"stockShards" dynamodbav:"stockShards,omitempty"`
	// StockGen is the generation of the shards' layout (shards.go); "" when the product is
	// not sharded, or its shards predate generations. Not part of the document.
	StockGen string  `json:"-" dynamodbav:"stockGen,omitempty"`
	ImageURL *string `json:"imageUrl" dynamodbav:"imageUrl,omitempty"`
	// MaxPerCustomer is how many units one user may buy across all their orders; nil: no
	// limit. Checkout enforces it (orders' purchases table).
	MaxPerCustomer *int64 `json:"maxPerCustomer" dynamodbav:"maxPerCustomer,omitempty"`
	CreatedAt      string `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt      string `json:"updatedAt" dynamodbav:"updatedAt"`
}

// ValidCategory reports whether s is a well-formed category: 1..64 of [a-z0-9-].
func ValidCategory(s string) bool {
	return api.MadeOf(s, 1, 64, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' })
}

// CacheKey is the cache key of a product document.
func CacheKey(productID string) string { return productkey.Cache(productID) }
