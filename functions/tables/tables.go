// Package tables is the one definition of the shop's DynamoDB tables: keys, indexes, TTL
// attribute and stream. The local stage creates its tables from it and the infrastructure
// program declares the cloud tables from it, so the two cannot drift apart.
//
// The package is plain data on purpose: no AWS SDK, no Pulumi.
package tables

// AttrType is a DynamoDB key attribute type.
type AttrType string

// Key attribute types.
const (
	String AttrType = "S"
	Number AttrType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type AttrType
}

// Index is a global secondary index projecting all attributes.
type Index struct {
	Name     string
	HashKey  Key
	RangeKey *Key
}

// StreamView names what a table's stream carries; empty means no stream.
type StreamView string

// Stream views used by the shop.
const (
	NoStream        StreamView = ""
	NewAndOldImages StreamView = "NEW_AND_OLD_IMAGES"
	KeysOnly        StreamView = "KEYS_ONLY"
)

// Table describes one table.
type Table struct {
	// Name is the logical name; the deployed name is "<prefix>-<Name>".
	Name string
	// EnvVar is the environment variable through which functions learn the deployed name.
	EnvVar   string
	HashKey  Key
	RangeKey *Key
	Indexes  []Index
	// TTLAttribute holds a Unix time in seconds after which DynamoDB deletes the item; empty: no TTL.
	TTLAttribute string
	Stream       StreamView
	// CustomerData marks a table of customers' data (carts, orders, idempotency records):
	// the stack encrypts it with its customer-managed key when it has one.
	CustomerData bool
}

// Attributes returns every attribute that is a key of the table or of one of its indexes,
// each once, in first-seen order (DynamoDB rejects duplicates and unused definitions).
func (t Table) Attributes() []Key {
	var out []Key
	seen := map[string]bool{}
	add := func(k *Key) {
		if k != nil && !seen[k.Name] {
			seen[k.Name] = true
			out = append(out, *k)
		}
	}
	add(&t.HashKey)
	add(t.RangeKey)
	for _, ix := range t.Indexes {
		add(&ix.HashKey)
		add(ix.RangeKey)
	}
	return out
}

// Index names used by queries.
const (
	ProductsByCategory = "byCategory"
	OrdersByUser       = "byUser"
)

// The shop's tables.
var (
	// Products holds the catalog; stock is the source of truth for checkout. Its stream feeds
	// the cache invalidator, so changes made outside the API also evict cached copies.
	Products = Table{
		Name:    "products",
		EnvVar:  "PRODUCTS_TABLE",
		HashKey: Key{"productId", String},
		Indexes: []Index{{
			Name:     ProductsByCategory,
			HashKey:  Key{"category", String},
			RangeKey: &Key{"productId", String},
		}},
		Stream: KeysOnly,
	}
	// Stock holds the stock of products kept over several shard items (an admin's
	// stockShards of 2 or more): one item per shard, "units" each, so a sale writes small
	// items of their own instead of the product's, and spreads over partitions. No stream:
	// a sale does not evict the product's cached copy through the invalidator.
	Stock = Table{
		Name:     "stock",
		EnvVar:   "STOCK_TABLE",
		HashKey:  Key{"productId", String},
		RangeKey: &Key{"shard", Number},
	}
	// Reviews holds reviews per product, sorted newest first by "createdAt#reviewId".
	Reviews = Table{
		Name:     "reviews",
		EnvVar:   "REVIEWS_TABLE",
		HashKey:  Key{"productId", String},
		RangeKey: &Key{"sortKey", String},
	}
	// Carts holds one cart per user; idle carts expire through TTL.
	Carts = Table{
		Name:         "carts",
		EnvVar:       "CARTS_TABLE",
		HashKey:      Key{"userId", String},
		TTLAttribute: "expiresAt",
		CustomerData: true,
	}
	// Orders holds confirmed orders; a user's orders are listed newest first by index.
	Orders = Table{
		Name:    "orders",
		EnvVar:  "ORDERS_TABLE",
		HashKey: Key{"orderId", String},
		Indexes: []Index{{
			Name:     OrdersByUser,
			HashKey:  Key{"userId", String},
			RangeKey: &Key{"createdAt", String},
		}},
		CustomerData: true,
	}
	// Idempotency records checkout attempts by "<userId>#<Idempotency-Key>"; they expire through TTL.
	Idempotency = Table{
		Name:         "idempotency",
		EnvVar:       "IDEMPOTENCY_TABLE",
		HashKey:      Key{"key", String},
		TTLAttribute: "expiresAt",
		CustomerData: true,
	}
	// Purchases counts the units each user has bought of each product that has a
	// maxPerCustomer: one item per user and product ("units"), raised in the order's own
	// transaction on condition that it stays within the limit, so concurrent checkouts of
	// one user cannot buy more between them.
	Purchases = Table{
		Name:         "purchases",
		EnvVar:       "PURCHASES_TABLE",
		HashKey:      Key{"userId", String},
		RangeKey:     &Key{"productId", String},
		CustomerData: true,
	}
)

// All lists every table, in a fixed order.
var All = []Table{Products, Stock, Reviews, Carts, Orders, Idempotency, Purchases}
