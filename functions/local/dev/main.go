// Command dev runs the shop locally on real servers (`make dev`): Redis, DynamoDB Local and
// s3rver on free loopback ports, the sample catalog, the gateway on $ADDR
// (default 127.0.0.1:8080) and the storefront (storefront/dist, which make builds) on
// $SITE_ADDR (default 127.0.0.1:5173), until interrupted.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shop-serverless/shop/functions/local/site"
	"github.com/shop-serverless/shop/functions/local/stage"
)

var runtimeText = map[stage.Runtime]string{
	stage.Lambda:    "Lambda does: their bootstrap binaries under aws-lambda-rie, one request per environment",
	stage.InProcess: "handlers inside this process (SHOP_RUNTIME=inprocess)",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)

	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	siteAddr := os.Getenv("SITE_ADDR")
	if siteAddr == "" {
		siteAddr = "127.0.0.1:5173"
	}
	edgeRates, userLimits, err := stage.StackLimits()
	if err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "starting Redis, DynamoDB Local and s3rver ...")
	st, err := site.StartStage(ctx, site.StageOptions{
		Stage: stage.Options{Addr: addr, Seed: true, SeedImages: true, Logger: log, FunctionLog: os.Stderr,
			EdgeRates: edgeRates, UserLimits: userLimits},
		Addr: siteAddr,
		Dir:  "storefront/dist",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
	defer st.Close()

	admin, _ := st.Token("admin", "admin")
	redisUser, redisPassword := st.RedisAdmin()
	u := st.URL
	fmt.Printf(`
The storefront is at %[6]s

The shop's API is running at %[1]s (Redis %[2]s, DynamoDB Local %[3]s, s3rver %[4]s).

  curl -s %[1]s/health
  curl -s '%[1]s/products?category=books&limit=5'
  curl -si %[1]s/products/books-01        # twice: X-Cache: miss, then hit
  curl -s -X POST %[1]s/_local/token -d '{"sub":"alice"}'
  curl -s -X POST %[1]s/_local/token -d '{"sub":"admin","groups":["admin"]}'

An admin token for the next hour (POST /_local/token issues more):
  export ADMIN_TOKEN=%[5]s

Redis has no default user; the functions connect as their own users. To look inside:
  redis-cli -p %[7]d --user %[8]s --pass %[9]s

The functions run as %[10]s; set SHOP_RUNTIME=inprocess to call their handlers in this
process instead. Each environment's lines are prefixed [function n].

Press Ctrl-C to stop; every server stops with it.
`, u, st.Servers.Redis.Addr, st.Servers.DynamoDB.Addr, st.Servers.S3.Addr, admin, st.SiteURL,
		st.Servers.Redis.Port(), redisUser, redisPassword, runtimeText[st.Runtime()])

	if st.Runtime() == stage.Lambda {
		go reportEnvironments(ctx, st.Stage)
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping ...")
	printEnvironments(st.Stage)
}

// reportEnvironments prints how many environments each function has started whenever the
// counts change: a cold start shows as one more.
func reportEnvironments(ctx context.Context, st *stage.Stage) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now := environments(st); now != last {
			fmt.Fprintln(os.Stderr, now)
			last = now
		}
	}
}

func printEnvironments(st *stage.Stage) {
	if st.Runtime() == stage.Lambda {
		fmt.Fprintln(os.Stderr, environments(st))
	}
}

// environments is one line: each function's environments started (cold starts), running
// and idle.
func environments(st *stage.Stage) string {
	counts := st.Environments()
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		c := counts[name]
		parts = append(parts, fmt.Sprintf("%s %d (%d up, %d of them idle)", name, c.Started, c.Running, c.Idle))
	}
	return "environments started (cold starts): " + strings.Join(parts, ", ")
}
