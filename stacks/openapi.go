package main

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/functions/manifest"
)

// openAPIFor is the API's OpenAPI document for the stage whose API is at apiURL: the
// document of functions/manifest with that URL as its only server, so a client team can
// take it per stage (`pulumi stack output openapi`).
func openAPIFor(apiURL pulumi.StringOutput) pulumi.StringOutput {
	return apiURL.ApplyT(func(u string) (string, error) {
		var doc map[string]any
		if err := json.Unmarshal(manifest.OpenAPI, &doc); err != nil {
			return "", fmt.Errorf("openapi.json: %w", err)
		}
		doc["servers"] = []map[string]string{{"url": u, "description": "this stage's API"}}
		b, err := json.MarshalIndent(doc, "", "  ")
		return string(b), err
	}).(pulumi.StringOutput)
}
