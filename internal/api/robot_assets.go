package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// robotAssetRoutes: how a robot's process reads an asset with its value, a Credential's
// password and a Secret's value included (the only answer that carries them).
func (a *API) robotAssetRoutes() []route {
	const summary = "An asset of the folder with its value, passwords and secrets included, for a robot: robotKey (the robot's Key) " +
		"and assetName; only the tokens of that robot's machine (or of its jobs) may call it."
	return []route{
		{Method: "GET", Set: "Assets", Action: "GetRobotAssetByNameForRobotKey", Scope: "OR.Assets", Perm: "Assets.View",
			Folder: folderRequired, Handle: getRobotAsset, Summary: "GetRobotAssetByNameForRobotKey(robotKey='…',assetName='…'): " + summary},
		{Method: "POST", Set: "Assets", Action: "GetRobotAssetByNameForRobotKey", Scope: "OR.Assets", Perm: "Assets.View",
			Folder: folderRequired, Handle: getRobotAsset, Summary: "{\"robotKey\",\"assetName\"}: " + summary},
	}
}

// userAssetDTO is UiPath's UserAssetDto.
type userAssetDTO struct {
	ID                 int64    `json:"Id"`
	Name               string   `json:"Name"`
	ValueType          string   `json:"ValueType"`
	StringValue        string   `json:"StringValue"`
	BoolValue          bool     `json:"BoolValue"`
	IntValue           int64    `json:"IntValue"`
	SecretValue        string   `json:"SecretValue"`
	CredentialUsername string   `json:"CredentialUsername"`
	CredentialPassword string   `json:"CredentialPassword"`
	KeyValueList       []string `json:"KeyValueList"`
}

// getRobotAsset serves …/Assets/…GetRobotAssetByNameForRobotKey.
func getRobotAsset(a *API, c *call) *apiError {
	robotKey, name := c.path.Params["robotkey"], c.path.Params["assetname"]
	if c.r.Method == http.MethodPost {
		var in struct {
			RobotKey  string `json:"robotKey"`
			AssetName string `json:"assetName"`
		}
		if e := bind(c, &in); e != nil {
			return e
		}
		robotKey, name = in.RobotKey, in.AssetName
	}
	robotKey, name = strings.TrimSpace(robotKey), strings.TrimSpace(name)
	if robotKey == "" || name == "" {
		return invalid("GetRobotAssetByNameForRobotKey needs robotKey (the robot's Key) and assetName")
	}
	if c.who.principal.Kind != tenancy.PrincipalMachine {
		return because("not_robot", forbidden("GetRobotAssetByNameForRobotKey is for robots: %s is no robot; read assets with GET odata/Assets", c.who.name))
	}
	r, err := a.st.RobotGetByKey(c.ctx(), c.tenant.ID, robotKey)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("robot with Key %s does not exist in tenant %s", robotKey, c.tenant.Name)
	} else if err != nil {
		return internalError(c.r, err)
	}
	if r.MachineID != c.who.principal.ID {
		return because("not_robot", forbidden("robot %s is not a robot of the caller's machine", r.Name))
	}
	as, err := a.st.AssetGetByName(c.ctx(), c.tenant.ID, c.folder.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("asset %q does not exist in folder %s", name, c.folder.FullyQualifiedName)
	} else if err != nil {
		return internalError(c.r, err)
	}
	out := userAssetDTO{ID: as.ID, Name: as.Name, ValueType: string(as.ValueType), StringValue: as.StringValue, BoolValue: as.BoolValue,
		IntValue: as.IntValue, CredentialUsername: as.CredentialUsername, KeyValueList: []string{}}
	switch as.ValueType {
	case store.AssetCredential, store.AssetSecret:
		v, err := a.assetSecretValue(as)
		if err != nil {
			return internalError(c.r, err)
		}
		if as.ValueType == store.AssetSecret {
			out.SecretValue = v
		} else {
			out.CredentialPassword = v
		}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
