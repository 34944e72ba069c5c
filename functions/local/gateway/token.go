package gateway

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

var subjectPattern = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,128}$`)

// TokenHandler serves POST /_local/token: {"sub": "alice", "groups": ["admin"]} -> {"token": "<JWT>"}.
// It exists on the local stage only; in the cloud, tokens come from the user pool.
func TokenHandler(issuer *Issuer, ttl time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Sub    string   `json:"sub"`
			Groups []string `json:"groups"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || !subjectPattern.MatchString(in.Sub) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
				"code": "invalid_request", "message": `send {"sub": "<1..128 of A-Z a-z 0-9 _ . @ ->", "groups": ["admin"]}`}})
			return
		}
		for _, g := range in.Groups {
			if !subjectPattern.MatchString(g) {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{
					"code": "invalid_request", "message": "each group must be 1..128 of A-Z a-z 0-9 _ . @ -"}})
				return
			}
		}
		token, err := issuer.Issue(in.Sub, in.Groups, ttl)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{
				"code": "internal", "message": "could not sign the token"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"token": token})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
