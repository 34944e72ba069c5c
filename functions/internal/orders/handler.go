package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/cache"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/internal/clients/dynamoclient"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

// Handler serves the orders routes.
type Handler struct {
	checkout *Checkout
	store    *Store
}

// NewHandler returns the handler of the orders routes.
func NewHandler(checkout *Checkout, store *Store) *Handler {
	return &Handler{checkout: checkout, store: store}
}

// Routes returns the orders function's routes.
func (h *Handler) Routes() api.Router {
	return api.Router{
		manifest.PlaceOrder.Key(): h.place,
		manifest.ListOrders.Key(): h.list,
		manifest.GetOrder.Key():   h.get,
	}
}

func (h *Handler) place(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	key, err := IdempotencyKey(req)
	if err != nil {
		return api.Response{}, err
	}
	var body Request
	if err := api.DecodeJSON(req, api.MaxBody, &body); err != nil {
		return api.Response{}, err
	}
	if err := body.Validate(); err != nil {
		return api.Response{}, err
	}
	o, created, err := h.checkout.Place(ctx, caller.UserID, key, body)
	if err != nil {
		return api.Response{}, err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	resp := api.JSON(status, o)
	resp.Headers["Location"] = "/orders/" + o.OrderID
	if !created {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	return resp, nil
}

func (h *Handler) get(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	id, err := api.PathID(req, "orderId")
	if err != nil {
		return api.Response{}, err
	}
	o, err := h.store.Order(ctx, id)
	if errors.Is(err, api.ErrNotFound) || (err == nil && o.UserID != caller.UserID && !caller.IsAdmin()) {
		// Another user's order is answered as if it did not exist: ids are not confirmed.
		return api.Response{}, api.NotFound("order %s does not exist", id)
	}
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, o), nil
}

func (h *Handler) list(ctx context.Context, req api.Request) (api.Response, error) {
	caller, err := api.CallerOf(req)
	if err != nil {
		return api.Response{}, err
	}
	limit, err := api.Limit(req)
	if err != nil {
		return api.Response{}, err
	}
	page, err := h.store.List(ctx, caller.UserID, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return api.Response{}, err
	}
	return api.JSON(http.StatusOK, page), nil
}

// Function builds the orders function (POST /orders, GET /orders, GET /orders/{orderId}).
func Function(_ context.Context, c *clients.Clients) (api.Router, error) {
	var t Tables
	for _, x := range []struct {
		dst   *string
		table tables.Table
	}{{&t.Products, tables.Products}, {&t.Stock, tables.Stock}, {&t.Orders, tables.Orders}, {&t.Idempotency, tables.Idempotency}, {&t.Purchases, tables.Purchases}} {
		name, err := c.Config.Table(x.table)
		if err != nil {
			return nil, fmt.Errorf("orders: %w", err)
		}
		*x.dst = name
	}
	db, err := dynamoclient.Of(c)
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	rdb, err := catalog.RedisFor(c)
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	store := NewStore(db, t)
	gate := NewGate(rdb, GateOptions{Logger: api.Logger})
	checkout := NewCheckout(store, gate, cache.New(rdb, cache.Options{Logger: api.Logger}))
	return NewHandler(checkout, store).Routes(), nil
}
