package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/awsmock"
)

// loadWith runs loadConfig alone under mocks, with cfg handed over as the engine does.
func loadWith(t *testing.T, cfg map[string]string) (*Config, error) {
	t.Helper()
	cfg, secrets := withOriginSecret(maps.Clone(cfg), nil)
	setEngineConfig(t, cfg, secrets)
	var c *Config
	err := awsmock.New(project, "test").Run(func(ctx *pulumi.Context) error {
		var err error
		c, err = loadConfig(ctx)
		return err
	})
	return c, err
}

func TestConfigDefaults(t *testing.T) {
	c, err := loadWith(t, map[string]string{"aws:region": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "shop-test" || c.Network.NATMode != "none" || c.Cache.Mode != "nodes" || c.Tables.BillingMode != "PAY_PER_REQUEST" || c.ProtectData {
		t.Errorf("defaults = %+v", c)
	}
	if s := c.Functions.SizesFor("orders"); s.MemoryMB != 256 || s.TimeoutSeconds != 10 || s.ReservedConcurrency != 0 {
		t.Errorf("sizes = %+v", s)
	}
}

func TestConfigSizesOverride(t *testing.T) {
	c, err := loadWith(t, map[string]string{
		"aws:region":     "eu-west-1",
		"shop:functions": `{"defaults":{"memoryMb":512},"overrides":{"orders":{"timeoutSeconds":20,"reservedConcurrency":5}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Functions.SizesFor("orders"); s != (Sizes{MemoryMB: 512, TimeoutSeconds: 20, ReservedConcurrency: 5}) {
		t.Errorf("orders = %+v", s)
	}
	if s := c.Functions.SizesFor("cart"); s != (Sizes{MemoryMB: 512, TimeoutSeconds: 10}) {
		t.Errorf("cart = %+v", s)
	}
}

// TestConfigErrors: every mistake is reported under its key, all at once.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]string
		want []string
	}{
		{"no region", map[string]string{"aws:region": ""}, []string{"aws:region: required"}},
		{"typo in a key", map[string]string{"shop:network": `{"natMod":"none"}`}, []string{"shop:network.natMod: unknown key"}},
		{"unknown top-level keys", map[string]string{"shop:bogus": "1", "shop:Network": `{"azCount":2}`, "aws:profile": "ops"}, []string{
			"shop:bogus: unknown key", "shop:Network: unknown key",
		}},
		{"nested keys in another case", map[string]string{
			"shop:network": `{"azcount":3}`,
			"shop:api":     `{"throttle":{"rateLimit":1,"burstlimit":1}}`,
		}, []string{"shop:network.azcount: unknown key", "shop:api.throttle.burstlimit: unknown key"}},
		{"a key twice", map[string]string{"shop:network": `{"azCount":2,"azCount":3}`}, []string{"shop:network", "azCount"}},
		{"a wrong type", map[string]string{"shop:network": `{"azCount":"two"}`}, []string{"shop:network.azCount:"}},
		{"bad values", map[string]string{
			"shop:network":          `{"natMode":"many","azCount":9}`,
			"shop:cache":            `{"engine":"memcached","nodes":3}`,
			"shop:logRetentionDays": "10",
			"shop:cartTtl":          "forever",
		}, []string{
			`shop:network.natMode: "many" is not one of none, single, perAz`,
			"shop:network.azCount: 9 must be 1..6",
			`shop:cache.engine: "memcached" is not one of valkey, redis`,
			"shop:logRetentionDays: 10 is not a CloudWatch retention",
			`shop:cartTtl: "forever"`,
		}},
		{"API functions must finish within the gateway's 30 s", map[string]string{
			"shop:functions": `{"overrides":{"orders":{"timeoutSeconds":30},"invalidator":{"timeoutSeconds":300},"nosuch":{}}}`,
		}, []string{
			"shop:functions.overrides.orders.timeoutSeconds: 30 must be 1..29",
			`shop:functions.overrides: "nosuch" is not a function`,
		}},
		{"throttles and origins", map[string]string{
			"shop:api":         `{"throttle":{"rateLimit":0,"burstLimit":1},"routeThrottles":{"GET /nope":{"rateLimit":1,"burstLimit":1}}}`,
			"shop:corsOrigins": `["https://shop.example.com/path"]`,
		}, []string{
			"shop:api.throttle: needs a positive rateLimit",
			`shop:api.routeThrottles: "GET /nope" is not a route`,
			`shop:corsOrigins: "https://shop.example.com/path" must be an origin`,
		}},
		{"serverless needs two zones, failover needs two zones", map[string]string{
			"shop:network": `{"azCount":1}`,
			"shop:cache":   `{"mode":"serverless"}`,
		}, []string{"shop:cache.mode: serverless needs subnets in at least 2 zones"}},
		{"key deletion window", map[string]string{"shop:encryption": `{"customerManagedKey":true,"keyDeletionDays":3}`}, []string{
			"shop:encryption.keyDeletionDays: 3 must be 7..30",
		}},
		{"encryption typo", map[string]string{"shop:encryption": `{"customerManagedKeys":true}`}, []string{
			`shop:encryption.customerManagedKeys: unknown key`,
		}},
		{"external auth", map[string]string{"shop:auth": `{"mode":"external","issuer":"http://x"}`}, []string{
			`shop:auth.issuer: "http://x" must be an https URL`, "shop:auth.audiences",
		}},
		{"external auth with the storefront", map[string]string{"shop:auth": `{"mode":"external","issuer":"https://login.example.com/","audiences":["shop"]}`}, []string{
			"shop:site.enabled: the storefront signs in through the stack's user pool",
		}},
		{"sign-in and site settings", map[string]string{
			"shop:auth": `{"mode":"cognito","mfa":"ON","threatProtection":"BLOCK"}`,
			"shop:site": `{"enabled":true,"priceClass":"PriceClass_1","domain":{"name":"shop.example.com","certificateArn":"arn:aws:acm:eu-west-1:123456789012:certificate/x"}}`,
		}, []string{
			`shop:auth.threatProtection: "BLOCK" is not one of OFF, AUDIT, ENFORCED`,
			`shop:site.priceClass: "PriceClass_1"`,
			"shop:site.domain: needs name and certificateArn (an ACM certificate in us-east-1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]string{"aws:region": "eu-west-1"}
			maps.Copy(cfg, tt.cfg)
			_, err := loadWith(t, cfg)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestStackFileSecretsBecomePlaceholders(t *testing.T) {
	cfg, secrets := parseStackConfig(t, []byte(`
config:
  aws:region: eu-central-1
  shop:alarmEmail:
    secure: v1:abc:def
  shop:api:
    domain:
      name: api.example.com
      certificateArn:
        secure: v1:xyz
  shop:logRetentionDays: 30
  shop:protectData: true
`))
	if cfg["shop:alarmEmail"] != "placeholder-for-shop-alarmEmail" || cfg["shop:logRetentionDays"] != "30" || cfg["shop:protectData"] != "true" {
		t.Errorf("config = %v", cfg)
	}
	if !strings.Contains(cfg["shop:api"], `"certificateArn":"placeholder-for-shop-api"`) {
		t.Errorf("nested secure value: %s", cfg["shop:api"])
	}
	if strings.Join(secrets, ",") != "shop:alarmEmail,shop:api" {
		t.Errorf("secret keys = %v", secrets)
	}
}

func TestConfigEdgeErrors(t *testing.T) {
	_, err := loadWith(t, map[string]string{
		"aws:region": "eu-west-1",
		"shop:edge":  `{"windowSeconds":90,"ratePerAddress":5,"ordersRatePerAddress":50,"priceClass":"all","domain":{"name":"api.example.com","certificateArn":"arn:aws:acm:eu-west-1:123456789012:certificate/x"}}`,
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range []string{
		`shop:edge.windowSeconds: "90" is not one of 60, 120, 300, 600`,
		"shop:edge.ratePerAddress: 5 must be 10..2000000000",
		"shop:edge.ordersRatePerAddress: 50 must not exceed edge.ratePerAddress 5",
		`shop:edge.priceClass: "all"`,
		"shop:edge.domain: needs name and certificateArn (an ACM certificate in us-east-1",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
}

// TestConfigOriginSecret: the origin secret is required, and only as an encrypted value of
// a useful length, so no stack file holds it in plain text; a rotation's previous secret is
// held to the same rules, and one the same as the current secret is refused.
func TestConfigOriginSecret(t *testing.T) {
	key := project + ":" + originSecretKey
	prev := project + ":" + previousOriginSecretKey
	for _, tt := range []struct {
		name    string
		cfg     map[string]string
		secrets []string
		wantErr string
	}{
		{"missing", map[string]string{key: ""}, []string{key}, key + ": required: pulumi config set --secret"},
		{"plain", map[string]string{key: testOriginSecret}, nil, key + ": must be a secret"},
		{"short", map[string]string{key: "abc"}, []string{key}, key + ": at least 32 characters"},
		{"previous plain", map[string]string{key: testOriginSecret, prev: "test-previous-origin-secret-0123456789"}, []string{key}, prev + ": must be a secret"},
		{"previous short", map[string]string{key: testOriginSecret, prev: "abc"}, []string{key, prev}, prev + ": at least 32 characters"},
		{"previous the current one", map[string]string{key: testOriginSecret, prev: testOriginSecret}, []string{key, prev}, prev + ": the same as originSecret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg["aws:region"] = "eu-west-1"
			setEngineConfig(t, tt.cfg, tt.secrets)
			err := awsmock.New(project, "test").Run(func(ctx *pulumi.Context) error {
				_, err := loadConfig(ctx)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			for _, k := range []string{key, prev} {
				if v := tt.cfg[k]; len(v) >= minOriginSecretLength && strings.Contains(err.Error(), v) {
					t.Errorf("the error %q repeats %s's value", err, k)
				}
			}
		})
	}
}
