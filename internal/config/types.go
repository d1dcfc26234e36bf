// Package config loads OpenOrch's server settings (flags > environment > file, DESIGN §1)
// and its bootstrap file (DESIGN §2) into one validated Config.
package config

import "time"

// Config is everything `orch serve` and `orch migrate` need, validated once.
type Config struct {
	Server Server
	// File is the bootstrap file given with --config, or nil.
	File *File
	// FilePath is where File was read from, for messages.
	FilePath string
	// Demo asks for the demo set on an empty database (`serve --demo`).
	Demo bool
}

// Server holds the server settings of DESIGN §1, resolved from flags, environment and file.
type Server struct {
	Listen    string // host:port; port 0 picks a free one
	PublicURL string // empty: "http(s)://" + the address actually bound
	DataDir   string
	// DatabaseURL empty selects SQLite in DataDir; postgres:// or postgresql:// selects PostgreSQL.
	DatabaseURL string
	// SecretKeyFile is the path of the secret key file; SecretKey is the key itself when
	// given through ORCH_SECRET_KEY. At most one is set after loading; with neither, the
	// key lives at DataDir/secret.key (SQLite only).
	SecretKeyFile          string
	SecretKey              string
	TLSCert                string
	TLSKey                 string
	TrustedProxies         []string // CIDRs or addresses
	RobotHeartbeatInterval time.Duration
	RobotUnresponsiveAfter time.Duration
	// QueueItemAbandonAfter: an item InProgress this long becomes Abandoned;
	// QueueItemRetention: finished items are deleted this long after their last change.
	QueueItemAbandonAfter time.Duration
	QueueItemRetention    time.Duration
	// RobotLogRetention: robot log lines are deleted this long after they were written.
	RobotLogRetention time.Duration
	LogFormat         string // text | json
	LogLevel          string // debug | info | warn | error
	TokenSigningAlg   string // ES256 | RS256: the algorithm of new signing keys
}

// Postgres reports whether the settings select the PostgreSQL engine.
func (s Server) Postgres() bool { return s.DatabaseURL != "" }

// File is the bootstrap file.
type File struct {
	Server        FileServer         `yaml:"server"`
	Organizations []OrganizationSpec `yaml:"organizations"`
}

// FileServer is the `server:` block: the file's say in the server settings.
type FileServer struct {
	Listen                 string   `yaml:"listen"`
	PublicURL              string   `yaml:"publicURL"`
	DataDir                string   `yaml:"dataDir"`
	DatabaseURL            string   `yaml:"databaseURL"`
	SecretKeyFile          string   `yaml:"secretKeyFile"`
	TLSCert                string   `yaml:"tlsCert"`
	TLSKey                 string   `yaml:"tlsKey"`
	TrustedProxies         []string `yaml:"trustedProxies"`
	RobotHeartbeatInterval string   `yaml:"robotHeartbeatInterval"`
	RobotUnresponsiveAfter string   `yaml:"robotUnresponsiveAfter"`
	QueueItemAbandonAfter  string   `yaml:"queueItemAbandonAfter"`
	QueueItemRetention     string   `yaml:"queueItemRetention"`
	RobotLogRetention      string   `yaml:"robotLogRetention"`
	LogFormat              string   `yaml:"logFormat"`
	LogLevel               string   `yaml:"logLevel"`
	TokenSigningAlg        string   `yaml:"tokenSigningAlg"`
}

type OrganizationSpec struct {
	Name        string       `yaml:"name"`
	DisplayName string       `yaml:"displayName"`
	Users       []UserSpec   `yaml:"users"`
	Apps        []AppSpec    `yaml:"apps"`
	Tenants     []TenantSpec `yaml:"tenants"`
}

type UserSpec struct {
	Email       string `yaml:"email"`
	Name        string `yaml:"name"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"passwordEnv"`
	OrgAdmin    bool   `yaml:"orgAdmin"`
	BasicAuth   bool   `yaml:"basicAuth"`
}

type AppSpec struct {
	Name            string   `yaml:"name"`
	ClientID        string   `yaml:"clientId"`
	ClientSecret    string   `yaml:"clientSecret"`
	ClientSecretEnv string   `yaml:"clientSecretEnv"`
	AppScopes       []string `yaml:"appScopes"`
	UserScopes      []string `yaml:"userScopes"`
	RedirectURIs    []string `yaml:"redirectURIs"`
}

type TenantSpec struct {
	Name            string               `yaml:"name"`
	DisplayName     string               `yaml:"displayName"`
	LegacyBasicAuth *LegacyBasicAuthSpec `yaml:"legacyBasicAuth"`
	Members         []MemberSpec         `yaml:"members"`
	Folders         []FolderSpec         `yaml:"folders"`
	Machines        []MachineSpec        `yaml:"machines"`
	Queues          []QueueSpec          `yaml:"queues"`
}

type LegacyBasicAuthSpec struct {
	Enabled bool       `yaml:"enabled"`
	Until   *time.Time `yaml:"until"`
}

// MemberSpec names exactly one of User (an email), App (a client id or app name) or
// Machine (a machine name) and the roles it holds.
type MemberSpec struct {
	User    string   `yaml:"user"`
	App     string   `yaml:"app"`
	Machine string   `yaml:"machine"`
	Roles   []string `yaml:"roles"`
}

type FolderSpec struct {
	Path        string       `yaml:"path"` // FullyQualifiedName; "Finance/AP" nests
	Description string       `yaml:"description"`
	Members     []MemberSpec `yaml:"members"`
}

type MachineSpec struct {
	Name            string   `yaml:"name"`
	ClientID        string   `yaml:"clientId"`
	ClientSecret    string   `yaml:"clientSecret"`
	ClientSecretEnv string   `yaml:"clientSecretEnv"`
	Folders         []string `yaml:"folders"`
	Slots           int      `yaml:"slots"`
}

type QueueSpec struct {
	Name            string `yaml:"name"`
	Folder          string `yaml:"folder"`
	Description     string `yaml:"description"`
	MaxRetries      int    `yaml:"maxRetries"`
	UniqueReference bool   `yaml:"uniqueReference"`
}
