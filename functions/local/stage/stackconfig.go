package stage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
)

// stackSettings are what the local stage takes from a stack's configuration file, so its
// functions run configured and sized as the program configures and sizes them there.
type stackSettings struct {
	LogLevel  string
	CartTTL   string
	Functions manifest.FunctionsConfig
}

// readStack reads Pulumi.<stack>.yaml at the module's root: shop:logLevel, shop:cartTtl and
// shop:functions, with the program's defaults where it sets none.
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
		project + ":logLevel":  &out.LogLevel,
		project + ":cartTtl":   &out.CartTTL,
		project + ":functions": &out.Functions,
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
