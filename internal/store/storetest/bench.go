package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/tenancy"
)

// Benchmark measures the hot paths of the identity and access layer on fresh stores made
// by newStore (same contract as for Run). Setup (opening, migrating and filling the store)
// is outside the timed region: it runs before b.Loop, or before b.ResetTimer for the
// parallel benchmark.
//
// Two baselines come first so that the other figures can be read as ratios on the same
// engine in the same run: Ping (the store's health check: a writer ping plus SELECT 1 on
// a reader, the round-trip floor) and MetaGet (a one-column SELECT by primary key, the
// trivial-query floor).
func Benchmark(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Ping", func(b *testing.B) {
		s := newStore(b)
		c := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Ping(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MetaGet", func(b *testing.B) {
		s := newStore(b)
		c := b.Context()
		if err := s.MetaSet(c, "bench", "value"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.MetaGet(c, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UserCreate", func(b *testing.B) {
		s := newStore(b)
		o := mustOrg(b, s, "bench")
		c := b.Context()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if _, err := s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: fmt.Sprintf("u%d@example.com", n)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UserGetByEmail", func(b *testing.B) {
		s := newStore(b)
		o := mustOrg(b, s, "bench")
		const users = 1000
		emails := make([]string, users)
		for i := range users {
			mustUser(b, s, o.ID, fmt.Sprintf("u%d@example.com", i))
			emails[i] = fmt.Sprintf("U%d@example.com", i) // looked up case-insensitively
		}
		c := b.Context()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if _, err := s.UserGetByEmail(c, o.ID, emails[n%users]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FolderGetByPath", func(b *testing.B) {
		s := newStore(b)
		e := mustEnv(b, s, "bench")
		var paths []string
		for i := range 10 {
			top := mustFolder(b, s, e.tenant.ID, 0, fmt.Sprintf("Dept%d", i))
			for j := range 4 {
				sub := mustFolder(b, s, e.tenant.ID, top.ID, fmt.Sprintf("Team%d", j))
				leaf := mustFolder(b, s, e.tenant.ID, sub.ID, "Prod")
				paths = append(paths, leaf.FullyQualifiedName)
			}
		}
		c := b.Context()
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if _, err := s.FolderGetByPath(c, e.tenant.ID, paths[n%len(paths)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AccessGet", func(b *testing.B) {
		s := newStore(b)
		e := mustEnv(b, s, "bench")
		var folders []tenancy.Folder
		for i := range 10 {
			top := mustFolder(b, s, e.tenant.ID, 0, fmt.Sprintf("Dept%d", i))
			folders = append(folders, top)
			for j := range 4 {
				folders = append(folders, mustFolder(b, s, e.tenant.ID, top.ID, fmt.Sprintf("Team%d", j)))
			}
		}
		if len(folders) != 50 {
			b.Fatalf("%d folders, want 50", len(folders))
		}
		u := mustUser(b, s, e.org.ID, "bench@example.com")
		user := mustRoleByName(b, s, e.tenant.ID, tenancy.RoleAutomationUser)
		dev := mustRoleByName(b, s, e.tenant.ID, tenancy.RoleAutomationDeveloper)
		custom := mustRole(b, s, e.tenant.ID, "Reader", tenancy.RoleTypeTenant, usersView)
		mustSetMembership(b, s, e.tenant.ID, 0, userP(u), custom.ID)
		mustSetMembership(b, s, e.tenant.ID, folders[0].ID, userP(u), user.ID)
		mustSetMembership(b, s, e.tenant.ID, folders[7].ID, userP(u), user.ID, dev.ID)
		c := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			a, err := s.AccessGet(c, e.tenant.ID, userP(u), false)
			if err != nil {
				b.Fatal(err)
			}
			if len(a.Parent) != 50 {
				b.Fatalf("AccessGet: %d folders, want 50", len(a.Parent))
			}
		}
	})
	queueBenchmarks(b, newStore)
	b.Run("UserCreateParallel", func(b *testing.B) {
		s := newStore(b)
		o := mustOrg(b, s, "bench")
		c := b.Context()
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer() // RunParallel does not exclude the setup above
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				email := fmt.Sprintf("u%d@example.com", n.Add(1))
				if _, err := s.UserCreate(c, store.UserCreateParams{OrgID: o.ID, Email: email}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
