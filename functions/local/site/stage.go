package site

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/shop-serverless/shop/functions/local/stage"
	"github.com/shop-serverless/shop/storefront/hosting"
)

// StageOptions configure a local stage with its storefront.
type StageOptions struct {
	// Stage configures the API's stage; its CORSOrigins gain the site's origin.
	Stage stage.Options
	// Addr is where the site listens; empty: a free loopback port.
	Addr string
	// Dir is the storefront's build, "storefront/dist".
	Dir string
}

// Stage is a local stage with the storefront served on its own origin.
type Stage struct {
	*stage.Stage
	// SiteURL is the storefront's origin, "http://127.0.0.1:5173".
	SiteURL string
	srv     *http.Server
}

// StartStage starts the site's listener first, so its origin is known to the API's CORS
// configuration, then the stage, then serves the storefront pointed at that stage.
func StartStage(ctx context.Context, o StageOptions) (*Stage, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("site: listen on %s: %w", addr, err)
	}
	s := &Stage{SiteURL: "http://" + ln.Addr().String()}
	o.Stage.CORSOrigins = append(o.Stage.CORSOrigins, s.SiteURL)
	st, err := stage.Start(ctx, o.Stage)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.Stage = st
	h, err := Handler(ForStage(st, os.DirFS(o.Dir)))
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// ForStage is the site's options on a local stage: the API, images and uploads of st, and
// sign-in through its POST /_local/token.
func ForStage(st *stage.Stage, files fs.FS) Options {
	api := origin(st.URL)
	return Options{
		Files: files,
		Config: hosting.Config{
			APIBaseURL:    st.URL,
			ImagesBaseURL: st.ImagesBaseURL(),
			Auth:          hosting.Auth{Mode: hosting.AuthLocal},
		},
		Origins: hosting.Origins{API: api, Images: origin(st.ImagesBaseURL()), Uploads: origin(st.S3URL())},
	}
}

// origin is the origin of a URL the stage made itself, so always well-formed.
func origin(u string) string {
	o, err := hosting.Origin(u)
	if err != nil {
		return ""
	}
	return o
}

// Close stops the site and the stage.
func (s *Stage) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.Stage.Close()
}
