// Command cart is the Lambda function behind the shopper's cart (GET /cart,
// PUT /cart/items/{productId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartHTTP(manifest.Cart, cart.Function) }
