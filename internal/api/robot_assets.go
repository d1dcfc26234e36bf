package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// robotAssetRoutes: how a robot's process reads an asset with its value, a Credential's
// password and a Secret's value included (the only answer that carries them). The value of
// a PerRobot asset is the robot's own, or else the asset's default.
func (a *API) robotAssetRoutes() []route {
	const summary = "An asset of the folder with its value, passwords and secrets included, for a robot: robotKey (the robot's Key) " +
		"and assetName; only the tokens of that robot's machine (or of its jobs) may call it. A PerRobot asset answers the robot's " +
		"own value, or else the asset's default; 404 when it has neither."
	return []route{
		{Method: "GET", Set: "Assets", Action: "GetRobotAsset", Scope: "OR.Assets", Perm: "Assets.View",
			Folder: folderRequired, Handle: getRobotAsset, Summary: "GetRobotAsset(robotId='…',assetName='…') (deprecated; robotId is the robot's Key): " + summary},
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

// getRobotAsset serves …/Assets/…GetRobotAssetByNameForRobotKey and the deprecated
// …/Assets/…GetRobotAsset(robotId=…,assetName=…).
func getRobotAsset(a *API, c *call) *apiError {
	robotKey, name := c.path.Params["robotkey"], c.path.Params["assetname"]
	if strings.EqualFold(c.path.Action, "GetRobotAsset") {
		robotKey = c.path.Params["robotid"]
	}
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
		return invalid("%s needs robotKey (the robot's Key; robotId in GetRobotAsset) and assetName", c.path.Action)
	}
	if c.who.principal.Kind != tenancy.PrincipalMachine {
		return because("not_robot", forbidden("%s is for robots: %s is no robot; read assets with GET odata/Assets", c.path.Action, c.who.name))
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
	open := func() (string, error) { return a.assetSecretValue(as) }
	if as.ValueScope == store.AssetPerRobot {
		v, err := a.st.AssetRobotValueGet(c.ctx(), c.tenant.ID, as.ID, r.ID)
		switch {
		case err == nil:
			out.StringValue, out.BoolValue, out.IntValue, out.CredentialUsername = v.StringValue, v.BoolValue, v.IntValue, v.CredentialUsername
			open = func() (string, error) { return a.assetRobotSecretValue(as, v) }
		case !errors.Is(err, store.ErrNotFound):
			return internalError(c.r, err)
		case !as.HasDefaultValue:
			return notFound("asset %s of folder %s has no value for robot %s: it is a PerRobot asset without a value for this robot and "+
				"without a default; add one to its RobotValues (RobotId %d) or give the asset a value of its own, the default, with PUT odata/Assets(%d)",
				as.Name, c.folder.FullyQualifiedName, r.Name, r.ID, as.ID)
		}
	}
	switch as.ValueType {
	case store.AssetCredential, store.AssetSecret:
		v, err := open()
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
