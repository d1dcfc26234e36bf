package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"
)

// The ways `orch login` signs in; a profile remembers its way, which decides how its
// tokens are renewed and how `orch logout` revokes them.
const (
	methodBrowser           = "browser"            // authorization code + PKCE, loopback redirect
	methodDevice            = "device"             // device authorization grant
	methodClientCredentials = "client_credentials" // an external application's id and secret
	methodPAT               = "pat"                // a personal access token, used as it is
	methodUserKey           = "user_key"           // a user key, exchanged at /oauth/token
)

// credentialsFile is the client's saved sign-ins: named profiles.
type credentialsFile struct {
	Profiles map[string]*profile `json:"profiles"`
}

// profile is one saved sign-in to one tenant.
type profile struct {
	URL    string `json:"url"` // the server's address
	Org    string `json:"org"`
	Tenant string `json:"tenant"`
	Method string `json:"method"`
	// ClientID is the OAuth client: orch-cli, an external app, or the user-key client.
	ClientID     string `json:"clientId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// Subject is who signed in, for messages: an email, "app X", …
	Subject string `json:"subject,omitempty"`
	// Token is the current access token and, for browser and device sign-ins, the refresh
	// token; for a user key, RefreshToken is the key itself (oauth2 refreshes with it),
	// and for a PAT, AccessToken is the PAT.
	Token *oauth2.Token `json:"token"`
}

// credStore is the credentials file in a directory only its owner may read.
type credStore struct{ dir string }

func (s credStore) path() string { return filepath.Join(s.dir, "credentials.json") }

// load reads the file; a missing file is an empty one.
func (s credStore) load() (*credentialsFile, error) {
	f := &credentialsFile{Profiles: map[string]*profile{}}
	data, err := os.ReadFile(s.path())
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the credentials: %w", err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("the credentials file %s is not valid JSON (%v): fix it, or delete it and run `orch login` again", s.path(), err)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]*profile{}
	}
	return f, nil
}

// update runs fn on the file under an exclusive lock and saves it when fn says it
// changed: concurrent commands (two `orch token` in one script) then never spend the same
// rotating refresh token twice, which the server would take for theft.
func (s credStore) update(fn func(f *credentialsFile) (changed bool, err error)) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create the credentials directory: %w", err)
	}
	unlock, err := lockFile(filepath.Join(s.dir, ".credentials.lock"))
	if err != nil {
		return fmt.Errorf("lock the credentials: %w", err)
	}
	defer unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	changed, err := fn(f)
	if err != nil || !changed {
		return err
	}
	return s.save(f)
}

// save writes the file atomically with mode 0600: a crash leaves the old or the new one.
func (s credStore) save(f *credentialsFile) error {
	for _, p := range f.Profiles {
		if p.Token != nil {
			p.Token.ExpiresIn = 0 // relative to when it was received: Expiry says it for good
		}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".credentials-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("save the credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save the credentials: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save the credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save the credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save the credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path()); err != nil {
		return fmt.Errorf("save the credentials: %w", err)
	}
	return nil
}
