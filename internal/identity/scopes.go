package identity

import (
	"slices"
	"strings"
)

// User-flow scopes that are always grantable (DESIGN §4), never to client_credentials.
var userOnlyScopes = []string{"openid", "profile", "email", "offline_access"}

// orAreas are the areas of the Orchestrator scopes (OR.Area, OR.Area.Read, OR.Area.Write)
// that discovery lists and the API access page offers for personal access tokens.
var orAreas = []string{"Administration", "Assets", "Audit", "BackgroundTasks", "Execution", "Folders", "Jobs", "License",
	"Machines", "Monitoring", "Queues", "Robots", "Settings", "Users", "Webhooks"}

// RobotScopes are what a machine's robots may ask for; the Robot role limits them further.
var RobotScopes = []string{"OR.Robots", "OR.Jobs", "OR.Queues", "OR.Assets", "OR.Execution", "OR.Monitoring", "OR.Folders"}

// scopeAllowed reports whether a registration covers a requested scope: the scope itself,
// or its broad form ("OR.Jobs" covers "OR.Jobs.Read" and "OR.Jobs.Write").
func scopeAllowed(registered []string, want string) bool {
	if slices.Contains(registered, want) {
		return true
	}
	for _, suffix := range []string{".Read", ".Write"} {
		if base, ok := strings.CutSuffix(want, suffix); ok && slices.Contains(registered, base) {
			return true
		}
	}
	return false
}

// grantClientScopes decides the scopes of a client_credentials token: the requested ones
// (an empty request means every registered scope), each covered by the registration.
func grantClientScopes(clientName string, registered []string, requested string) ([]string, *oauthError) {
	want := strings.Fields(requested)
	if len(want) == 0 {
		if len(registered) == 0 {
			return nil, oauthErr("invalid_scope", "client %s has no application scopes registered, so client_credentials can grant nothing; register scopes such as OR.Jobs for it", clientName)
		}
		return slices.Clone(registered), nil
	}
	var out []string
	for _, s := range want {
		switch {
		case s == "offline_access":
			return nil, oauthErr("invalid_scope", "offline_access is not available with client_credentials: the client asks for a new token with its secret instead of using a refresh token")
		case slices.Contains(userOnlyScopes, s):
			return nil, oauthErr("invalid_scope", "scope %s belongs to user sign-in flows; client_credentials has no user", s)
		case !scopeAllowed(registered, s):
			return nil, oauthErr("invalid_scope", "scope %s is not registered for %s (registered: %s)", s, clientName, strings.Join(registered, " "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}
