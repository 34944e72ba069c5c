package stage_test

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/shop-serverless/shop/functions/internal/origin"
	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/functions/manifest"
)

// localOnly are the variables that point a function at the local servers, with the local
// credentials: the cloud's Lambda gets its region, credentials and endpoints from Lambda
// itself, and authenticates to the cache with IAM tokens, not a password.
func localOnly(k string) bool {
	return strings.HasPrefix(k, "AWS_") || strings.TrimPrefix(k, manifest.LimiterEnvPrefix) == manifest.EnvRedisPassword
}

// cloudOnly are the cache's IAM authentication (the token's cache name and kind), which the
// local Redis replaces with a password.
var cloudOnly = []string{manifest.EnvRedisIAMCache, manifest.EnvRedisServerless}

// endpoints are variables whose values are endpoints or credentials of the local servers:
// the cache's address, TLS and user, the images' public URL (CloudFront's), the bucket (the
// mocks name it by its resource).
var endpoints = []string{manifest.EnvRedisAddr, manifest.EnvRedisTLS, manifest.EnvRedisUser,
	manifest.EnvImagesBaseURL, manifest.EnvImagesBucket}

// In Lambda mode each function's environment is, key by key, the one the Pulumi program
// sets on its Lambda in the dev stack's graph snapshot, with the local stage's names for
// its resources (shop-local-… for shop-dev-…), apart from the endpoints and credentials
// that point at the local servers.
func TestLambdaEnvironmentIsTheProgramsDevEnvironment(t *testing.T) {
	if st.Runtime() != stage.Lambda {
		t.Skipf("the stage runs %s; this checks Lambda mode's environments", st.Runtime())
	}
	raw, err := os.ReadFile("../../../stacks/testdata/dev.graph.json")
	if err != nil {
		t.Fatal(err)
	}
	var graph []struct {
		Type   string `json:"type"`
		Inputs struct {
			Name        string `json:"name"`
			Environment struct {
				Variables map[string]string `json:"variables"`
			} `json:"environment"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(raw, &graph); err != nil {
		t.Fatal(err)
	}
	cloud := map[string]map[string]string{}
	for _, r := range graph {
		if r.Type == "aws:lambda/function:Function" {
			cloud[strings.TrimPrefix(r.Inputs.Name, "shop-dev-")] = r.Inputs.Environment.Variables
		}
	}
	checked := 0
	for _, fn := range manifest.Functions {
		want, ok := cloud[fn.Name]
		if !ok {
			t.Errorf("%s: no Lambda in the dev snapshot", fn.Name)
			continue
		}
		if !slices.Contains(st.LambdaFunctions(), fn.Name) {
			continue
		}
		checked++
		got := st.EnvVars(fn)
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if _, ok := want[k]; !ok && !localOnly(k) {
				t.Errorf("%s: %s=%q is not in the program's environment", fn.Name, k, got[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			v, ok := got[k]
			// The limiter user's connection is named like the cache's, under its prefix.
			base := strings.TrimPrefix(k, manifest.LimiterEnvPrefix)
			switch {
			case k == manifest.EnvUserLimits:
				// The suites' stage sets generous limits (stage.Options.UserLimits), so that
				// their floods test what they are about; the limits' tests set their own.
				if !ok {
					t.Errorf("%s: %s (%q in the cloud) is missing", fn.Name, k, want[k])
				}
			case k == manifest.EnvOriginVerifiers:
				// A secret in the program's state; locally the verifier of the stage's own
				// secret, new every run.
				if want[k] != "[secret]" {
					t.Errorf("%s: %s=%q in the snapshot, want it kept secret", fn.Name, k, want[k])
				}
				if _, err := origin.New(v); !ok || err != nil {
					t.Errorf("%s: %s=%q: %v", fn.Name, k, v, err)
				}
			case slices.Contains(cloudOnly, base):
				if ok {
					t.Errorf("%s: %s=%q: the local cache authenticates by password", fn.Name, k, v)
				}
			case !ok:
				t.Errorf("%s: %s (%q in the cloud) is missing", fn.Name, k, want[k])
			case slices.Contains(endpoints, base):
			case v != strings.ReplaceAll(want[k], "shop-dev", "shop-local"):
				t.Errorf("%s: %s=%q, the program sets %q", fn.Name, k, v, want[k])
			}
		}
	}
	if checked < len(st.LambdaFunctions()) {
		t.Errorf("checked %d functions of %d", checked, len(st.LambdaFunctions()))
	}
}
