// Command orders is the Lambda function behind checkout (POST /orders) and the shopper's
// orders (GET /orders, GET /orders/{orderId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartHTTP(manifest.Orders, orders.Function) }
