package stage

import (
	"context"
	"fmt"
	"time"

	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/tables"
)

// SeedCategories are the sample catalog's categories; each has SeedPerCategory products with
// readable ids "<category>-01" .. so the README's curl lines work on every run.
var SeedCategories = []string{"books", "electronics", "kitchen", "garden", "toys", "sports"}

// SeedPerCategory is the number of sample products per category.
const SeedPerCategory = 10

var seedNouns = map[string][]string{
	"books":       {"Field Guide", "Cookbook", "Novel", "Atlas", "Poetry Collection"},
	"electronics": {"Headphones", "Charger", "Speaker", "Keyboard", "Webcam"},
	"kitchen":     {"Chef Knife", "Kettle", "Skillet", "Mixing Bowl", "Teapot"},
	"garden":      {"Trowel", "Watering Can", "Seed Kit", "Pruner", "Planter"},
	"toys":        {"Puzzle", "Kite", "Building Set", "Yo-yo", "Board Game"},
	"sports":      {"Yoga Mat", "Jump Rope", "Water Bottle", "Tennis Balls", "Dumbbell"},
}

// SeedProducts returns the sample catalog.
func SeedProducts(now time.Time) []catalog.Product {
	var out []catalog.Product
	ts := now.UTC().Format(time.RFC3339)
	for ci, cat := range SeedCategories {
		for i := 1; i <= SeedPerCategory; i++ {
			noun := seedNouns[cat][(i-1)%len(seedNouns[cat])]
			out = append(out, catalog.Product{
				ProductID:   fmt.Sprintf("%s-%02d", cat, i),
				Name:        fmt.Sprintf("%s No. %d", noun, i),
				Description: fmt.Sprintf("A sample %s from the %s aisle.", noun, cat),
				Category:    cat,
				Price:       int64(499 + 250*i + 1000*ci),
				Currency:    "USD",
				Stock:       int64(10 * i),
				CreatedAt:   ts,
				UpdatedAt:   ts,
			})
		}
	}
	return out
}

// Seed writes the sample catalog.
func Seed(ctx context.Context, c *AdminClients) error {
	table, err := c.Config.Table(tables.Products)
	if err != nil {
		return err
	}
	store := catalog.NewStore(c.DynamoDB, table)
	for _, p := range SeedProducts(time.Now()) {
		if err := store.Put(ctx, p); err != nil {
			return fmt.Errorf("seed %s: %w", p.ProductID, err)
		}
	}
	return nil
}
