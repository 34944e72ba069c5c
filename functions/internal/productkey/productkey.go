// Package productkey builds the cache key of a product document. It is a package of its own
// so that the invalidator, which only evicts, does not link the catalog's DynamoDB store.
package productkey

// Cache is the cache key of the product document productID.
func Cache(productID string) string { return "product:" + productID }
