package api

import (
	"encoding/xml"
	"net/http"
	"sync"
)

// The OData service metadata: the CSDL document at …/odata/$metadata and the service
// document at …/odata/, both made from the entity model (model.go). Like swagger.json they
// describe the schema only, so they need no token; the organization and tenant must exist.

// metadata serves GET …/odata/$metadata on the layout l.
func (a *API) metadata(l layout) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, layout: l}
		if e := a.resolveTenant(c); e != nil {
			render(w, r, l, e)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			render(w, r, l, errorf(http.StatusMethodNotAllowed, codeInvalid, "$metadata is read with GET; %s is not allowed", r.Method))
			return
		}
		doc, err := csdlDocument()
		if err != nil {
			render(w, r, l, internalError(r, err))
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("OData-Version", "4.0")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.WriteHeader(http.StatusOK)
		w.Write(doc)
	}
}

// serviceDocument serves GET …/odata/ on the layout l: the entity sets, as OData JSON.
func (a *API) serviceDocument(l layout) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, layout: l}
		if e := a.resolveTenant(c); e != nil {
			render(w, r, l, e)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			render(w, r, l, errorf(http.StatusMethodNotAllowed, codeInvalid,
				"the service document is read with GET; %s is not allowed (entity sets are under …/odata/{EntitySet})", r.Method))
			return
		}
		m, err := apiModel()
		if err != nil {
			render(w, r, l, internalError(r, err))
			return
		}
		type entry struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
			URL  string `json:"url"`
		}
		sets := []entry{}
		for _, t := range m.types {
			if t.Set != "" && t.ListedBy == "" {
				sets = append(sets, entry{Name: t.Set, Kind: "EntitySet", URL: t.Set})
			}
		}
		w.Header().Set("OData-Version", "4.0")
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": c.base + "/odata/$metadata", "value": sets})
	}
}

// csdlDocument is the $metadata document, made once: the model is fixed.
var csdlDocument = sync.OnceValues(func() ([]byte, error) {
	m, err := apiModel()
	if err != nil {
		return nil, err
	}
	b, err := xml.MarshalIndent(m.csdl(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
})

// The CSDL elements (OData v4.0 CSDL XML). encoding/xml writes a prefixed name as it is
// given, so the edmx: elements carry their prefix and declare it on the root.
type (
	csdlEdmx struct {
		XMLName      xml.Name         `xml:"edmx:Edmx"`
		Version      string           `xml:"Version,attr"`
		Xmlns        string           `xml:"xmlns:edmx,attr"`
		DataServices csdlDataServices `xml:"edmx:DataServices"`
	}
	csdlDataServices struct {
		Schema csdlSchema `xml:"Schema"`
	}
	csdlSchema struct {
		Xmlns        string            `xml:"xmlns,attr"`
		Namespace    string            `xml:"Namespace,attr"`
		Alias        string            `xml:"Alias,attr,omitempty"`
		EntityTypes  []csdlEntityType  `xml:"EntityType"`
		ComplexTypes []csdlComplexType `xml:"ComplexType"`
		Container    csdlContainer     `xml:"EntityContainer"`
	}
	csdlEntityType struct {
		Name       string           `xml:"Name,attr"`
		Key        csdlKey          `xml:"Key"`
		Properties []csdlProperty   `xml:"Property"`
		Navigation []csdlNavigation `xml:"NavigationProperty"`
	}
	csdlKey struct {
		PropertyRef struct {
			Name string `xml:"Name,attr"`
		} `xml:"PropertyRef"`
	}
	csdlProperty struct {
		Name     string `xml:"Name,attr"`
		Type     string `xml:"Type,attr"`
		Nullable string `xml:"Nullable,attr"`
	}
	csdlNavigation struct {
		Name           string `xml:"Name,attr"`
		Type           string `xml:"Type,attr"`
		Nullable       string `xml:"Nullable,attr,omitempty"`
		ContainsTarget string `xml:"ContainsTarget,attr,omitempty"`
	}
	csdlComplexType struct {
		Name       string         `xml:"Name,attr"`
		OpenType   string         `xml:"OpenType,attr,omitempty"`
		Properties []csdlProperty `xml:"Property"`
	}
	csdlContainer struct {
		Name string          `xml:"Name,attr"`
		Sets []csdlEntitySet `xml:"EntitySet"`
	}
	csdlEntitySet struct {
		Name                     string           `xml:"Name,attr"`
		EntityType               string           `xml:"EntityType,attr"`
		IncludeInServiceDocument string           `xml:"IncludeInServiceDocument,attr,omitempty"`
		Bindings                 []csdlNavBinding `xml:"NavigationPropertyBinding"`
	}
	csdlNavBinding struct {
		Path   string `xml:"Path,attr"`
		Target string `xml:"Target,attr"`
	}
)

// csdl describes the model as a CSDL document. A navigation to a type that has an entity
// set is bound to that set; one to a type without a set holds its values (ContainsTarget),
// as a role holds its permissions.
func (m *entityModel) csdl() csdlEdmx {
	s := csdlSchema{Xmlns: "http://docs.oasis-open.org/odata/ns/edm", Namespace: edmNamespace, Alias: edmAlias,
		Container: csdlContainer{Name: "Container"}}
	props := func(ps []edmProperty) []csdlProperty {
		out := make([]csdlProperty, 0, len(ps))
		for _, p := range ps {
			out = append(out, csdlProperty{Name: p.Name, Type: p.Type, Nullable: boolText(p.Nullable)})
		}
		return out
	}
	for _, t := range m.types {
		et := csdlEntityType{Name: t.Name, Properties: props(t.props)}
		et.Key.PropertyRef.Name = t.key()
		var bindings []csdlNavBinding
		for _, n := range t.Nav {
			target := m.byName[n.Target]
			nav := csdlNavigation{Name: n.Name, Type: edmNamespace + "." + target.Name}
			if n.Many {
				nav.Type = "Collection(" + nav.Type + ")"
			} else if n.notNull {
				nav.Nullable = "false"
			}
			if target.Set == "" {
				nav.ContainsTarget = "true"
			} else {
				bindings = append(bindings, csdlNavBinding{Path: n.Name, Target: target.Set})
			}
			et.Navigation = append(et.Navigation, nav)
		}
		s.EntityTypes = append(s.EntityTypes, et)
		if t.Set != "" {
			set := csdlEntitySet{Name: t.Set, EntityType: edmNamespace + "." + t.Name, Bindings: bindings}
			if t.ListedBy != "" {
				set.IncludeInServiceDocument = "false"
			}
			s.Container.Sets = append(s.Container.Sets, set)
		}
	}
	for _, c := range m.complex {
		ct := csdlComplexType{Name: c.Name, Properties: props(c.props)}
		if c.open {
			ct.OpenType = "true"
		}
		s.ComplexTypes = append(s.ComplexTypes, ct)
	}
	return csdlEdmx{Version: "4.0", Xmlns: "http://docs.oasis-open.org/odata/ns/edmx",
		DataServices: csdlDataServices{Schema: s}}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
