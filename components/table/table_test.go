package table_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/table"
	"github.com/shop-serverless/shop/functions/tables"
)

const dynamoTable = "aws:dynamodb/table:Table"

func TestTable(t *testing.T) {
	tests := []struct {
		name  string
		args  table.TableArgs
		check func(t *testing.T, in map[string]any, r awsmock.Resource)
	}{
		{
			name: "products: on-demand, stream, index, defaults",
			args: table.TableArgs{Definition: tables.Products, TableName: "shop-test-products"},
			check: func(t *testing.T, in map[string]any, r awsmock.Resource) {
				want := map[string]any{
					"name":                      "shop-test-products",
					"billingMode":               "PAY_PER_REQUEST",
					"hashKey":                   "productId",
					"streamEnabled":             true,
					"streamViewType":            "KEYS_ONLY",
					"deletionProtectionEnabled": false,
					"tableClass":                "STANDARD",
				}
				expect(t, in, want)
				if sse := in["serverSideEncryption"].(map[string]any); sse["enabled"] != true {
					t.Errorf("serverSideEncryption = %v", sse)
				}
				if _, ok := in["ttl"]; ok {
					t.Error("products has no TTL attribute")
				}
				gsis := in["globalSecondaryIndexes"].([]any)
				if len(gsis) != 1 || gsis[0].(map[string]any)["name"] != tables.ProductsByCategory {
					t.Errorf("globalSecondaryIndexes = %v", gsis)
				}
				if attrs := in["attributes"].([]any); len(attrs) != 2 {
					t.Errorf("attributes = %v, want productId and category once each", attrs)
				}
				if r.Protect || r.RetainOnDelete {
					t.Error("unprotected by default")
				}
			},
		},
		{
			name: "carts: TTL, protected, PITR, deletion protection, on-demand caps",
			args: table.TableArgs{
				Definition: tables.Carts, TableName: "shop-prod-carts", Protect: true,
				PointInTimeRecovery: true, DeletionProtection: true,
				MaxReadRequestUnits: 1000, MaxWriteRequestUnits: 500,
			},
			check: func(t *testing.T, in map[string]any, r awsmock.Resource) {
				expect(t, in, map[string]any{"deletionProtectionEnabled": true})
				if ttl := in["ttl"].(map[string]any); ttl["attributeName"] != "expiresAt" || ttl["enabled"] != true {
					t.Errorf("ttl = %v", ttl)
				}
				if pitr := in["pointInTimeRecovery"].(map[string]any); pitr["enabled"] != true {
					t.Errorf("pointInTimeRecovery = %v", pitr)
				}
				caps := in["onDemandThroughput"].(map[string]any)
				if caps["maxReadRequestUnits"] != 1000.0 || caps["maxWriteRequestUnits"] != 500.0 {
					t.Errorf("onDemandThroughput = %v", caps)
				}
				if _, ok := in["streamEnabled"]; ok {
					t.Error("carts has no stream")
				}
				if !r.Protect || !r.RetainOnDelete {
					t.Error("protected table must be protect and retainOnDelete")
				}
			},
		},
		{
			name: "orders: provisioned capacity applies to indexes",
			args: table.TableArgs{Definition: tables.Orders, TableName: "orders-x", BillingMode: table.Provisioned, ReadCapacity: 5, WriteCapacity: 3},
			check: func(t *testing.T, in map[string]any, _ awsmock.Resource) {
				expect(t, in, map[string]any{"billingMode": "PROVISIONED", "readCapacity": 5.0, "writeCapacity": 3.0})
				gsi := in["globalSecondaryIndexes"].([]any)[0].(map[string]any)
				if gsi["readCapacity"] != 5.0 || gsi["rangeKey"] != "createdAt" {
					t.Errorf("index = %v", gsi)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := awsmock.New("shop", "test")
			var indexArns []string
			err := m.Run(func(ctx *pulumi.Context) error {
				tbl, err := table.NewTable(ctx, tt.args.Definition.Name, &tt.args)
				if err != nil {
					return err
				}
				awsmock.Capture(ctx, "indexArns", tbl.IndexArns, &indexArns)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			m.CheckChildren(t, "shop:table:Table", tt.args.Definition.Name)
			recs := m.OfType(dynamoTable)
			if len(recs) != 1 {
				t.Fatalf("%d tables", len(recs))
			}
			r := recs[0]
			if r.Name != tt.args.Definition.Name+"-table" {
				t.Errorf("table named %q, want %q", r.Name, tt.args.Definition.Name+"-table")
			}
			tt.check(t, r.Inputs, r)
			if len(indexArns) != len(tt.args.Definition.Indexes) {
				t.Errorf("indexArns = %v", indexArns)
			}
			for _, a := range indexArns {
				if !strings.Contains(a, ":table/") || !strings.Contains(a, "/index/") {
					t.Errorf("index ARN %q", a)
				}
			}
		})
	}
}

func TestTableValidation(t *testing.T) {
	tests := []struct {
		name string
		args table.TableArgs
		want string
	}{
		{"short name", table.TableArgs{Definition: tables.Carts, TableName: "ab"}, "3..255"},
		{"bad billing", table.TableArgs{Definition: tables.Carts, BillingMode: "FREE"}, "billing mode"},
		{"provisioned without capacity", table.TableArgs{Definition: tables.Carts, BillingMode: table.Provisioned}, "capacity"},
		{"bad class", table.TableArgs{Definition: tables.Carts, TableClass: "COLD"}, "table class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := table.NewTable(ctx, "t", &tt.args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `table "t"`) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func expect(t *testing.T, in map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if in[k] != v {
			t.Errorf("%s = %v, want %v", k, in[k], v)
		}
	}
}
