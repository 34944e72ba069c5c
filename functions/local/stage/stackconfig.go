package stage

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/manifest"
)

// stackSettings are what the local stage takes from a stack's configuration file, so its
// functions run configured and sized as the program configures and sizes them there.
type stackSettings struct {
	LogLevel  string
	CartTTL   string
	Functions manifest.FunctionsConfig
	// Edge and UserLimits are shop:edge and shop:userLimits, as StackLimits returns them.
	Edge struct {
		WindowSeconds        int `json:"windowSeconds"`
		RatePerAddress       int `json:"ratePerAddress"`
		OrdersRatePerAddress int `json:"ordersRatePerAddress"`
	}
	UserLimits map[string]manifest.UserLimit
}

// StackLimits are the limits of the stack the stage runs as (Pulumi.dev.yaml): the edge's
// per-address rules (shop:edge) and the per-user limits (shop:userLimits, with the defaults
// where it sets none), so that `make dev` and the benchmarks refuse what dev refuses. The
// stage applies neither unless given them (Options.EdgeRates, Options.UserLimits).
func StackLimits() (*gateway.AddressRates, map[string]manifest.UserLimit, error) {
	stack, err := readStack(stackName)
	if err != nil {
		return nil, nil, err
	}
	e := stack.Edge
	if e.WindowSeconds <= 0 || e.RatePerAddress <= 0 || e.OrdersRatePerAddress <= 0 {
		return nil, nil, fmt.Errorf("Pulumi.%s.yaml: %s:edge needs windowSeconds, ratePerAddress and ordersRatePerAddress", stackName, project)
	}
	limits := maps.Clone(manifest.DefaultUserLimits)
	maps.Copy(limits, stack.UserLimits)
	if _, err := manifest.ParseUserLimits(manifest.UserLimitsSetting(limits)); err != nil {
		return nil, nil, fmt.Errorf("Pulumi.%s.yaml: %s:userLimits: %w", stackName, project, err)
	}
	return &gateway.AddressRates{Window: time.Duration(e.WindowSeconds) * time.Second,
		PerAddress: e.RatePerAddress, OrdersPerAddress: e.OrdersRatePerAddress}, limits, nil
}

// readStack reads Pulumi.<stack>.yaml at the module's root: shop:logLevel, shop:cartTtl,
// shop:functions, shop:edge and shop:userLimits, with the program's defaults where it sets none.
func readStack(stack string) (stackSettings, error) {
	out := stackSettings{LogLevel: manifest.DefaultLogLevel, CartTTL: manifest.DefaultCartTTL}
	wd, err := os.Getwd()
	if err != nil {
		return out, err
	}
	root, err := gofunc.FindModuleRoot(wd)
	if err != nil {
		return out, err
	}
	path := filepath.Join(root, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	for key, dst := range map[string]any{
		project + ":logLevel":   &out.LogLevel,
		project + ":cartTtl":    &out.CartTTL,
		project + ":functions":  &out.Functions,
		project + ":edge":       &out.Edge,
		project + ":userLimits": &out.UserLimits,
	} {
		v, ok := file.Config[key]
		if !ok {
			continue
		}
		// The program decodes config values as JSON; so does this.
		b, err := json.Marshal(v)
		if err == nil {
			err = json.Unmarshal(b, dst)
		}
		if err != nil {
			return out, fmt.Errorf("%s: %s: %w", path, key, err)
		}
	}
	return out, nil
}
