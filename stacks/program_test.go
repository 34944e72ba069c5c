package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
	"github.com/shop-serverless/shop/functions/tables"
)

var buildFunctions = flag.Bool("build-functions", false, "really cross-compile every function under functions/ (slow)")

// TestFunctionEnvironment: each function gets exactly the variables it needs, named as
// functions/manifest and functions/tables name them.
func TestFunctionEnvironment(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, m *awsmock.Mocks) {
		for _, spec := range manifest.Functions {
			fn, ok := m.Named("aws:lambda/function:Function", spec.Name+"-function")
			if !ok {
				t.Fatalf("function %s missing", spec.Name)
			}
			env, _ := get(fn.Inputs, "environment", "variables").(map[string]any)
			want := []string{manifest.EnvLogLevel}
			for _, tb := range spec.TablesUsed() {
				want = append(want, tb.EnvVar)
				if env[tb.EnvVar] != "shop-"+stack+"-"+tb.Name {
					t.Errorf("%s: %s = %v", spec.Name, tb.EnvVar, env[tb.EnvVar])
				}
			}
			if len(spec.Bucket) > 0 {
				want = append(want, manifest.EnvImagesBucket, manifest.EnvImagesBaseURL)
				if base, _ := env[manifest.EnvImagesBaseURL].(string); !strings.HasPrefix(base, "https://") || strings.HasSuffix(base, "/") {
					t.Errorf("%s: %s = %q", spec.Name, manifest.EnvImagesBaseURL, base)
				}
			}
			if spec.Cache != nil {
				want = append(want, manifest.EnvRedisAddr, manifest.EnvRedisTLS, manifest.EnvRedisCluster,
					manifest.EnvRedisUser, manifest.EnvRedisIAMCache, manifest.EnvRedisServerless)
				if env[manifest.EnvRedisIAMCache] != "shop-"+stack+"-cache" || env[manifest.EnvRedisUser] != "shop-"+stack+"-cache-"+spec.Name {
					t.Errorf("%s: cache identity %v / %v", spec.Name, env[manifest.EnvRedisIAMCache], env[manifest.EnvRedisUser])
				}
				if addr, _ := env[manifest.EnvRedisAddr].(string); !strings.HasSuffix(addr, ":6379") {
					t.Errorf("%s: %s = %q", spec.Name, manifest.EnvRedisAddr, addr)
				}
				if env[manifest.EnvRedisCluster] != env[manifest.EnvRedisServerless] {
					t.Errorf("%s: cluster mode must follow serverless", spec.Name)
				}
			}
			if spec.LimiterAccess() != nil {
				want = append(want, manifest.EnvUserLimits)
				for _, k := range []string{manifest.EnvRedisAddr, manifest.EnvRedisTLS, manifest.EnvRedisCluster,
					manifest.EnvRedisUser, manifest.EnvRedisIAMCache, manifest.EnvRedisServerless} {
					want = append(want, manifest.LimiterEnvPrefix+k)
				}
				if env[manifest.LimiterEnvPrefix+manifest.EnvRedisUser] != "shop-"+stack+"-cache-"+spec.LimiterUser() {
					t.Errorf("%s: limiter identity %v", spec.Name, env[manifest.LimiterEnvPrefix+manifest.EnvRedisUser])
				}
				if _, err := manifest.ParseUserLimits(fmt.Sprint(env[manifest.EnvUserLimits])); err != nil {
					t.Errorf("%s: %v", spec.Name, err)
				}
			}
			if spec.Name == manifest.Cart {
				want = append(want, manifest.EnvCartTTL)
			}
			if spec.ChecksOrigin() {
				want = append(want, manifest.EnvOriginVerifiers)
			}
			got := slices.Sorted(maps.Keys(env))
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s environment %v, want %v", spec.Name, got, want)
			}
			if _, inVPC := fn.Inputs["vpcConfig"]; inVPC != spec.UsesCache() {
				t.Errorf("%s in VPC = %v, uses the cache = %v", spec.Name, inVPC, spec.UsesCache())
			}
		}
		esm := m.OfType("aws:lambda/eventSourceMapping:EventSourceMapping")
		if len(esm) != 1 || esm[0].Name != manifest.Invalidator+"-stream" ||
			!strings.Contains(esm[0].Inputs["eventSourceArn"].(string), "table/shop-"+stack+"-"+tables.Products.Name+"/stream/") {
			t.Errorf("invalidator is not fed by the products stream: %v", esm)
		}
		for _, p := range m.OfType("aws:lambda/permission:Permission") {
			if strings.HasPrefix(p.Name, "api-"+manifest.Invalidator) {
				t.Error("the invalidator is reachable from the API")
			}
		}
	})
}

func TestExports(t *testing.T) {
	forEachStack(t, func(t *testing.T, stack string, _ *awsmock.Mocks) {
		out := exports[stack]
		for _, k := range []string{"apiUrl", "imagesUrl", "cacheEndpoint", "userPoolId", "userPoolClientId", "jwtIssuer", "alarmTopicArn"} {
			if s, _ := out[k].(string); s == "" {
				t.Errorf("export %s = %v", k, out[k])
			}
		}
		for _, def := range tables.All {
			if out[def.Name+"Table"] != "shop-"+stack+"-"+def.Name {
				t.Errorf("export %sTable = %v", def.Name, out[def.Name+"Table"])
			}
		}
		if u, _ := out["apiUrl"].(string); !strings.HasPrefix(u, "https://") {
			t.Errorf("apiUrl = %q", u)
		}
		// The OpenAPI document of the stage: every route, served by the stage's API.
		var doc struct {
			Servers []struct{ URL string }
			Paths   map[string]map[string]any
		}
		if s, _ := out["openapi"].(string); json.Unmarshal([]byte(s), &doc) != nil {
			t.Fatalf("export openapi is not a JSON document: %.200v", out["openapi"])
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != out["apiUrl"] {
			t.Errorf("export openapi's servers %v, want the stage's apiUrl %v", doc.Servers, out["apiUrl"])
		}
		ops := 0
		for _, methods := range doc.Paths {
			ops += len(methods)
		}
		if ops != len(manifest.All) {
			t.Errorf("export openapi has %d operations, the route table %d", ops, len(manifest.All))
		}
	})
}

// TestPackageRealFunctions cross-compiles every function under functions/ exactly as
// `pulumi up` does. It is opt-in (-build-functions) because it compiles the AWS SDK for
// arm64; gofunc's own tests always build a fixture for real.
func TestPackageRealFunctions(t *testing.T) {
	if !*buildFunctions {
		t.Skip("run with -build-functions to cross-compile every function")
	}
	names := make([]string, len(manifest.Functions))
	for i, f := range manifest.Functions {
		names[i] = f.Name
	}
	p := &gofunc.Packager{Root: moduleRoot(t)}
	paths, err := p.PackageAll(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		t.Logf("%s -> %s", n, paths[n])
	}
}
