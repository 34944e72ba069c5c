package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/manifest"
)

// Price is one list price the cost model uses, with where and when it was published.
type Price struct {
	USD    float64 `json:"usd"`
	Unit   string  `json:"unit"`
	Region string  `json:"region"`
	Date   string  `json:"date"`
	Source string  `json:"source"`
}

// Prices are the on-demand list prices of what a request uses, first tier, in the stacks'
// region where it was published (eu-central-1) and in us-east-1 where that is the figure at
// hand. Check the sources before budgeting: prices change.
var Prices = struct {
	APIRequest, LambdaRequest, LambdaGBSecond, ReadUnit, WriteUnit,
	CacheECPU, CacheGBHour, CacheNodeMicroHour, CacheNodeLargeHour,
	CDNRequest, CDNGB Price
}{
	APIRequest: Price{1.20e-6, "HTTP API request", "eu-central-1", "2025-01-01",
		"https://aws.amazon.com/api-gateway/pricing/"},
	LambdaRequest: Price{0.20e-6, "Lambda request", "eu-central-1", "2025-01-01",
		"https://aws.amazon.com/lambda/pricing/"},
	LambdaGBSecond: Price{0.0000133334, "Lambda GB-second on arm64", "eu-central-1", "2025-01-01",
		"https://aws.amazon.com/lambda/pricing/"},
	ReadUnit: Price{0.1525e-6, "DynamoDB on-demand read request unit", "eu-central-1", "2024-11-14",
		"https://aws.amazon.com/dynamodb/pricing/on-demand/"},
	WriteUnit: Price{0.7625e-6, "DynamoDB on-demand write request unit", "eu-central-1", "2024-11-14",
		"https://aws.amazon.com/dynamodb/pricing/on-demand/"},
	CacheECPU: Price{0.0023e-6, "ElastiCache Serverless for Valkey ECPU", "us-east-1", "2024-10-08",
		"https://aws.amazon.com/elasticache/pricing/"},
	CacheGBHour: Price{0.084, "ElastiCache Serverless for Valkey GB-hour stored", "us-east-1", "2024-10-08",
		"https://aws.amazon.com/elasticache/pricing/"},
	CacheNodeMicroHour: Price{0.0144, "cache.t4g.micro Valkey node-hour (dev)", "eu-central-1", "2024-10-08",
		"https://aws.amazon.com/elasticache/pricing/"},
	CacheNodeLargeHour: Price{0.2064, "cache.r7g.large Valkey node-hour (prod, 2 nodes)", "eu-central-1", "2024-10-08",
		"https://aws.amazon.com/elasticache/pricing/"},
	CDNRequest: Price{1.20e-6, "CloudFront HTTPS request (Europe)", "Europe", "2025-01-01",
		"https://aws.amazon.com/cloudfront/pricing/"},
	CDNGB: Price{0.085, "CloudFront data transfer out per GB (Europe, first 10 TB)", "Europe", "2025-01-01",
		"https://aws.amazon.com/cloudfront/pricing/"},
}

// nodeHours are the node-based cache's prices by node type.
var nodeHours = map[string]Price{
	"cache.t4g.micro": Prices.CacheNodeMicroHour,
	"cache.r7g.large": Prices.CacheNodeLargeHour,
}

// Stack is what the cost model needs of a stage's configuration (Pulumi.<stage>.yaml):
// the catalog's and orders' memory, and the cache's fixed node-hours.
type Stack struct {
	Name                string
	CatalogMB, OrdersMB int
	// CacheNodes of CacheNodeHour each, whatever they serve (0: serverless, per ECPU).
	CacheNodes    int
	CacheNodeHour Price
}

// loadStack reads Pulumi.<name>.yaml at the module root: the functions' memory (defaults,
// then the function's override, 256 MB when unset, as the program resolves it) and the cache.
func loadStack(name string) (Stack, error) {
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		return Stack{}, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "Pulumi."+name+".yaml"))
	if err != nil {
		return Stack{}, err
	}
	type sizes struct {
		MemoryMB int `yaml:"memoryMb"`
	}
	var file struct {
		Config struct {
			Functions struct {
				Defaults  sizes            `yaml:"defaults"`
				Overrides map[string]sizes `yaml:"overrides"`
			} `yaml:"shop:functions"`
			Cache struct {
				Mode     string `yaml:"mode"`
				NodeType string `yaml:"nodeType"`
				Nodes    int    `yaml:"nodes"`
			} `yaml:"shop:cache"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return Stack{}, fmt.Errorf("Pulumi.%s.yaml: %w", name, err)
	}
	f := file.Config.Functions
	memory := func(fn string) int {
		for _, mb := range []int{f.Overrides[fn].MemoryMB, f.Defaults.MemoryMB} {
			if mb > 0 {
				return mb
			}
		}
		return 256
	}
	st := Stack{Name: name, CatalogMB: memory(manifest.Catalog), OrdersMB: memory(manifest.Orders)}
	if c := file.Config.Cache; c.Mode == "nodes" {
		p, ok := nodeHours[c.NodeType]
		if !ok {
			return Stack{}, fmt.Errorf("Pulumi.%s.yaml: no price for cache node type %q", name, c.NodeType)
		}
		st.CacheNodes, st.CacheNodeHour = c.Nodes, p
	}
	return st, nil
}

// Work is what requests used, as a scenario measured it.
type Work struct {
	Requests int64 `json:"requests"`
	// BilledMs is the sum of the requests' durations, each rounded up to 1 ms as Lambda bills.
	BilledMs float64 `json:"billed_ms"`
	// ReadUnits and WriteUnits are DynamoDB's, as the local endpoint metered them.
	ReadUnits  float64 `json:"read_units"`
	WriteUnits float64 `json:"write_units"`
	// CacheCalls are Redis commands: an ECPU each (a command moving up to 1 KB).
	CacheCalls int64 `json:"cache_calls"`
	// ResponseBytes are what the API sent back, for the CDN's transfer.
	ResponseBytes int64 `json:"response_bytes"`
}

// Cost is Work priced for a stack's function memory, in USD, by item.
type Cost struct {
	API      float64 `json:"api"`
	Lambda   float64 `json:"lambda"`
	DynamoDB float64 `json:"dynamodb"`
	Cache    float64 `json:"cache"`
	CDN      float64 `json:"cdn"`
	Total    float64 `json:"total"`
}

// price applies the prices to w for functions of memoryMB; behindCDN adds CloudFront's
// request and transfer in front of the API.
func price(w Work, memoryMB int, behindCDN bool) Cost {
	c := Cost{
		API:      float64(w.Requests) * Prices.APIRequest.USD,
		Lambda:   float64(w.Requests)*Prices.LambdaRequest.USD + w.BilledMs/1000*float64(memoryMB)/1024*Prices.LambdaGBSecond.USD,
		DynamoDB: w.ReadUnits*Prices.ReadUnit.USD + w.WriteUnits*Prices.WriteUnit.USD,
		Cache:    float64(w.CacheCalls) * Prices.CacheECPU.USD,
	}
	if behindCDN {
		c.CDN = float64(w.Requests)*Prices.CDNRequest.USD + float64(w.ResponseBytes)/(1<<30)*Prices.CDNGB.USD
	}
	c.Total = c.API + c.Lambda + c.DynamoDB + c.Cache + c.CDN
	return c
}

// scaled is c times f (per million reads, per thousand orders).
func (c Cost) scaled(f float64) Cost {
	return Cost{API: c.API * f, Lambda: c.Lambda * f, DynamoDB: c.DynamoDB * f, Cache: c.Cache * f, CDN: c.CDN * f, Total: c.Total * f}
}
