// Package awsmock runs Pulumi programs under mocks that answer like the AWS provider would
// (ARNs, endpoints, ids shaped as AWS shapes them) and records every registered resource,
// components included, so tests can assert on the graph and snapshot it.
//
// Every value the mock invents is derived from the resource's name and inputs, never from
// time or randomness, so two runs of the same program record the same graph.
package awsmock

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Defaults of the mocked account.
const (
	DefaultRegion  = "eu-central-1"
	DefaultAccount = "123456789012"
)

// Secret is what a secret input is recorded as.
const Secret = "[secret]"

// Mocks implements pulumi.MockResourceMonitor and records the resources a program registers.
type Mocks struct {
	// Project and Stack name the run; URNs are built from them.
	Project, Stack string
	// Region and Account shape the invented ARNs and endpoints.
	Region, Account string
	// PathBase, when set, makes recorded asset and archive paths under it relative to it, so a
	// recorded graph does not depend on where the repository is checked out.
	PathBase string

	mu        sync.Mutex
	resources []Resource
	// regions are the regions of the explicit providers, by provider reference ("urn::id").
	regions map[string]string
}

// New returns mocks for the project and stack in the default region and account.
func New(project, stack string) *Mocks {
	return &Mocks{Project: project, Stack: stack, Region: DefaultRegion, Account: DefaultAccount}
}

// Resource is one registered resource as the engine would have received it.
type Resource struct {
	URN            string
	Type           string
	Name           string
	Parent         string
	Custom         bool
	Protect        bool
	RetainOnDelete bool
	// Provider is the URN of the explicit provider the resource is managed by; empty: the
	// stack's default provider.
	Provider string
	// Region is where the resource lives: its provider's region, else Mocks.Region.
	Region string
	// ID is the id the mock answered for a custom resource; empty for components.
	ID string
	// Outputs are the custom resource's state as the mock answered it: inputs and computed
	// properties (ARNs, endpoints), as plain values like Inputs.
	Outputs map[string]any
	// Inputs are plain JSON-like values keyed by the provider's property names; secrets are
	// Secret, archives {"archive": path}, assets {"asset": path or text}, references the URN.
	Inputs map[string]any
}

// Run runs program under these mocks; extra options (WithConfig) come after the mocks.
func (m *Mocks) Run(program pulumi.RunFunc, opts ...pulumi.RunOption) error {
	all := append([]pulumi.RunOption{pulumi.WithMocks(m.Project, m.Stack, m)}, opts...)
	return pulumi.RunErr(program, all...)
}

// WithConfig sets the run's configuration ("ns:key" -> value, objects as JSON) and which keys
// hold secrets, as the engine passes them to a program.
func WithConfig(config map[string]string, secretKeys []string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	}
}

// Resources returns every recorded resource sorted by URN.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// OfType returns the recorded resources of one type token, sorted by URN.
func (m *Mocks) OfType(typ string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Named returns the recorded resource of the given type and name.
func (m *Mocks) Named(typ, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// ChildrenOf returns the resources whose parent is urn.
func (m *Mocks) ChildrenOf(urn string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Parent == urn {
			out = append(out, r)
		}
	}
	return out
}

// NewResource records the registration and answers the outputs the provider would compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rec := Resource{
		Type:   args.TypeToken,
		Name:   args.Name,
		Custom: args.Custom,
		Inputs: m.plainMap(args.Inputs),
	}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Parent = rpc.GetParent()
		rec.Protect = rpc.GetProtect()
		rec.RetainOnDelete = rpc.GetRetainOnDelete()
	}
	rec.URN = m.urn(rec.Parent, rec.Type, rec.Name)
	rec.Region = m.Region
	if args.Provider != "" {
		m.mu.Lock()
		rec.Provider = providerURN(args.Provider)
		if r, ok := m.regions[args.Provider]; ok {
			rec.Region = r
		}
		m.mu.Unlock()
	}
	id, state := "", resource.PropertyMap{}
	if args.Custom {
		var err error
		if id, state, err = m.outputs(args.TypeToken, args.Name, rec.Region, args.Inputs); err != nil {
			return "", nil, err
		}
		rec.ID, rec.Outputs = id, m.plainMap(state)
	}
	m.mu.Lock()
	m.resources = append(m.resources, rec)
	if strings.HasPrefix(rec.Type, providerType) {
		if m.regions == nil {
			m.regions = map[string]string{}
		}
		region, _ := rec.Inputs["region"].(string)
		m.regions[rec.URN+"::"+id] = region
	}
	m.mu.Unlock()
	return id, state, nil
}

// providerType prefixes the type token of explicit providers ("pulumi:providers:aws").
const providerType = "pulumi:providers:"

// providerURN is the URN part of a provider reference, "<urn>::<id>".
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

// Call answers the provider functions (invokes) the shop's program uses.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": m.Account,
			"arn":       fmt.Sprintf("arn:aws:iam::%s:user/mock", m.Account),
			"userId":    "AIDAMOCK",
			"id":        m.Account,
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": m.Region, "id": m.Region}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		var names, ids []any
		for i, s := range []string{"a", "b", "c"} {
			names = append(names, m.Region+s)
			ids = append(ids, fmt.Sprintf("euc1-az%d", i+1))
		}
		return resource.NewPropertyMapFromMap(map[string]any{"names": names, "zoneIds": ids, "id": m.Region}), nil
	}
	return nil, fmt.Errorf("awsmock: no mock for invoke %s", args.Token)
}

func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.Stack), tokens.PackageName(m.Project), parentType, tokens.Type(typ), name))
}

// Plain converts a property value into plain JSON-like values (see Resource.Inputs).
func (m *Mocks) plain(v resource.PropertyValue) any {
	switch {
	case v.IsNull():
		return nil
	case v.IsSecret():
		return Secret
	case v.IsComputed(), v.IsOutput() && !v.OutputValue().Known:
		return "[unknown]"
	case v.IsOutput():
		if v.OutputValue().Secret {
			return Secret
		}
		return m.plain(v.OutputValue().Element)
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := make([]any, 0, len(v.ArrayValue()))
		for _, e := range v.ArrayValue() {
			out = append(out, m.plain(e))
		}
		return out
	case v.IsObject():
		return m.plainMap(v.ObjectValue())
	case v.IsArchive():
		a := v.ArchiveValue()
		switch {
		case a.Path != "":
			return map[string]any{"archive": m.relative(a.Path)}
		case a.URI != "":
			return map[string]any{"archive": a.URI}
		}
		assets := map[string]any{}
		for k, e := range a.Assets {
			assets[k] = fmt.Sprint(e)
		}
		return map[string]any{"archive": assets}
	case v.IsAsset():
		a := v.AssetValue()
		switch {
		case a.Path != "":
			return map[string]any{"asset": m.relative(a.Path)}
		case a.URI != "":
			return map[string]any{"asset": a.URI}
		}
		return map[string]any{"asset": a.Text}
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return fmt.Sprint(v.V)
}

func (m *Mocks) plainMap(pm resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range pm {
		if v.IsNull() {
			continue
		}
		out[string(k)] = m.plain(v)
	}
	return out
}

func (m *Mocks) relative(path string) string {
	if m.PathBase == "" || !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(m.PathBase, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// Capture stores out's resolved value in dst before Run returns, for assertions on outputs.
// The run awaits it as a stack export, so no apply is left running when Run returns.
func Capture[T any](ctx *pulumi.Context, key string, out pulumi.Output, dst *T) {
	ctx.Export("awsmock:"+key, out.ApplyT(func(v T) T {
		*dst = v
		return v
	}))
}

// Get walks nested inputs or outputs: Get(in, "a", "b") is in["a"]["b"], nil where a step is
// missing or not an object.
func Get(in map[string]any, path ...string) any {
	var v any = in
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
