package hosting

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestConfigMarshal(t *testing.T) {
	c := Config{
		APIBaseURL:    "https://abc123.execute-api.eu-west-1.amazonaws.com",
		ImagesBaseURL: "https://d111111abcdef8.cloudfront.net",
		Auth: Auth{Mode: AuthCognito, Cognito: &Cognito{
			Domain:      "https://shop-dev.auth.eu-west-1.amazoncognito.com",
			ClientID:    "1example23456789",
			RedirectURI: "https://d222222abcdef8.cloudfront.net/auth/callback",
			SignOutURI:  "https://d222222abcdef8.cloudfront.net/",
			Scopes:      []string{"openid", "email", "profile"},
		}},
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiBaseUrl":    "https://abc123.execute-api.eu-west-1.amazonaws.com",
		"imagesBaseUrl": "https://d111111abcdef8.cloudfront.net",
		"auth": map[string]any{
			"mode": "cognito",
			"cognito": map[string]any{
				"domain":      "https://shop-dev.auth.eu-west-1.amazoncognito.com",
				"clientId":    "1example23456789",
				"redirectUri": "https://d222222abcdef8.cloudfront.net/auth/callback",
				"signOutUri":  "https://d222222abcdef8.cloudfront.net/",
				"scopes":      []any{"openid", "email", "profile"},
			},
		},
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("config.json = %s", b)
	}
	again, _ := c.Marshal()
	if string(again) != string(b) {
		t.Error("the same settings gave two files")
	}

	local, err := Config{APIBaseURL: "http://127.0.0.1:8080", ImagesBaseURL: "http://127.0.0.1:8080/_local/images", Auth: Auth{Mode: AuthLocal}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(local) != "{\n  \"apiBaseUrl\": \"http://127.0.0.1:8080\",\n  \"imagesBaseUrl\": \"http://127.0.0.1:8080/_local/images\",\n  \"auth\": {\n    \"mode\": \"local\"\n  }\n}\n" {
		t.Errorf("local config.json = %s", local)
	}
}

func TestConfigMarshalRefusesIncomplete(t *testing.T) {
	base := Config{APIBaseURL: "https://a.example", ImagesBaseURL: "https://i.example"}
	for name, c := range map[string]Config{
		"no api":        {ImagesBaseURL: "https://i.example", Auth: Auth{Mode: AuthLocal}},
		"no mode":       base,
		"unknown mode":  {APIBaseURL: base.APIBaseURL, ImagesBaseURL: base.ImagesBaseURL, Auth: Auth{Mode: "basic"}},
		"cognito empty": {APIBaseURL: base.APIBaseURL, ImagesBaseURL: base.ImagesBaseURL, Auth: Auth{Mode: AuthCognito}},
		"cognito no client": {APIBaseURL: base.APIBaseURL, ImagesBaseURL: base.ImagesBaseURL, Auth: Auth{Mode: AuthCognito, Cognito: &Cognito{
			Domain: "https://d.example", RedirectURI: "https://s.example/auth/callback", SignOutURI: "https://s.example/", Scopes: []string{"openid"},
		}}},
	} {
		if _, err := c.Marshal(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
