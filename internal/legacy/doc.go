// Package legacy serves the seed-era surface that scripts written for the older cloud
// service still call (DESIGN §3): account and tenant discovery under /cloudrpa/api/ and
// /{org}/portal_/api/filtering/leftnav/, authorised with an id_token as those scripts send
// it (or an access token), and the username/password login /api/account/authenticate with
// its per-tenant switch and sunset date, answering in the ABP envelope.
//
// Tokens, passwords and the legacy rules belong to the identity service; this package
// resolves organizations and tenants, reads the requests as the old clients shape them and
// renders the answers, every refusal saying which rule applied and what to use instead.
package legacy
