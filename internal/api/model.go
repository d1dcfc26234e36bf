package api

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openorch/openorch/internal/store"
)

// The entity model: what the $metadata document declares and what $select and $expand
// work on. Each entity type is a DTO the API answers with; an entity type with a Set is
// also an entity set of the service. Routing stays in the route table (routes.go); this
// table only describes the answers.

// edmNamespace is the schema namespace of UiPath's $metadata; UiPathODataSvc is its alias,
// under which clients also call the actions.
const (
	edmNamespace = "UiPath.Server.Configuration.OData"
	edmAlias     = "UiPathODataSvc"
)

// entityTypes lists the entity types of the API. To add an entity set, add its DTO here
// with its set name and navigation properties; $metadata, the service document, $select
// and $expand follow.
func entityTypes() []entityType {
	return []entityType{
		{Set: "Folders", Name: "FolderDto", DTO: reflect.TypeFor[folderDTO]()},
		{Set: "Users", Name: "UserDto", DTO: reflect.TypeFor[tenantUserDTO]()},
		{Set: "Roles", Name: "RoleDto", DTO: reflect.TypeFor[roleDTO](), Nav: []navigation{
			inline("Permissions", "PermissionDto", func(r roleDTO) []permissionDTO { return r.Permissions }),
		}},
		{Set: "Machines", Name: "MachineDto", DTO: reflect.TypeFor[machineDTO]()},
		{Set: "AuditLogs", Name: "AuditLogDto", DTO: reflect.TypeFor[auditDTO]()},
		{Set: "QueueDefinitions", Name: "QueueDefinitionDto", DTO: reflect.TypeFor[queueDefinitionDTO]()},
		{Set: "QueueItems", Name: "QueueItemDto", DTO: reflect.TypeFor[queueItemDTO](), Nav: []navigation{
			{Name: "QueueDefinition", Target: "QueueDefinitionDto", Load: loadItemQueues}}},
		{Set: "QueueItemEvents", Name: "QueueItemEventDto", DTO: reflect.TypeFor[queueItemEventDTO]()},
		{Set: "Settings", Name: "SettingsDto", DTO: reflect.TypeFor[settingDTO]()},
		{Set: "Assets", Name: "AssetDto", DTO: reflect.TypeFor[assetDTO]()},
		{Set: "Processes", Name: "ProcessDto", DTO: reflect.TypeFor[processDTO](), Key: "Key"},
		{Set: "Releases", Name: "ReleaseDto", DTO: reflect.TypeFor[releaseDTO]()},
		{Set: "Jobs", Name: "JobDto", DTO: reflect.TypeFor[jobDTO](), Nav: []navigation{
			{Name: "Release", Target: "ReleaseDto", Load: loadJobReleases},
			{Name: "Robot", Target: "RobotDto", Load: loadJobRobots}}},
		{Set: "Robots", Name: "RobotDto", DTO: reflect.TypeFor[robotDTO]()},
		{Set: "Sessions", Name: "SessionDto", DTO: reflect.TypeFor[sessionDTO]()},
		{Set: "RobotLogs", Name: "LogDto", DTO: reflect.TypeFor[robotLogDTO]()},
		// UiPath names the answer of GetUsersForFolder an entity set of its own (its
		// @odata.context is $metadata#UserRoles) that no route lists directly.
		{Set: "UserRoles", Name: "UserRolesDto", DTO: reflect.TypeFor[userRolesDTO](),
			ListedBy: "Folders/GetUsersForFolder", Nav: []navigation{
				inline("UserEntity", "FolderUserDto", func(u userRolesDTO) folderUserDTO { return u.UserEntity }),
				inline("Roles", "FolderRoleDto", func(u userRolesDTO) []folderRoleDTO { return u.Roles }),
			}},
		// Types reached only through navigations. A permission is known by its name
		// within its role.
		{Name: "PermissionDto", DTO: reflect.TypeFor[permissionDTO](), Key: "Name"},
		{Name: "FolderUserDto", DTO: reflect.TypeFor[folderUserDTO]()},
		{Name: "FolderRoleDto", DTO: reflect.TypeFor[folderRoleDTO]()},
	}
}

// entityType describes one OData entity type.
type entityType struct {
	Set  string // the entity set, e.g. "Folders"; "" for a type reached only through navigations
	Name string // the type's name in the schema, e.g. "FolderDto"
	DTO  reflect.Type
	Key  string // the key property; "" means "Id"
	Nav  []navigation
	// ListedBy names the route that lists the set when no GET /odata/{Set} does, as
	// "Set/Function": such a set stays out of the service document.
	ListedBy string

	props []edmProperty // the structural properties, from DTO; filled by newModel
}

// navigation is a navigation property: a related entity (Many false) or a collection of
// them, loaded on $expand.
type navigation struct {
	Name   string // as it appears in answers, e.g. "Permissions"
	Target string // the related entity type's Name
	Many   bool
	// Load returns the navigation's value for each entity of a page, in the page's order:
	// for Many a slice of the target's DTOs (nil for none), otherwise a DTO, a pointer to
	// one, or nil. It gets the whole page so that it reads the store once whatever the
	// page's size. page holds DTO values of the declaring type.
	Load func(a *API, c *call, page []any) ([]any, *apiError)

	notNull bool // a single entity the DTO always carries (a field that is no pointer)
}

// inline is a navigation whose values the DTO already carries: nothing to load.
func inline[T, V any](name, target string, get func(T) V) navigation {
	return navigation{Name: name, Target: target, Many: reflect.TypeFor[V]().Kind() == reflect.Slice,
		Load: func(_ *API, _ *call, page []any) ([]any, *apiError) {
			out := make([]any, len(page))
			for i, x := range page {
				out[i] = get(x.(T))
			}
			return out, nil
		}}
}

// loadByID is the Load of a navigation to one related entity named by an id: for each
// entity of a page, the DTO of the entity with the id idOf gives (0: none), each id read
// once with get; an id that is not found, or 0, gives null.
func loadByID[T, D any](c *call, page []any, idOf func(T) int64, get func(id int64) (D, error)) ([]any, *apiError) {
	byID := map[int64]*D{}
	out := make([]any, len(page))
	for i, x := range page {
		id := idOf(x.(T))
		if id == 0 {
			continue
		}
		d, ok := byID[id]
		if !ok {
			v, err := get(id)
			if err == nil {
				d = &v
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, internalError(c.r, err)
			}
			byID[id] = d
		}
		if d != nil {
			out[i] = *d
		}
	}
	return out, nil
}

func (t *entityType) key() string {
	if t.Key == "" {
		return "Id"
	}
	return t.Key
}

// navigation finds a navigation property by name, in any case.
func (t *entityType) navigation(name string) *navigation {
	for i := range t.Nav {
		if strings.EqualFold(t.Nav[i].Name, name) {
			return &t.Nav[i]
		}
	}
	return nil
}

// navNames lists the navigation properties' names.
func (t *entityType) navNames() []string {
	out := make([]string, 0, len(t.Nav))
	for _, n := range t.Nav {
		out = append(out, n.Name)
	}
	return out
}

// edmProperty is a structural property of an entity or complex type.
type edmProperty struct {
	Name     string // the JSON name
	Type     string // Edm.Int64, a qualified complex type, or Collection(…) of either
	Nullable bool
}

// complexType is a struct inside a DTO that is not an entity: a value without identity.
type complexType struct {
	Name   string
	goType reflect.Type
	props  []edmProperty
	// open marks an open type (OpenType="true"): its values carry properties of their
	// own beside the declared ones, as a JSON object of any content does.
	open bool
}

// openType is implemented by the Go types of open complex types (see complexType.open).
type openType interface{ edmOpenType() }

var openTypeType = reflect.TypeFor[openType]()

// entityModel is the checked, indexed form of entityTypes.
type entityModel struct {
	types   []*entityType
	byName  map[string]*entityType
	byGo    map[reflect.Type]*entityType
	complex []*complexType
}

// apiModel is the API's entity model, built once: it is fixed at compile time.
var apiModel = sync.OnceValues(func() (*entityModel, error) { return newModel(entityTypes()) })

// newModel checks the entity types and reads their properties from the DTOs' fields and
// json tags. Errors name the type and field to fix.
func newModel(types []entityType) (*entityModel, error) {
	m := &entityModel{byName: map[string]*entityType{}, byGo: map[reflect.Type]*entityType{}}
	sets := map[string]bool{}
	for i := range types {
		t := &types[i]
		switch {
		case t.Name == "" || t.DTO == nil:
			return nil, fmt.Errorf("entity type %d (set %q) needs a Name and a DTO", i, t.Set)
		case t.DTO.Kind() != reflect.Struct:
			return nil, fmt.Errorf("entity type %s: its DTO %s is not a struct", t.Name, t.DTO)
		case m.byName[t.Name] != nil:
			return nil, fmt.Errorf("entity type %s is declared twice", t.Name)
		case m.byGo[t.DTO] != nil:
			return nil, fmt.Errorf("entity types %s and %s share the DTO %s; give each its own", m.byGo[t.DTO].Name, t.Name, t.DTO)
		case t.Set != "" && sets[strings.ToLower(t.Set)]:
			return nil, fmt.Errorf("entity set %s is declared twice", t.Set)
		}
		sets[strings.ToLower(t.Set)] = t.Set != ""
		m.types = append(m.types, t)
		m.byName[t.Name] = t
		m.byGo[t.DTO] = t
	}
	for _, t := range m.types {
		if err := m.readProperties(t); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readProperties fills t.props from t.DTO, leaving out the fields that carry a navigation
// inline, and checks the key and the navigations.
func (m *entityModel) readProperties(t *entityType) error {
	fields, err := jsonFields(t.DTO)
	if err != nil {
		return fmt.Errorf("entity type %s: %w", t.Name, err)
	}
	seen := map[string]bool{}
	for i := range t.Nav {
		n := &t.Nav[i]
		target := m.byName[n.Target]
		switch {
		case n.Name == "" || n.Load == nil:
			return fmt.Errorf("entity type %s: navigation %q needs a Name and a Load", t.Name, n.Name)
		case target == nil:
			return fmt.Errorf("entity type %s: navigation %s leads to %s, which is not an entity type of the model", t.Name, n.Name, n.Target)
		case seen[strings.ToLower(n.Name)]:
			return fmt.Errorf("entity type %s: navigation %s is declared twice", t.Name, n.Name)
		}
		seen[strings.ToLower(n.Name)] = true
		// A DTO field of the navigation's name must hold the target's DTOs, so that the
		// inline value and the expanded one are the same thing.
		for _, f := range fields {
			if f.name != n.Name {
				continue
			}
			ft := f.typ
			if n.Many && ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			} else if n.Many {
				return fmt.Errorf("entity type %s: navigation %s is a collection but field %s is a %s", t.Name, n.Name, f.name, f.typ)
			}
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			} else if !n.Many {
				n.notNull = true
			}
			if ft != target.DTO {
				return fmt.Errorf("entity type %s: field %s is a %s, but navigation %s leads to %s (%s)", t.Name, f.name, f.typ, n.Name, target.Name, target.DTO)
			}
		}
	}
	for _, f := range fields {
		if seen[strings.ToLower(f.name)] {
			continue
		}
		p, err := m.property(f.name, f.typ)
		if err != nil {
			return fmt.Errorf("entity type %s: %w", t.Name, err)
		}
		t.props = append(t.props, p)
	}
	i := slices.IndexFunc(t.props, func(p edmProperty) bool { return p.Name == t.key() })
	if i < 0 || t.props[i].Nullable || strings.HasPrefix(t.props[i].Type, "Collection(") {
		return fmt.Errorf("entity type %s: its key %s must be a property that is neither a pointer nor a slice", t.Name, t.key())
	}
	return nil
}

// property maps a Go field to an EDM property: pointers are nullable, other values are
// not, slices are collections and structs other than time.Time are complex types.
func (m *entityModel) property(name string, typ reflect.Type) (edmProperty, error) {
	p := edmProperty{Name: name}
	if typ.Kind() == reflect.Pointer {
		p.Nullable = true
		typ = typ.Elem()
	}
	collection := false
	if typ.Kind() == reflect.Slice && typ.Elem().Kind() != reflect.Uint8 {
		collection = true
		typ = typ.Elem()
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
	}
	edm, err := m.edmType(typ)
	if err != nil {
		return p, fmt.Errorf("field %s: %w", name, err)
	}
	p.Type = edm
	if collection {
		p.Type = "Collection(" + edm + ")"
	}
	return p, nil
}

var timeType = reflect.TypeFor[time.Time]()

// edmType names the EDM type of a Go type (not a pointer nor a slice), declaring the
// complex types it meets.
func (m *entityModel) edmType(typ reflect.Type) (string, error) {
	if typ == timeType {
		return "Edm.DateTimeOffset", nil
	}
	switch typ.Kind() {
	case reflect.String:
		return "Edm.String", nil
	case reflect.Bool:
		return "Edm.Boolean", nil
	case reflect.Int64:
		return "Edm.Int64", nil
	case reflect.Int, reflect.Int32, reflect.Uint16:
		return "Edm.Int32", nil
	case reflect.Int16:
		return "Edm.Int16", nil
	case reflect.Int8:
		return "Edm.SByte", nil
	case reflect.Uint8:
		return "Edm.Byte", nil
	case reflect.Uint32:
		return "Edm.Int64", nil
	case reflect.Float64:
		return "Edm.Double", nil
	case reflect.Float32:
		return "Edm.Single", nil
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			return "Edm.Binary", nil
		}
	case reflect.Struct:
		if t := m.byGo[typ]; t != nil {
			return "", fmt.Errorf("it holds entity type %s: declare it as a navigation property", t.Name)
		}
		return m.complexType(typ)
	}
	return "", fmt.Errorf("%s has no EDM type here; use a struct, a string, a number, a bool or time.Time", typ)
}

// complexType declares a struct as a complex type, named after the Go type with a
// capital initial and "Dto" as UiPath writes it (licenseCounts → LicenseCountsDto).
func (m *entityModel) complexType(typ reflect.Type) (string, error) {
	name := edmTypeName(typ)
	for _, c := range m.complex {
		if c.Name == name && c.goType != typ {
			return "", fmt.Errorf("%s and %s would both be complex type %s; rename one", c.goType, typ, name)
		} else if c.Name == name {
			return edmNamespace + "." + name, nil
		}
	}
	c := &complexType{Name: name, goType: typ, open: typ.Implements(openTypeType)}
	m.complex = append(m.complex, c) // before its fields: a struct may refer to itself
	fields, err := jsonFields(typ)
	if err != nil {
		return "", fmt.Errorf("%s: %w", typ, err)
	}
	for _, f := range fields {
		p, err := m.property(f.name, f.typ)
		if err != nil {
			return "", fmt.Errorf("%s: %w", typ, err)
		}
		c.props = append(c.props, p)
	}
	return edmNamespace + "." + name, nil
}

func edmTypeName(typ reflect.Type) string {
	n := typ.Name()
	if n == "" {
		n = "Anonymous"
	}
	n = strings.ToUpper(n[:1]) + n[1:]
	if base, ok := strings.CutSuffix(n, "DTO"); ok {
		return base + "Dto"
	}
	if !strings.HasSuffix(n, "Dto") {
		n += "Dto"
	}
	return n
}

// jsonField is a field as encoding/json writes it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the fields encoding/json writes for a struct, in order: exported
// fields under their json tag's name, the fields of untagged embedded structs in their
// place. "omitempty" is ignored (the property exists, sometimes absent) and "-" is left
// out. Two fields of one name are an error rather than encoding/json's silent choice.
func jsonFields(typ reflect.Type) ([]jsonField, error) {
	var out []jsonField
	seen := map[string]bool{}
	var walk func(t reflect.Type) error
	walk = func(t reflect.Type) error {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					if err := walk(et); err != nil {
						return err
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if seen[name] {
				return fmt.Errorf("two fields are written as %s", name)
			}
			seen[name] = true
			out = append(out, jsonField{name: name, typ: f.Type})
		}
		return nil
	}
	return out, walk(typ)
}

// typeOf returns the entity type of a DTO. A DTO not in the model (an action's answer)
// gets a type of its own, without navigations, so that $select still knows its
// properties.
func (m *entityModel) typeOf(dto reflect.Type) (*entityType, error) {
	if t := m.byGo[dto]; t != nil {
		return t, nil
	}
	if dto.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", dto)
	}
	t := &entityType{Name: edmTypeName(dto), DTO: dto}
	fields, err := jsonFields(dto)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		t.props = append(t.props, edmProperty{Name: f.name}) // only the names are used
	}
	return t, nil
}

// EntitySetInfo describes one entity set of the $metadata document.
type EntitySetInfo struct {
	Name string // e.g. "Folders"
	Type string // the qualified entity type, e.g. "UiPath.Server.Configuration.OData.FolderDto"
	// ListedBy is the path, relative to …/orchestrator_ and as in RouteInfo, of the GET
	// route that lists the set: "/odata/Folders", or the function that answers with it.
	ListedBy string
}

// EntitySets lists the entity sets the $metadata document declares.
func (a *API) EntitySets() []EntitySetInfo {
	m, err := apiModel()
	if err != nil {
		return nil
	}
	var out []EntitySetInfo
	for _, t := range m.types {
		if t.Set == "" {
			continue
		}
		path := "/odata/" + t.Set
		if t.ListedBy != "" {
			set, fn, _ := strings.Cut(t.ListedBy, "/")
			path = "/odata/" + set + "/" + edmNamespace + "." + fn
		}
		out = append(out, EntitySetInfo{Name: t.Set, Type: edmNamespace + "." + t.Name, ListedBy: path})
	}
	return out
}
