// Command catalogadmin is the Lambda function behind the admins' catalog writes (products
// and their images).
package main

import (
	"github.com/shop-serverless/shop/functions/internal/app"
	"github.com/shop-serverless/shop/functions/internal/catalogadmin"
)

func main() { app.StartHTTP(catalogadmin.Function) }
