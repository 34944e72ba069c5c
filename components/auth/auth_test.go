package auth_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/shop-serverless/shop/components/auth"
	"github.com/shop-serverless/shop/components/awsmock"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name          string
		args          auth.AuthArgs
		wantIssuer    string
		wantAudiences []string
		wantPools     int
	}{
		{
			name:      "cognito",
			args:      auth.AuthArgs{PoolName: "shop-test-users"},
			wantPools: 1,
		},
		{
			name:      "cognito protected",
			args:      auth.AuthArgs{Protect: true, MFA: "ON"},
			wantPools: 1,
		},
		{
			name:          "external issuer",
			args:          auth.AuthArgs{External: &auth.External{Issuer: "https://login.example.com/", Audiences: []string{"shop-api"}}},
			wantIssuer:    "https://login.example.com/",
			wantAudiences: []string{"shop-api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := awsmock.New("shop", "test")
			var issuer string
			var audiences []string
			if err := m.Run(func(ctx *pulumi.Context) error {
				a, err := auth.NewAuth(ctx, "auth", &tt.args)
				if err != nil {
					return err
				}
				awsmock.Capture(ctx, "issuer", a.Issuer, &issuer)
				awsmock.Capture(ctx, "audiences", a.Audiences, &audiences)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tt.wantPools == 1 {
				// The pool's own issuer and app client, as Cognito names them.
				pool, client := m.OfType("aws:cognito/userPool:UserPool"), m.OfType("aws:cognito/userPoolClient:UserPoolClient")
				if len(pool) != 1 || len(client) != 1 {
					t.Fatalf("%d pools, %d clients", len(pool), len(client))
				}
				tt.wantIssuer = "https://cognito-idp.eu-central-1.amazonaws.com/" + pool[0].ID
				tt.wantAudiences = []string{client[0].ID}
			}
			if issuer != tt.wantIssuer || strings.Join(audiences, ",") != strings.Join(tt.wantAudiences, ",") {
				t.Errorf("issuer %q audiences %v, want %q %v", issuer, audiences, tt.wantIssuer, tt.wantAudiences)
			}
			pools := m.OfType("aws:cognito/userPool:UserPool")
			if len(pools) != tt.wantPools {
				t.Fatalf("%d pools", len(pools))
			}
			if tt.wantPools == 0 {
				return
			}
			pool := pools[0]
			wantDeletion := map[bool]string{true: "ACTIVE", false: "INACTIVE"}[tt.args.Protect]
			if pool.Inputs["deletionProtection"] != wantDeletion || pool.Protect != tt.args.Protect || pool.RetainOnDelete != tt.args.Protect {
				t.Errorf("pool protection: %v protect=%v retain=%v", pool.Inputs["deletionProtection"], pool.Protect, pool.RetainOnDelete)
			}
			if p := pool.Inputs["passwordPolicy"].(map[string]any); p["minimumLength"] != 12.0 {
				t.Errorf("password policy = %v", p)
			}
			group, ok := m.Named("aws:cognito/userGroup:UserGroup", "auth-admin-group")
			if !ok || group.Inputs["name"] != "admin" {
				t.Errorf("admin group = %v", group.Inputs)
			}
			client, _ := m.Named("aws:cognito/userPoolClient:UserPoolClient", "auth-client")
			if client.Inputs["generateSecret"] != false {
				t.Errorf("client = %v", client.Inputs)
			}
		})
	}
}

func TestAuthValidation(t *testing.T) {
	urls := pulumi.ToStringArray([]string{"https://shop.example.com/"})
	tests := []struct {
		name string
		args auth.AuthArgs
		want string
	}{
		{"http issuer", auth.AuthArgs{External: &auth.External{Issuer: "http://x", Audiences: []string{"a"}}}, "https"},
		{"no audience", auth.AuthArgs{External: &auth.External{Issuer: "https://x"}}, "audience"},
		{"bad MFA", auth.AuthArgs{MFA: "SMS"}, "MFA"},
		{"token lifetime", auth.AuthArgs{AccessTokenMinutes: 2}, "lifetime"},
		{"threat protection", auth.AuthArgs{ThreatProtection: "ON"}, "threat protection"},
		{"reserved prefix", auth.AuthArgs{SignIn: &auth.SignIn{DomainPrefix: "shop-cognito", CallbackURLs: urls, SignOutURLs: urls, Scopes: []string{"openid"}}}, "domain prefix"},
		{"upper-case prefix", auth.AuthArgs{SignIn: &auth.SignIn{DomainPrefix: "Shop", CallbackURLs: urls, SignOutURLs: urls, Scopes: []string{"openid"}}}, "domain prefix"},
		{"no openid", auth.AuthArgs{SignIn: &auth.SignIn{DomainPrefix: "shop", CallbackURLs: urls, SignOutURLs: urls, Scopes: []string{"email"}}}, "openid"},
		{"no callbacks", auth.AuthArgs{SignIn: &auth.SignIn{DomainPrefix: "shop", Scopes: []string{"openid"}}}, "callback"},
		{"external", auth.AuthArgs{External: &auth.External{Issuer: "https://x", Audiences: []string{"a"}}, SignIn: &auth.SignIn{DomainPrefix: "shop", CallbackURLs: urls, SignOutURLs: urls, Scopes: []string{"openid"}}}, "external"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awsmock.New("shop", "test").Run(func(ctx *pulumi.Context) error {
				_, err := auth.NewAuth(ctx, "auth", &tt.args)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAuthHostedSignIn(t *testing.T) {
	m := awsmock.New("shop", "test")
	var origin string
	if err := m.Run(func(ctx *pulumi.Context) error {
		a, err := auth.NewAuth(ctx, "auth", &auth.AuthArgs{
			MFA:              "ON",
			ThreatProtection: auth.ThreatProtectionEnforced,
			SignIn: &auth.SignIn{
				DomainPrefix: "shop-test",
				CallbackURLs: pulumi.ToStringArray([]string{"https://d111111abcdef8.cloudfront.net/auth/callback"}),
				SignOutURLs:  pulumi.ToStringArray([]string{"https://d111111abcdef8.cloudfront.net/"}),
				Scopes:       []string{"openid", "email", "profile"},
			},
		})
		if err != nil {
			return err
		}
		awsmock.Capture(ctx, "origin", a.SignInOrigin, &origin)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if origin != "https://shop-test.auth.eu-central-1.amazoncognito.com" {
		t.Errorf("sign-in origin = %q", origin)
	}
	pool, _ := m.Named("aws:cognito/userPool:UserPool", "auth-pool")
	domain, ok := m.Named("aws:cognito/userPoolDomain:UserPoolDomain", "auth-domain")
	if !ok || domain.Inputs["domain"] != "shop-test" || domain.Inputs["userPoolId"] != pool.ID {
		t.Errorf("domain = %v", domain.Inputs)
	}
	client, _ := m.Named("aws:cognito/userPoolClient:UserPoolClient", "auth-client")
	want := map[string]any{
		"generateSecret":                  false,
		"allowedOauthFlowsUserPoolClient": true,
		"allowedOauthFlows":               []any{"code"},
		"allowedOauthScopes":              []any{"openid", "email", "profile"},
		"supportedIdentityProviders":      []any{"COGNITO"},
		"callbackUrls":                    []any{"https://d111111abcdef8.cloudfront.net/auth/callback"},
		"logoutUrls":                      []any{"https://d111111abcdef8.cloudfront.net/"},
		"accessTokenValidity":             60.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(client.Inputs[k], v) {
			t.Errorf("client %s = %v, want %v", k, client.Inputs[k], v)
		}
	}
	if pool.Inputs["mfaConfiguration"] != "ON" || !reflect.DeepEqual(pool.Inputs["softwareTokenMfaConfiguration"], map[string]any{"enabled": true}) {
		t.Errorf("MFA = %v %v", pool.Inputs["mfaConfiguration"], pool.Inputs["softwareTokenMfaConfiguration"])
	}
	if pool.Inputs["userPoolTier"] != "PLUS" || !reflect.DeepEqual(pool.Inputs["userPoolAddOns"], map[string]any{"advancedSecurityMode": "ENFORCED"}) {
		t.Errorf("threat protection = %v %v", pool.Inputs["userPoolTier"], pool.Inputs["userPoolAddOns"])
	}
}

func TestAuthWithoutSignInHasNoOAuth(t *testing.T) {
	m := awsmock.New("shop", "test")
	if err := m.Run(func(ctx *pulumi.Context) error {
		_, err := auth.NewAuth(ctx, "auth", &auth.AuthArgs{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(m.OfType("aws:cognito/userPoolDomain:UserPoolDomain")); n != 0 {
		t.Errorf("%d domains", n)
	}
	client, _ := m.Named("aws:cognito/userPoolClient:UserPoolClient", "auth-client")
	pool, _ := m.Named("aws:cognito/userPool:UserPool", "auth-pool")
	if client.Inputs["allowedOauthFlows"] != nil || pool.Inputs["userPoolAddOns"] != nil || pool.Inputs["userPoolTier"] != nil {
		t.Errorf("client %v, pool add-ons %v", client.Inputs, pool.Inputs["userPoolAddOns"])
	}
}
