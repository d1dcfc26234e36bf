package identity

import (
	"strings"
	"time"

	"github.com/openorch/openorch/internal/tenancy"
)

// IssueJobToken mints the access token of a job for the machine whose robot runs it
// (docs/robot-protocol.md, Job tokens): sub_type robot, the machine's client id and
// subject, the robot scopes, folder the Key of the job's folder and job the job's Key. It
// lives as long as other access tokens (1 h by default); revoking the machine's tokens
// revokes it too.
func (s *Service) IssueJobToken(m tenancy.Machine, orgKey, folderKey, jobKey string) (string, time.Time, error) {
	token, c, err := s.keys.Issue(Claims{Issuer: s.public + "/identity_", Subject: m.Key, SubType: SubRobot, ClientID: m.ClientID,
		OrgKey: orgKey, Scope: strings.Join(RobotScopes, " "), Folder: folderKey, Job: jobKey}, s.accessTTL)
	if err != nil {
		return "", time.Time{}, err
	}
	return token, time.Unix(c.Expiry, 0).UTC(), nil
}
