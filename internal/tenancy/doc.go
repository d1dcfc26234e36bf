// Package tenancy holds the organisation model of OpenOrch: organizations, their tenants
// and folder trees, the principals that act in them (users, external applications,
// machines), roles with permissions, and the memberships that tie them together.
//
// It answers one question for the rest of the server: which permissions does a principal
// have in a given tenant or folder (see Access).
package tenancy
