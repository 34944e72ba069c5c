// Command catalog is the Lambda function behind the catalog reads (GET /products, GET /products/{productId}).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app/httpapp"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/manifest"
)

func main() { httpapp.Start(manifest.Catalog, catalog.Function) }
