// Command cart is the Lambda function behind the shopper's cart (GET /cart,
// PUT /cart/items/{productId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/cart"
	"github.com/shop-serverless/shop/functions/internal/ratelimit"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.Cart, ratelimit.Limited(cart.Function)) }
