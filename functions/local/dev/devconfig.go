package main

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/shop-serverless/shop/functions/local/gateway"
	"github.com/shop-serverless/shop/functions/manifest"
)

// devLimits reads the dev stack's limits from its stack file, so that `make dev` refuses
// what dev refuses: the edge's per-address rules (shop:edge) and the per-user limits
// (shop:userLimits).
func devLimits(path string) (*gateway.AddressRates, map[string]manifest.UserLimit, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var f struct {
		Config struct {
			Edge struct {
				WindowSeconds        int `yaml:"windowSeconds"`
				RatePerAddress       int `yaml:"ratePerAddress"`
				OrdersRatePerAddress int `yaml:"ordersRatePerAddress"`
			} `yaml:"shop:edge"`
			UserLimits map[string]manifest.UserLimit `yaml:"shop:userLimits"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	e := f.Config.Edge
	if e.WindowSeconds <= 0 || e.RatePerAddress <= 0 || e.OrdersRatePerAddress <= 0 {
		return nil, nil, fmt.Errorf("%s: shop:edge needs windowSeconds, ratePerAddress and ordersRatePerAddress", path)
	}
	limits := map[string]manifest.UserLimit{}
	for k, v := range manifest.DefaultUserLimits {
		limits[k] = v
	}
	for k, v := range f.Config.UserLimits {
		limits[k] = v
	}
	if _, err := manifest.ParseUserLimits(manifest.UserLimitsSetting(limits)); err != nil {
		return nil, nil, fmt.Errorf("%s: shop:userLimits: %w", path, err)
	}
	return &gateway.AddressRates{Window: time.Duration(e.WindowSeconds) * time.Second,
		PerAddress: e.RatePerAddress, OrdersPerAddress: e.OrdersRatePerAddress}, limits, nil
}
