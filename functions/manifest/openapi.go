package manifest

import _ "embed"

// OpenAPI is the API's OpenAPI 3.1 document: every route of All with its parameters, bodies,
// answers, headers and security, kept by hand in openapi.json beside this file. The
// package's tests prove it covers All exactly, and the local stage's end-to-end tests
// validate every request and response they exchange against it.
//
//go:embed openapi.json
var OpenAPI []byte

// Descriptions says in a few words what each route of All does, by route key; the OpenAPI
// document's operation summaries are these.
var Descriptions = map[string]string{
	"GET /health":                                 "Liveness probe",
	"GET /products":                               "List products, optionally of one category",
	"GET /products/{productId}":                   "Read one product (cached)",
	"POST /products":                              "Create a product",
	"PUT /products/{productId}":                   "Replace a product's fields",
	"DELETE /products/{productId}":                "Delete a product",
	"POST /products/{productId}/image":            "Upload a product's image as base64",
	"POST /products/{productId}/image-upload-url": "Get a presigned POST to upload a product's image",
	"GET /products/{productId}/reviews":           "List a product's reviews, newest first",
	"POST /products/{productId}/reviews":          "Review a product",
	"GET /cart":                                   "Read the caller's cart",
	"PUT /cart/items/{productId}":                 "Set a product's quantity in the caller's cart",
	"POST /orders":                                "Place an order (idempotent checkout)",
	"GET /orders":                                 "List the caller's orders, newest first",
	"GET /orders/{orderId}":                       "Read one order (its owner or an admin)",
}
