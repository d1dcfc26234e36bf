// Package identity is OpenOrch's OAuth 2.0 / OpenID Connect provider, served under
// /identity_/ and /{org}/identity_/ (DESIGN §3–4): signing keys and their JWKS, discovery,
// the token endpoint, and the verification of access tokens that the Orchestrator API uses
// (locally, with a deny-list kept current across nodes, never a database read per request).
// The seed-era Auth0-style sign-in (/authorize, /oauth/token with JSON bodies, /mobile) and
// user keys run on the same machinery (seed.go, userkeys.go).
//
// Every refusal says why: token endpoint errors are RFC 6749 JSON whose error_description
// names the exact cause.
package identity
