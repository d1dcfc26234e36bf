package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openorch/openorch/internal/identity"
	"github.com/openorch/openorch/internal/secret"
	"github.com/openorch/openorch/internal/server"
	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Revoker denies, on every node, the access tokens already issued to a client id. The API
// calls it after a machine's secret is regenerated or the machine deleted, once the change
// has committed.
type Revoker interface {
	RevokeClient(ctx context.Context, clientID string) error
}

// revokeClientFor is how long a client revocation is kept: longer than any access token
// issued to a client lives (24 h for the longest-lived kinds), as the identity service
// keeps its own.
const revokeClientFor = 25 * time.Hour

type denyListRevoker struct{ d *identity.DenyList }

func (r denyListRevoker) RevokeClient(ctx context.Context, clientID string) error {
	return r.d.Revoke(ctx, store.RevokeClient, clientID, time.Now().Add(revokeClientFor))
}

// DenyListRevoker revokes through the identity service's deny-list, which every node keeps
// current from the database.
func DenyListRevoker(d *identity.DenyList) Revoker { return denyListRevoker{d} }

// Limits of a machine's fields.
const (
	machineNameMax = 100
	machineSlotMax = 100
)

// machineInput is what POST and PUT/PATCH /odata/Machines take (MachineDto's writable
// fields). Other MachineDto fields (Scope, NonProductionSlots, ClientId, …) are ignored, so
// a DTO read with GET may be sent back.
type machineInput struct {
	Name            *string `json:"Name"`
	Description     *string `json:"Description"`
	UnattendedSlots *int    `json:"UnattendedSlots"`
	Type            *string `json:"Type"`
}

// check validates the fields present.
func (in machineInput) check() *apiError {
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return invalid("Name cannot be empty")
		}
		if e := checkLen("Name", strings.TrimSpace(*in.Name), machineNameMax); e != nil {
			return e
		}
	}
	if in.UnattendedSlots != nil && (*in.UnattendedSlots < 1 || *in.UnattendedSlots > machineSlotMax) {
		return invalid("UnattendedSlots must be between 1 and %d (got %d): how many jobs the machine's robots may run at once",
			machineSlotMax, *in.UnattendedSlots)
	}
	if in.Type != nil && *in.Type != "" && !strings.EqualFold(*in.Type, "Standard") {
		return invalid("Type %q is not available: OpenOrch machines are all Standard (one client id and secret serve any number of hosts, as a template's key does); send \"Standard\" or leave Type out", *in.Type)
	}
	if in.Description != nil && *in.Description != "" {
		return invalid("Description: OpenOrch does not store a description for machines; leave it out or empty")
	}
	return nil
}

// machineSecretDTO is the answer of a create and of RegenerateSecret: the machine with its
// client secret, which is shown only there (the database keeps its SHA-256 hash).
type machineSecretDTO struct {
	machineDTO
	ClientSecret string `json:"ClientSecret"`
}

// newMachineSecret makes a client secret: "oo_cs_" and 32 random bytes.
func newMachineSecret() string { return secret.NewToken("oo_cs_") }

// newMachineClientID makes a client id free across the installation (apps and machines
// share the name space): "machine-" and 12 random hex digits.
func newMachineClientID(ctx context.Context, tx store.Store) (string, error) {
	for range 5 {
		b := make([]byte, 6)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		id := "machine-" + hex.EncodeToString(b)
		_, errM := tx.MachineGetByClientID(ctx, id)
		_, errA := tx.AppGetByClientID(ctx, id)
		switch {
		case errors.Is(errM, store.ErrNotFound) && errors.Is(errA, store.ErrNotFound):
			return id, nil
		case !errors.Is(errM, store.ErrNotFound) && errM != nil:
			return "", errM
		case !errors.Is(errA, store.ErrNotFound) && errA != nil:
			return "", errA
		}
	}
	return "", errors.New("no free machine client id after 5 tries")
}

// machineNameFree refuses a name another machine of the tenant has (case-insensitively).
func machineNameFree(c *call, tx store.Store, name string, exceptID int64) error {
	m, err := tx.MachineGetByName(c.ctx(), c.tenant.ID, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.ID == exceptID {
		return nil
	} else if err != nil {
		return err
	}
	return fmt.Errorf("a machine named %q already exists in tenant %s (Id %d): %w", m.Name, c.tenant.Name, m.ID, store.ErrConflict)
}

func slotsText(n int) string {
	if n == 1 {
		return "1 unattended slot"
	}
	return strconv.Itoa(n) + " unattended slots"
}

// createMachine serves POST /odata/Machines: the answer carries the generated ClientId and
// ClientSecret, the only time the secret is shown.
func createMachine(a *API, c *call) *apiError {
	var in machineInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return invalid("Name is required")
	}
	if e := in.check(); e != nil {
		return e
	}
	slots := 1
	if in.UnattendedSlots != nil {
		slots = *in.UnattendedSlots
	}
	name := strings.TrimSpace(*in.Name)
	clientSecret := newMachineSecret()
	var m tenancy.Machine
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		if err := machineNameFree(c, tx, name, 0); err != nil {
			return store.AuditEntry{}, err
		}
		clientID, err := newMachineClientID(c.ctx(), tx)
		if err != nil {
			return store.AuditEntry{}, err
		}
		m, err = tx.MachineCreate(c.ctx(), store.MachineCreateParams{TenantID: c.tenant.ID, Name: name, ClientID: clientID,
			SecretHash: secret.HashToken(clientSecret), Slots: slots})
		return store.AuditEntry{Action: "Create", Component: "Machines", EntityID: m.ID, EntityName: m.Name,
			Details: fmt.Sprintf("created machine %s with client id %s and %s", m.Name, m.ClientID, slotsText(m.Slots))}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.Header().Set("Location", c.base+"/odata/Machines("+strconv.FormatInt(m.ID, 10)+")")
	writeJSON(c.w, http.StatusCreated, withContext(c.base+"/odata/$metadata#Machines/$entity",
		machineSecretDTO{machineDTO: toMachineDTO(m), ClientSecret: clientSecret}))
	return nil
}

// updateMachine serves PUT and PATCH /odata/Machines(id): Name and UnattendedSlots (the
// client id never changes; RegenerateSecret changes the secret).
func updateMachine(a *API, c *call) *apiError {
	id, e := machineKey(c)
	if e != nil {
		return e
	}
	var in machineInput
	if e := bind(c, &in); e != nil {
		return e
	}
	if in.Name == nil && c.r.Method == http.MethodPut {
		return invalid("Name is required with PUT (use PATCH to change only some fields)")
	}
	if e := in.check(); e != nil {
		return e
	}
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		if in.Name != nil {
			if err := machineNameFree(c, tx, strings.TrimSpace(*in.Name), id); err != nil {
				return store.AuditEntry{}, err
			}
		}
		var changes []string
		m, err := tx.MachineUpdate(c.ctx(), c.tenant.ID, id, func(m tenancy.Machine) (tenancy.Machine, error) {
			if in.Name != nil && strings.TrimSpace(*in.Name) != m.Name {
				changes = append(changes, fmt.Sprintf("renamed from %s", m.Name))
				m.Name = strings.TrimSpace(*in.Name)
			}
			if in.UnattendedSlots != nil && *in.UnattendedSlots != m.Slots {
				changes = append(changes, fmt.Sprintf("unattended slots %d → %d", m.Slots, *in.UnattendedSlots))
				m.Slots = *in.UnattendedSlots
			}
			return m, nil
		})
		details := "updated machine " + m.Name
		if len(changes) > 0 {
			details += ": " + strings.Join(changes, ", ")
		}
		return store.AuditEntry{Action: "Update", Component: "Machines", EntityID: id, EntityName: m.Name, Details: details}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteMachine serves DELETE /odata/Machines(id): the machine, its folder memberships and,
// on every node, the tokens its robots hold.
func deleteMachine(a *API, c *call) *apiError {
	id, e := machineKey(c)
	if e != nil {
		return e
	}
	var m tenancy.Machine
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		m, err = tx.MachineGet(c.ctx(), c.tenant.ID, id)
		if err == nil {
			err = tx.MachineDelete(c.ctx(), c.tenant.ID, id)
		}
		return store.AuditEntry{Action: "Delete", Component: "Machines", EntityID: id, EntityName: m.Name,
			Details: fmt.Sprintf("deleted machine %s (client id %s); the tokens issued to it were revoked", m.Name, m.ClientID)}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	// The API refuses the tokens of a machine that no longer exists anyway; the revocation
	// covers every other place a token is checked, so a failure is logged, not answered.
	if err := a.revokeClient(c, m.ClientID); err != nil {
		a.logger.Error("api: revoking a deleted machine's tokens failed", "machine", m.Name, "client_id", m.ClientID, "err", err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// regenerateMachineSecret serves POST /odata/Machines(id)/…RegenerateSecret: a new client
// secret, shown once; the old one stops working at once and the tokens issued with it are
// revoked on every node.
func regenerateMachineSecret(a *API, c *call) *apiError {
	id, e := machineKey(c)
	if e != nil {
		return e
	}
	clientSecret := newMachineSecret()
	var m tenancy.Machine
	err := a.write(c, func(tx store.Store) (store.AuditEntry, error) {
		var err error
		m, err = tx.MachineUpdate(c.ctx(), c.tenant.ID, id, func(m tenancy.Machine) (tenancy.Machine, error) {
			m.SecretHash = secret.HashToken(clientSecret)
			return m, nil
		})
		return store.AuditEntry{Action: "RegenerateSecret", Component: "Machines", EntityID: id, EntityName: m.Name,
			Details: fmt.Sprintf("regenerated the client secret of machine %s (client id %s); the tokens issued before were revoked",
				m.Name, m.ClientID)}, err
	})
	if e := storeError(c, err); e != nil {
		return e
	}
	// The API itself accepts a robot token while its machine exists, so without the
	// revocation the old tokens would live on: a failure is an error, and regenerating
	// again (which revokes again) is the remedy.
	if err := a.revokeClient(c, m.ClientID); err != nil {
		internalError(c.r, err)
		return errorf(http.StatusInternalServerError, codeNone,
			"the secret of machine %s was regenerated, but the tokens issued before could not be revoked; regenerate it again. Trace id %s.",
			m.Name, server.TraceID(c.ctx()))
	}
	writeEntity(a, c, "Machines", machineSecretDTO{machineDTO: toMachineDTO(m), ClientSecret: clientSecret})
	return nil
}

func (a *API) revokeClient(c *call, clientID string) error {
	if a.revoker == nil {
		return nil
	}
	return a.revoker.RevokeClient(c.ctx(), clientID)
}

func machineKey(c *call) (int64, *apiError) {
	id, err := strconv.ParseInt(c.path.Key, 10, 64)
	if err != nil {
		return 0, invalid("Machines(%s): the key must be a machine Id (an integer)", c.path.Key)
	}
	return id, nil
}
