// Package api is the Orchestrator API: the OData entity sets and actions under
// /{org}/{tenant}/orchestrator_/odata/… (and the older /{org}/{tenant}/odata/… layout),
// wire-compatible with UiPath Orchestrator Cloud.
//
// Every call goes through one path: resolve the organization and tenant from the URL,
// authenticate the bearer token (identity JWTs and personal access tokens), match the
// OData path against the route table, resolve the folder context from the X-UIPATH-*
// headers when the route is folder-scoped, and check both the token's scope and the
// principal's permission before the handler runs. Errors are rendered in one place, in the
// format of the layout the caller used (DESIGN §5), and always say exactly what is wrong.
//
// The answers are described apart from the routes, by the entity model (model.go): each
// entity set's DTO, key and navigation properties. The $metadata document and the service
// document are made from it, and $select and $expand shape answers by it, loading each
// expanded navigation once for a whole page.
package api
