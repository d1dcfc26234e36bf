package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

func folderTests() []test {
	return []test{
		{"Create", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			top, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, DisplayName: "Finance", Description: "Money"})
			ok(t, err, "FolderCreate top level")
			checkNew(t, "folder", top.ID, top.Key, top.CreatedAt)
			same(t, "created top-level folder", top, tenancy.Folder{ID: top.ID, Key: top.Key, TenantID: e.tenant.ID,
				DisplayName: "Finance", FullyQualifiedName: "Finance", Description: "Money", Depth: 1, CreatedAt: top.CreatedAt})
			child, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, ParentID: top.ID, DisplayName: "AP", Description: "Payables"})
			ok(t, err, "FolderCreate child")
			checkNew(t, "child folder", child.ID, child.Key, child.CreatedAt)
			same(t, "created child folder", child, tenancy.Folder{ID: child.ID, Key: child.Key, TenantID: e.tenant.ID, ParentID: top.ID,
				DisplayName: "AP", FullyQualifiedName: "Finance/AP", Description: "Payables", Depth: 2, CreatedAt: child.CreatedAt})
			for _, f := range []tenancy.Folder{top, child} {
				got, err := s.FolderGet(c, e.tenant.ID, f.ID)
				ok(t, err, "FolderGet")
				same(t, "FolderGet", got, f)
			}
		}},
		{"GetByKeyAndPath", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			top := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			child := mustFolder(t, s, e.tenant.ID, top.ID, "AP")
			mustFolder(t, s, e.tenant.ID, 0, "AP") // a top-level namesake of the child
			for _, f := range []tenancy.Folder{top, child} {
				got, err := s.FolderGetByKey(c, e.tenant.ID, f.Key)
				ok(t, err, "FolderGetByKey")
				same(t, "FolderGetByKey", got, f)
			}
			for path, want := range map[string]tenancy.Folder{
				"Finance": top, "finance": top, "FINANCE": top,
				"Finance/AP": child, "finance/ap": child, "FINANCE/Ap": child,
			} {
				got, err := s.FolderGetByPath(c, e.tenant.ID, path)
				if err != nil {
					t.Errorf("FolderGetByPath(%q): %v", path, err)
					continue
				}
				same(t, "FolderGetByPath("+path+")", got, want)
			}
			_, err := s.FolderGetByPath(c, e.tenant.ID, "Finance/AR")
			wantNotFound(t, err, "FolderGetByPath of a missing path")
			_, err = s.FolderGetByKey(c, e.tenant.ID, "00000000-0000-4000-8000-000000000000")
			wantNotFound(t, err, "FolderGetByKey of a missing key")
		}},
		{"List", func(t *testing.T, s store.Store) {
			e := mustEnv(t, s, "acme")
			other := mustTenant(t, s, e.org.ID, "Other")
			a := mustFolder(t, s, e.tenant.ID, 0, "Zeta")
			mustFolder(t, s, other.ID, 0, "Zeta")
			b := mustFolder(t, s, e.tenant.ID, a.ID, "Child")
			d := mustFolder(t, s, e.tenant.ID, 0, "Alpha")
			got, err := s.FolderList(t.Context(), e.tenant.ID)
			ok(t, err, "FolderList")
			sameList(t, "FolderList", got, []tenancy.Folder{a, b, d})
		}},
		{"Update", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			top := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			leaf := mustFolder(t, s, e.tenant.ID, top.ID, "AP")
			want := leaf
			want.DisplayName, want.Description, want.FullyQualifiedName = "Payables", "Bills to pay", "Finance/Payables"
			got, err := s.FolderUpdate(c, e.tenant.ID, leaf.ID, func(old tenancy.Folder) (tenancy.Folder, error) {
				same(t, "value handed to the update function", old, leaf)
				old.DisplayName, old.Description = "Payables", "Bills to pay"
				return old, nil
			})
			ok(t, err, "FolderUpdate")
			same(t, "FolderUpdate result", got, want)
			fresh, err := s.FolderGet(c, e.tenant.ID, leaf.ID)
			ok(t, err, "FolderGet")
			same(t, "FolderGet after update", fresh, want)
			byPath, err := s.FolderGetByPath(c, e.tenant.ID, "Finance/Payables")
			ok(t, err, "FolderGetByPath(new path)")
			same(t, "FolderGetByPath after update", byPath, want)
			_, err = s.FolderGetByPath(c, e.tenant.ID, "Finance/AP")
			wantNotFound(t, err, "FolderGetByPath(old path)")
		}},
		{"UpdateRenamesDescendants", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			a := mustFolder(t, s, e.tenant.ID, 0, "A")
			b := mustFolder(t, s, e.tenant.ID, a.ID, "B")
			cf := mustFolder(t, s, e.tenant.ID, b.ID, "C")
			sib := mustFolder(t, s, e.tenant.ID, 0, "AA")
			sibChild := mustFolder(t, s, e.tenant.ID, sib.ID, "B")
			_, err := s.FolderUpdate(c, e.tenant.ID, a.ID, func(f tenancy.Folder) (tenancy.Folder, error) {
				f.DisplayName = "Z"
				return f, nil
			})
			ok(t, err, "FolderUpdate renaming the root")
			wantB, wantC := b, cf
			wantB.FullyQualifiedName, wantC.FullyQualifiedName = "Z/B", "Z/B/C"
			for _, w := range []tenancy.Folder{wantB, wantC} {
				got, err := s.FolderGet(c, e.tenant.ID, w.ID)
				ok(t, err, "FolderGet")
				same(t, "descendant after renaming its ancestor", got, w)
			}
			got, err := s.FolderGetByPath(c, e.tenant.ID, "z/b/c")
			ok(t, err, "FolderGetByPath of the renamed grandchild")
			same(t, "FolderGetByPath(z/b/c)", got, wantC)
			_, err = s.FolderGetByPath(c, e.tenant.ID, "A/B/C")
			wantNotFound(t, err, "FolderGetByPath of the grandchild's old path")
			// A folder whose name merely starts with the old name is not a descendant.
			got, err = s.FolderGet(c, e.tenant.ID, sibChild.ID)
			ok(t, err, "FolderGet")
			same(t, "folder outside the renamed subtree", got, sibChild)
		}},
		{"UpdateFnError", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			f := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			_, err := s.FolderUpdate(c, e.tenant.ID, f.ID, func(old tenancy.Folder) (tenancy.Folder, error) {
				old.DisplayName = "changed"
				return old, errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("FolderUpdate with a failing fn: err = %v, want the fn's error", err)
			}
			got, err := s.FolderGet(c, e.tenant.ID, f.ID)
			ok(t, err, "FolderGet")
			same(t, "folder after a failed update", got, f)
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			top := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			child := mustFolder(t, s, e.tenant.ID, top.ID, "AP")
			wantConflict(t, s.FolderDelete(c, e.tenant.ID, top.ID), "FolderDelete of a folder with a subfolder")
			got, err := s.FolderGet(c, e.tenant.ID, top.ID)
			ok(t, err, "FolderGet after a refused delete")
			same(t, "folder after a refused delete", got, top)

			ok(t, s.FolderDelete(c, e.tenant.ID, child.ID), "FolderDelete of a leaf")
			_, err = s.FolderGet(c, e.tenant.ID, child.ID)
			wantNotFound(t, err, "FolderGet after delete")
			_, err = s.FolderGetByPath(c, e.tenant.ID, "Finance/AP")
			wantNotFound(t, err, "FolderGetByPath after delete")
			_, err = s.FolderGetByKey(c, e.tenant.ID, child.Key)
			wantNotFound(t, err, "FolderGetByKey after delete")
			wantNotFound(t, s.FolderDelete(c, e.tenant.ID, child.ID), "FolderDelete again")

			ok(t, s.FolderDelete(c, e.tenant.ID, top.ID), "FolderDelete of the now empty parent")
			list, err := s.FolderList(c, e.tenant.ID)
			ok(t, err, "FolderList")
			if len(list) != 0 {
				t.Errorf("FolderList after deleting every folder: %+v", list)
			}
		}},
		{"Depth", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			var parent tenancy.Folder
			var names []string
			for depth := 1; depth <= tenancy.MaxFolderDepth; depth++ {
				name := fmt.Sprintf("L%d", depth)
				names = append(names, name)
				f, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, ParentID: parent.ID, DisplayName: name})
				ok(t, err, fmt.Sprintf("FolderCreate at depth %d", depth))
				if f.Depth != depth || f.FullyQualifiedName != strings.Join(names, "/") || f.ParentID != parent.ID {
					t.Errorf("folder at depth %d: Depth %d, FullyQualifiedName %q, ParentID %d; want %d, %q, %d",
						depth, f.Depth, f.FullyQualifiedName, f.ParentID, depth, strings.Join(names, "/"), parent.ID)
				}
				parent = f
			}
			_, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, ParentID: parent.ID, DisplayName: "L8"})
			wantInvalid(t, err, fmt.Sprintf("FolderCreate at depth %d", tenancy.MaxFolderDepth+1))
			list, err := s.FolderList(c, e.tenant.ID)
			ok(t, err, "FolderList")
			if len(list) != tenancy.MaxFolderDepth {
				t.Errorf("FolderList after a refused create: %d folders, want %d", len(list), tenancy.MaxFolderDepth)
			}
		}},
		{"ParentNotFound", func(t *testing.T, s store.Store) {
			c := t.Context()
			a := mustEnv(t, s, "a")
			b := mustEnv(t, s, "b")
			foreign := mustFolder(t, s, a.tenant.ID, 0, "Theirs")
			_, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: b.tenant.ID, ParentID: foreign.ID, DisplayName: "Mine"})
			wantNotFound(t, err, "FolderCreate under a parent of another tenant")
			_, err = s.FolderCreate(c, store.FolderCreateParams{TenantID: b.tenant.ID, ParentID: missingID, DisplayName: "Mine"})
			wantNotFound(t, err, "FolderCreate under a missing parent")
			list, err := s.FolderList(c, b.tenant.ID)
			ok(t, err, "FolderList")
			if len(list) != 0 {
				t.Errorf("FolderList after refused creates: %+v", list)
			}
		}},
		{"Conflict", func(t *testing.T, s store.Store) {
			c := t.Context()
			e := mustEnv(t, s, "acme")
			other := mustTenant(t, s, e.org.ID, "Other")
			fin := mustFolder(t, s, e.tenant.ID, 0, "Finance")
			hr := mustFolder(t, s, e.tenant.ID, 0, "HR")
			_, err := s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, DisplayName: "Finance"})
			wantConflict(t, err, "FolderCreate of a top-level sibling of the same name")
			_, err = s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, DisplayName: "finance"})
			wantConflict(t, err, "FolderCreate of a top-level sibling differing in case")
			mustFolder(t, s, e.tenant.ID, fin.ID, "Shared")
			_, err = s.FolderCreate(c, store.FolderCreateParams{TenantID: e.tenant.ID, ParentID: fin.ID, DisplayName: "Shared"})
			wantConflict(t, err, "FolderCreate of a subfolder sibling of the same name")
			mustFolder(t, s, e.tenant.ID, hr.ID, "Shared") // same name, another parent
			mustFolder(t, s, e.tenant.ID, 0, "Shared")     // same name at top level
			mustFolder(t, s, other.ID, 0, "Finance")       // same name, another tenant
			_, err = s.FolderUpdate(c, e.tenant.ID, hr.ID, func(f tenancy.Folder) (tenancy.Folder, error) {
				f.DisplayName = "FINANCE"
				return f, nil
			})
			wantConflict(t, err, "FolderUpdate to a sibling's name")
			got, err := s.FolderGet(c, e.tenant.ID, hr.ID)
			ok(t, err, "FolderGet")
			same(t, "folder after a conflicting update", got, hr)
		}},
	}
}
