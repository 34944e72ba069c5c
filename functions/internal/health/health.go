// Package health is the liveness probe: it answers without touching any dependency, so it
// measures the gateway and the function runtime alone.
package health

import (
	"context"
	"net/http"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/clients"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Function builds the health function (GET /health).
func Function(context.Context, *clients.Clients) (api.Router, error) {
	ok := api.JSON(http.StatusOK, map[string]string{"status": "ok"})
	return api.Router{
		manifest.GetHealth.Key(): func(context.Context, api.Request) (api.Response, error) { return ok, nil },
	}, nil
}
