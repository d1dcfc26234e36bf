package api

import (
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/identity"
)

// swagger serves GET /{org}/{tenant}/orchestrator_/swagger/v20.0/swagger.json: an OpenAPI 3
// document made from the route table the server routes by (and the identity service's
// administration routes), so it cannot drift from what is served.
func (a *API) swagger(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, layout: layoutCurrent}
	if e := a.resolveTenant(c); e != nil {
		render(w, r, layoutCurrent, e)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, a.openAPI(c.base, a.public+"/"+c.org.Name))
}

type object = map[string]any

func (a *API) openAPI(base, orgBase string) object {
	identityBase := a.public + "/identity_"
	paths := object{}
	add := func(path, method string, op object) {
		p, _ := paths[path].(object)
		if p == nil {
			p = object{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = op
	}
	for _, rt := range a.Routes() {
		var scopes []string
		for _, area := range []string{rt.Scope, rt.AltScope} {
			if area == "" {
				continue
			}
			suffix := ".Write"
			if rt.Method == http.MethodGet {
				suffix = ".Read"
			}
			scopes = append(scopes, area, area+suffix)
		}
		op := object{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"security":    []object{{"OAuth2": scopes}},
			"responses": object{
				"200": object{"description": "OK"},
				"400": object{"description": "Invalid request (errorCode 1000), or folder required (1101)"},
				"401": object{"description": "No usable token: the body and WWW-Authenticate say why"},
				"403": object{"description": "A scope or permission is missing, or the folder is unknown or not yours (1100)"},
				"404": object{"description": "Not found (1002)"},
			},
			"x-openorch-permission": rt.Perm,
			"x-openorch-folder":     rt.Folder,
		}
		var params []object
		if strings.Contains(rt.Path, "{key}") {
			params = append(params, object{"name": "key", "in": "path", "required": true, "schema": object{"type": "string"}})
		}
		if rt.Folder != "none" {
			for _, h := range []string{hdrFolderID, hdrFolderKey, hdrFolderPath, hdrFolderPathEnc} {
				params = append(params, object{"name": h, "in": "header", "required": false, "schema": object{"type": "string"},
					"description": "The folder (one of the four headers; required when x-openorch-folder is required)"})
			}
		}
		if rt.Method == http.MethodGet && !strings.Contains(rt.Path, "(") && !strings.Contains(rt.Path, "UiPath.") {
			for _, o := range []string{"$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand"} {
				params = append(params, object{"name": o, "in": "query", "required": false, "schema": object{"type": "string"}})
			}
		}
		if params != nil {
			op["parameters"] = params
		}
		add(rt.Path, rt.Method, op)
	}
	for _, rt := range identity.AdminRoutes() {
		path := strings.Replace(rt.Path, "/{org}", "", 1)
		op := object{
			"summary":  rt.Summary,
			"security": []object{{"OAuth2": []string{"IdentityServerApi"}}, {"OAuth2": []string{"OrchestratorApiUserAccess"}}},
			"servers":  []object{{"url": orgBase}},
			"responses": object{"200": object{"description": "OK"}, "401": object{"description": "No usable token"},
				"403": object{"description": "Not allowed"}},
			"x-openorch-org-admin": rt.OrgAdmin,
		}
		if strings.Contains(path, "{id}") {
			op["parameters"] = []object{{"name": "id", "in": "path", "required": true, "schema": object{"type": "string"}}}
		}
		add(path, rt.Method, op)
	}
	scopes := object{"OrchestratorApiUserAccess": "every OR scope, as the signed-in user (roles still apply)"}
	for _, rt := range a.Routes() {
		for _, area := range []string{rt.Scope, rt.AltScope} {
			if area != "" {
				scopes[area] = "read and write " + strings.TrimPrefix(area, "OR.")
				scopes[area+".Read"] = "read " + strings.TrimPrefix(area, "OR.")
				scopes[area+".Write"] = "write " + strings.TrimPrefix(area, "OR.")
			}
		}
	}
	return object{
		"openapi": "3.0.3",
		"info": object{"title": "OpenOrch Orchestrator API", "version": "20.0",
			"description": "Wire-compatible with UiPath Orchestrator Cloud's OData API. Actions answer under both UiPath.Server.Configuration.OData. and UiPathODataSvc."},
		"servers": []object{{"url": base}},
		"paths":   paths,
		"components": object{"securitySchemes": object{"OAuth2": object{
			"type": "oauth2",
			"flows": object{
				"clientCredentials": object{"tokenUrl": identityBase + "/connect/token", "scopes": scopes},
				"authorizationCode": object{"authorizationUrl": identityBase + "/connect/authorize",
					"tokenUrl": identityBase + "/connect/token", "scopes": scopes},
			},
		}}},
	}
}

func operationID(rt RouteInfo) string {
	name := strings.NewReplacer("/odata/", "", "({key})", "_ById", "/UiPath.Server.Configuration.OData.", "_", "/", "_").Replace(rt.Path)
	return rt.Method + "_" + name
}
