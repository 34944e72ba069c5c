package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/shop-serverless/shop/components/awsmock"
	"github.com/shop-serverless/shop/components/gofunc"
)

var update = flag.Bool("update", false, "rewrite the graph snapshots in testdata/")

// stacks are the committed stack files, each tested under mocks.
var stacks = []string{"dev", "prod"}

// graphNode is one registered resource in a graph snapshot.
type graphNode struct {
	URN            string `json:"urn"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	Parent         string `json:"parent"`
	Custom         bool   `json:"custom"`
	Protect        bool   `json:"protect"`
	RetainOnDelete bool   `json:"retainOnDelete"`
	// Provider is the explicit provider managing the resource (us-east-1 for the web ACL);
	// absent: the stack's default provider.
	Provider string         `json:"provider,omitempty"`
	Inputs   map[string]any `json:"inputs"`
}

// moduleRoot is the repository root (the program runs from stacks/).
func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// stackConfig reads Pulumi.<stack>.yaml as the engine hands it to a program: every value a
// string, objects and lists as JSON. Encrypted values ("secure: ...") cannot be decrypted
// here, so they become placeholders and their keys are reported as secret.
func stackConfig(t testing.TB, stack string) (map[string]string, []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot(t), "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return withOriginSecret(parseStackConfig(t, raw))
}

// testOriginSecret stands in for each stack's shop:originSecret, which is set per stack with
// `pulumi config set --secret` and so is in no committed stack file.
const testOriginSecret = "test-origin-secret-0123456789abcdef"

// withOriginSecret adds testOriginSecret, as a secret, where cfg has no origin secret.
func withOriginSecret(cfg map[string]string, secrets []string) (map[string]string, []string) {
	key := project + ":" + originSecretKey
	if _, ok := cfg[key]; !ok {
		cfg[key] = testOriginSecret
		secrets = append(secrets, key)
		sort.Strings(secrets)
	}
	return cfg, secrets
}

func parseStackConfig(t testing.TB, raw []byte) (map[string]string, []string) {
	t.Helper()
	var file struct {
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	var secrets []string
	for key, node := range file.Config {
		var v any
		if err := node.Decode(&v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		secret := false
		v = replaceSecure(key, v, &secret)
		if secret {
			secrets = append(secrets, key)
		}
		switch x := v.(type) {
		case string:
			cfg[key] = x
		case bool:
			cfg[key] = strconv.FormatBool(x)
		case int:
			cfg[key] = strconv.Itoa(x)
		case float64:
			cfg[key] = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			cfg[key] = string(b)
		}
	}
	sort.Strings(secrets)
	return cfg, secrets
}

// replaceSecure swaps every {secure: ciphertext} for a placeholder naming its key.
func replaceSecure(key string, v any, secret *bool) any {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["secure"]; ok && len(x) == 1 {
			*secret = true
			return "placeholder-for-" + strings.ReplaceAll(key, ":", "-")
		}
		for k, e := range x {
			x[k] = replaceSecure(key, e, secret)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceSecure(key, e, secret)
		}
	}
	return v
}

// siteFixture is a small storefront build the graphs are made with, so the snapshots change
// with the hosting, not with every change of the app.
const siteFixture = "testdata/site-dist"

// fakeCompile stands in for `go build`: the program test checks the graph, not the binaries
// (gofunc's tests build for real), and stays fast and machine-independent.
func fakeCompile(_ context.Context, _, pkgDir, out string) error {
	return os.WriteFile(out, []byte("fake bootstrap of "+filepath.ToSlash(pkgDir)+"\n"), 0o755)
}

// runStack runs the program for a stack file under mocks and returns the recorded graph and
// the stack's outputs.
func runStack(t testing.TB, stack string) (*awsmock.Mocks, map[string]any) {
	t.Helper()
	cfg, secrets := stackConfig(t, stack)
	return runWithConfig(t, stack, cfg, secrets)
}

// setEngineConfig hands cfg and the secret keys to the program as the engine does: in the
// PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS environment variables, which the SDK reads.
func setEngineConfig(t testing.TB, cfg map[string]string, secrets []string) {
	t.Helper()
	for name, v := range map[string]any{pulumi.EnvConfig: cfg, pulumi.EnvConfigSecretKeys: secrets} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(name, string(b))
	}
}

func runWithConfig(t testing.TB, stack string, cfg map[string]string, secrets []string) (*awsmock.Mocks, map[string]any) {
	t.Helper()
	setEngineConfig(t, cfg, secrets)
	root := moduleRoot(t)
	m := awsmock.New(project, stack)
	m.PathBase = root
	var outputs map[string]any
	err := m.Run(func(ctx *pulumi.Context) error {
		c, err := loadConfig(ctx)
		if err != nil {
			return err
		}
		outs, err := deploy(ctx, c, options{Compile: fakeCompile, Root: root, SiteDir: siteFixture})
		if err != nil {
			return err
		}
		awsmock.Capture(ctx, "outputs", pulumi.Map(outs).ToMapOutput(), &outputs)
		return nil
	})
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return m, outputs
}

// graph renders the recorded resources as a snapshot: sorted by URN, indented, stable.
func graph(t testing.TB, m *awsmock.Mocks) []byte {
	t.Helper()
	var nodes []graphNode
	seen := map[string]bool{}
	for _, r := range m.Resources() {
		if seen[r.URN] {
			t.Fatalf("URN registered twice: %s", r.URN)
		}
		seen[r.URN] = true
		nodes = append(nodes, graphNode{
			URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent,
			Custom: r.Custom, Protect: r.Protect, RetainOnDelete: r.RetainOnDelete, Provider: r.Provider, Inputs: r.Inputs,
		})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(nodes); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGraphSnapshots runs the program for every committed stack file and compares the graph
// with testdata/<stack>.graph.json; -update rewrites the snapshots.
func TestGraphSnapshots(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			m, _ := runStack(t, stack)
			got := graph(t, m)
			again, _ := runStack(t, stack)
			if !bytes.Equal(got, graph(t, again)) {
				t.Fatal("two runs of the same program recorded different graphs")
			}
			path := filepath.Join("testdata", stack+".graph.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./stacks/... -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("graph of %s differs from %s (review, then go test ./stacks/... -update):\n%s", stack, path, firstDiff(want, got))
			}
		})
	}
}

// firstDiff shows where two snapshots part, with a little context.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i < len(w) && i < len(g) && w[i] == g[i] {
			continue
		}
		var b strings.Builder
		for j := max(0, i-3); j < i+4; j++ {
			if j < len(w) && (j >= len(g) || w[j] != g[j]) {
				fmt.Fprintf(&b, "%5d - %s\n", j+1, w[j])
			}
			if j < len(g) && (j >= len(w) || w[j] != g[j]) {
				fmt.Fprintf(&b, "%5d + %s\n", j+1, g[j])
			}
			if j < len(w) && j < len(g) && w[j] == g[j] {
				fmt.Fprintf(&b, "%5d   %s\n", j+1, w[j])
			}
		}
		return b.String()
	}
	return "(no line differs)"
}
