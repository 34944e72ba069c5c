// Command catalog is the Lambda function behind the catalog reads (GET /products, GET /products/{productId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { app.StartHTTP(manifest.Catalog, catalog.Function) }
