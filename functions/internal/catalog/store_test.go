package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/api"
	"github.com/shop-serverless/shop/functions/internal/catalog"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/local/stagetest"
	"github.com/shop-serverless/shop/functions/tables"
)

var st *stage.Stage

func TestMain(m *testing.M) { os.Exit(stagetest.Main(m, stage.Options{Runtime: stage.InProcess}, &st)) }

func newStore(t *testing.T) *catalog.Store {
	t.Helper()
	table, err := st.Admin.Config.Table(tables.Products)
	if err != nil {
		t.Fatal(err)
	}
	return catalog.NewStore(st.Admin.DynamoDB, table)
}

func TestStoreOnDynamoDBLocal(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	img := "https://cdn.example/x.png"
	want := catalog.Product{ProductID: "st-1", Name: "Lamp", Category: "home", Price: 1999,
		Currency: "EUR", Stock: 3, ImageURL: &img, CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:00:00Z"}
	if err := s.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, want); !errors.Is(err, api.ErrConflict) {
		t.Errorf("second put: %v, want ErrConflict", err)
	}
	got, err := s.Get(ctx, "st-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != want.Name || got.Price != want.Price || got.ImageURL == nil || *got.ImageURL != img {
		t.Errorf("got %+v", got)
	}
	if _, err := s.Get(ctx, "st-none"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

func TestStoreListPagesThroughACategory(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 7 {
		p := catalog.Product{ProductID: fmt.Sprintf("pg-%d", i), Name: "n", Category: "paging",
			Price: 1, Currency: "USD", CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: "2026-01-01T00:00:00Z"}
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	seen, cursor := map[string]bool{}, ""
	for range 10 {
		page, err := s.List(ctx, "paging", 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Items {
			if seen[p.ProductID] {
				t.Fatalf("%s listed twice", p.ProductID)
			}
			seen[p.ProductID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(seen) != 7 {
		t.Errorf("listed %d, want 7", len(seen))
	}
	if _, err := s.List(ctx, "other", 3, cursor); err == nil && cursor != "" {
		t.Error("a cursor of one category was accepted for another")
	}
}
