// Command orders is the Lambda function behind checkout (POST /orders) and the shopper's
// orders (GET /orders, GET /orders/{orderId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/orders"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.Orders, ratelimit.Limited(orders.Function)) }
