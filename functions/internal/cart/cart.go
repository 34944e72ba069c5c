// Package cart is the shopper's cart: one DynamoDB item per user that expires, through the
// table's TTL, after a configurable idle time (CART_TTL). Names and prices are not copied
// into the cart: every answer shows them as the products have them now.
package cart

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/internal/money"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Limits of a cart: as many products as one order may hold, as many units of each.
const (
	MaxLines    = 50
	MaxQuantity = 100
)

// Item is one line of the contract's cart.
type Item struct {
	ProductID string `json:"productId"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	Price     int64  `json:"price"`
	Currency  string `json:"currency"`
}

// Cart is the contract's cart. Currency is null for an empty cart.
type Cart struct {
	Items    []Item  `json:"items"`
	Total    int64   `json:"total"`
	Currency *string `json:"currency"`
}

// Service serves carts.
type Service struct {
	store *Store
	ttl   time.Duration
	now   func() time.Time
}

// NewService returns the cart service; a cart lives ttl after its last change.
func NewService(store *Store, ttl time.Duration) *Service {
	return &Service{store: store, ttl: ttl, now: time.Now}
}

// Get returns the user's cart.
func (s *Service) Get(ctx context.Context, userID string) (Cart, error) {
	stored, err := s.store.Get(ctx, userID, s.now())
	if err != nil {
		return Cart{}, err
	}
	products, err := s.store.Products(ctx, lineIDs(stored))
	if err != nil {
		return Cart{}, err
	}
	return view(stored, products)
}

// maxWrites bounds the read-decide-write rounds of one change that concurrent changes to
// the same cart make start over.
const maxWrites = 5

// Set puts quantity units of the product in the user's cart; 0 removes the product. A
// product that no longer exists can still be removed. The cart holds products of one
// currency, at most MaxLines of them, and its total stays within money.MaxAmount: each
// change is decided on the cart as read and written only if the cart is still that one.
func (s *Service) Set(ctx context.Context, userID, productID string, quantity int64) (Cart, error) {
	c, err := backoff.Retry(ctx, func() (Cart, error) {
		c, err := s.set(ctx, userID, productID, quantity)
		if err != nil && !errors.Is(err, errChanged) {
			return c, backoff.Permanent(err)
		}
		return c, err
	}, backoff.WithBackOff(newBackOff()), backoff.WithMaxTries(maxWrites))
	if errors.Is(err, errChanged) {
		return Cart{}, fmt.Errorf("update cart: concurrent changes: %w", api.ErrConflict)
	}
	return c, err
}

// set is one round of Set: read the cart and the products, decide, write.
func (s *Service) set(ctx context.Context, userID, productID string, quantity int64) (Cart, error) {
	now := s.now()
	stored, err := s.store.Get(ctx, userID, now)
	if err != nil {
		return Cart{}, err
	}
	ids := lineIDs(stored)
	if !slices.Contains(ids, productID) {
		ids = append(ids, productID)
	}
	products, err := s.store.Products(ctx, ids)
	if err != nil {
		return Cart{}, err
	}
	target, exists := products[productID]
	_, inCart := stored.Quantities[productID]

	if quantity == 0 {
		if !inCart {
			if !exists {
				return Cart{}, api.NotFound("product %s does not exist", productID)
			}
			return view(stored, products)
		}
		stored, err = s.store.Remove(ctx, stored, productID, now, now.Add(s.ttl))
		if err != nil {
			return Cart{}, err
		}
		return view(stored, products)
	}

	if !exists {
		return Cart{}, api.NotFound("product %s does not exist", productID)
	}
	others := stored
	others.Quantities = without(stored.Quantities, productID)
	if cur := currencyOf(others, products); cur != "" && cur != target.Currency {
		return Cart{}, &api.Error{Status: http.StatusConflict, Code: "conflict",
			Message: fmt.Sprintf("the cart holds products priced in %s; %s is priced in %s", cur, productID, target.Currency)}
	}
	if !inCart && len(stored.Quantities) >= MaxLines {
		return Cart{}, api.Unprocessable("a cart holds at most %d products", MaxLines)
	}
	// The cart as it would be must have a total within range; only then is it written.
	next := others
	next.Quantities[productID] = quantity
	if _, err := view(next, products); err != nil {
		return Cart{}, err
	}
	stored, err = s.store.Set(ctx, stored, productID, quantity, now, now.Add(s.ttl))
	if err != nil {
		return Cart{}, err
	}
	return view(stored, products)
}

// view builds the contract's cart from the stored one, with names and prices from products.
// Lines of products that no longer exist are left out. A cart whose total would exceed
// money.MaxAmount (its products' prices went up since) is refused with 422 until lines
// are lowered or removed.
func view(stored Stored, products map[string]Product) (Cart, error) {
	c := Cart{Items: []Item{}}
	cur := currencyOf(stored, products)
	var total money.Total
	for _, id := range lineIDs(stored) {
		p, ok := products[id]
		if !ok {
			continue
		}
		q := stored.Quantities[id]
		c.Items = append(c.Items, Item{ProductID: id, Name: p.Name, Quantity: q, Price: p.Price, Currency: p.Currency})
		if p.Currency == cur {
			total.AddLine(p.Price, q)
		}
	}
	var err error
	if c.Total, err = total.Sum(); err != nil {
		return Cart{}, api.Unprocessable("the cart's total would exceed %d %s (minor units); lower a quantity",
			int64(money.MaxAmount), cur)
	}
	if cur != "" {
		c.Currency = &cur
	}
	return c, nil
}

// lineIDs returns the cart's product ids in the order they were first added.
func lineIDs(c Stored) []string {
	ids := make([]string, 0, len(c.Quantities))
	for id := range c.Quantities {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if x := strings.Compare(c.Added[a], c.Added[b]); x != 0 {
			return x
		}
		return strings.Compare(a, b)
	})
	return ids
}

// currencyOf is the cart's currency: that of its first product that still exists. Products
// priced in another currency (a product's currency changed after it was added) are listed
// but left out of the total.
func currencyOf(c Stored, products map[string]Product) string {
	for _, id := range lineIDs(c) {
		if p, ok := products[id]; ok {
			return p.Currency
		}
	}
	return ""
}

// without returns m without key.
func without(m map[string]int64, key string) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// Handler serves the cart routes.
type Handler struct{ svc *Service }

// NewHandler returns the handler of the cart routes.
func NewHandler(svc *Service) *Handler { return &Handler{svc: svc} }

// Routes returns the cart function's routes.
func (h *Handler) Routes() api.Router {
	return api.Router{
		manifest.GetCart.Key():     h.get,
		manifest.PutCartItem.Key(): h.put,
	}
}

func (h *Handler) get(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	c, err := h.svc.Get(ctx, caller.UserID)
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, c), nil
}

// putBody is the body of PUT /cart/items/{productId}; a pointer tells a missing quantity
// from 0.
type putBody struct {
	Quantity *int64 `json:"quantity"`
}

func (h *Handler) put(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	id, err := api.PathID(req, "productId")
	if err != nil {
		return api.Response{}, err
	}
	var body putBody
	if err := api.DecodeJSON(req, api.MaxBody, &body); err != nil {
		return api.Response{}, err
	}
	if body.Quantity == nil || *body.Quantity < 0 || *body.Quantity > MaxQuantity {
		return api.Response{}, api.Invalid("quantity must be an integer from 0 to %d (0 removes the product)", MaxQuantity)
	}
	c, err := h.svc.Set(ctx, caller.UserID, id, *body.Quantity)
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, c), nil
}

// Function builds the cart function (GET /cart, PUT /cart/items/{productId}).
func Function(_ context.Context, c *clients.Clients) (api.Router, error) {
	carts, err := c.Config.Table(tables.Carts)
	if err != nil {
		return nil, fmt.Errorf("cart: %w", err)
	}
	products, err := c.Config.Table(tables.Products)
	if err != nil {
		return nil, fmt.Errorf("cart: %w", err)
	}
	db, err := dynamoclient.Of(c)
	if err != nil {
		return nil, fmt.Errorf("cart: %w", err)
	}
	return NewHandler(NewService(NewStore(db, carts, products), c.Config.CartTTL)).Routes(), nil
}
