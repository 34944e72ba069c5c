package main

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shop-serverless/shop/components/gofunc"
	"github.com/shop-serverless/shop/functions/local/chromium"
	"github.com/shop-serverless/shop/functions/local/servers"
	"github.com/shop-serverless/shop/functions/local/site"
	"github.com/shop-serverless/shop/functions/local/stage"
)

// firstCardRuns is how many fresh navigations time the first product card.
const firstCardRuns = 5

//go:embed firstcard.js
var firstCardScript string

// runStorefront serves the built storefront on a seeded local stage and measures its catalog
// and product pages with Lighthouse, the JavaScript the catalog page loads, and the time to
// the first product card against the time to first byte.
func runStorefront(ctx context.Context, r *Report) error {
	root, err := gofunc.FindModuleRoot(".")
	if err != nil {
		return err
	}
	tools, err := servers.ToolsDir()
	if err != nil {
		return err
	}
	lighthouse := filepath.Join(tools, "lighthouse", "node_modules", "lighthouse", "cli", "index.js")
	playwright := filepath.Join(root, "storefront", "node_modules", "playwright-core")
	for path, hint := range map[string]string{
		lighthouse:    "make bench installs lighthouse into .tools/lighthouse",
		playwright:    "make storefront installs the storefront's packages",
		chromium.Path: "make chromium installs Debian's chromium",
		filepath.Join(root, "storefront", "dist", "index.html"): "make storefront builds it",
	} {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s is missing: %s", path, hint)
		}
	}
	st, err := site.StartStage(ctx, site.StageOptions{
		Stage: stage.Options{Seed: true, Logger: slog.New(slog.DiscardHandler), Runtime: stage.InProcess},
		Dir:   filepath.Join(root, "storefront", "dist"),
	})
	if err != nil {
		return err
	}
	defer st.Close()
	productID, err := firstProduct(ctx, st.URL)
	if err != nil {
		return err
	}
	s := &Storefront{Pages: map[string]PageScores{}}
	dir, err := os.MkdirTemp("", "bench-lighthouse-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var catalog *lighthouseReport
	for _, p := range []struct{ name, path string }{{"catalog", "/"}, {"product", "/p/" + url.PathEscape(productID)}} {
		lr, err := runLighthouse(ctx, lighthouse, st.SiteURL+p.path, filepath.Join(dir, p.name+".json"))
		if err != nil {
			return fmt.Errorf("lighthouse %s: %w", p.name, err)
		}
		s.Pages[p.name] = lr.scores()
		if p.name == "catalog" {
			catalog = lr
		}
	}
	if s.CatalogJS, err = gzippedScripts(ctx, catalog.scriptURLs()); err != nil {
		return err
	}
	for _, a := range s.CatalogJS {
		s.CatalogJSGzipBytes += a.GzipBytes
	}
	if s.FirstCard, err = timeFirstCard(ctx, playwright, st.SiteURL+"/"); err != nil {
		return err
	}
	r.Storefront = s
	return nil
}

// firstProduct is the first product of the seeded catalog, the product page's subject.
func firstProduct(ctx context.Context, apiURL string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/products?limit=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var page struct {
		Items []struct {
			ProductID string `json:"productId"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Items) == 0 {
		return "", fmt.Errorf("first product: status %d, %v", resp.StatusCode, err)
	}
	return page.Items[0].ProductID, nil
}

// lighthouseReport is the part of Lighthouse's JSON report the bench reads.
type lighthouseReport struct {
	Categories map[string]struct {
		Score *float64 `json:"score"`
	} `json:"categories"`
	Audits struct {
		NetworkRequests struct {
			Details struct {
				Items []struct {
					URL          string `json:"url"`
					ResourceType string `json:"resourceType"`
				} `json:"items"`
			} `json:"details"`
		} `json:"network-requests"`
	} `json:"audits"`
}

func (lr *lighthouseReport) scores() PageScores {
	score := func(name string) float64 {
		if c, ok := lr.Categories[name]; ok && c.Score != nil {
			return *c.Score * 100
		}
		return 0
	}
	return PageScores{Performance: score("performance"), Accessibility: score("accessibility"), BestPractices: score("best-practices")}
}

func (lr *lighthouseReport) scriptURLs() []string {
	var out []string
	for _, it := range lr.Audits.NetworkRequests.Details.Items {
		if it.ResourceType == "Script" {
			out = append(out, it.URL)
		}
	}
	return out
}

// runLighthouse runs Lighthouse's default (mobile, simulated throttling) on one page.
func runLighthouse(ctx context.Context, cli, pageURL, out string) (*lighthouseReport, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", cli, pageURL,
		"--output=json", "--output-path="+out, "--quiet",
		"--only-categories=performance,accessibility,best-practices",
		"--chrome-flags="+strings.Join(chromium.Flags, " "))
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chromium.Path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 5))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var lr lighthouseReport
	if err := json.Unmarshal(raw, &lr); err != nil {
		return nil, err
	}
	if len(lr.Categories) != 3 {
		return nil, fmt.Errorf("report has %d categories, want 3", len(lr.Categories))
	}
	return &lr, nil
}

// gzippedScripts downloads each script and sizes it gzipped, as CloudFront compresses it;
// largest first.
func gzippedScripts(ctx context.Context, urls []string) ([]Asset, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("the catalog page loaded no script")
	}
	var out []Asset
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: status %d, %v", u, resp.StatusCode, err)
		}
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		_, _ = w.Write(body)
		_ = w.Close()
		path := u
		if parsed, err := url.Parse(u); err == nil {
			path = parsed.Path
		}
		out = append(out, Asset{Path: path, Bytes: len(body), GzipBytes: gz.Len()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GzipBytes > out[j].GzipBytes })
	return out, nil
}

// timeFirstCard runs firstcard.js: fresh navigations timed in the page itself.
func timeFirstCard(ctx context.Context, playwright, pageURL string) (FirstCard, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "-e", firstCardScript)
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chromium.Path, "CHROME_FLAGS="+strings.Join(chromium.Flags, " "), "PLAYWRIGHT_CORE="+playwright,
		"FIRSTCARD_URL="+pageURL, fmt.Sprintf("FIRSTCARD_RUNS=%d", firstCardRuns))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return FirstCard{}, fmt.Errorf("first card: %w: %s", err, lastLines(stderr.String(), 5))
	}
	var runs []struct {
		TTFBMs      float64 `json:"ttfbMs"`
		FirstCardMs float64 `json:"firstCardMs"`
	}
	if err := json.Unmarshal(out, &runs); err != nil || len(runs) != firstCardRuns {
		return FirstCard{}, fmt.Errorf("first card: output %q: %v", out, err)
	}
	var ttfb, card []float64
	for _, r := range runs {
		ttfb = append(ttfb, r.TTFBMs)
		card = append(card, r.FirstCardMs)
	}
	return FirstCard{Runs: len(runs), TTFBP50Ms: median(ttfb), FirstCardP50Ms: median(card)}, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
