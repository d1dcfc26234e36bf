package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/openorch/openorch/internal/store"
)

// queueBenchmarks measure the hot paths of work queues: adding an item, taking the next
// one (alone and with callers racing), ending a transaction, and a whole transaction.
// Read them as ratios to Ping and MetaGet of the same run. Items a benchmark consumes are
// added before its timer starts.
func queueBenchmarks(b *testing.B, newStore func(b *testing.B) store.Store) {
	setup := func(b *testing.B) (store.Store, queueEnv) {
		s := newStore(b)
		return s, mustQueueEnv(b, s, store.QueueDefinitionCreateParams{MaxNumberOfRetries: 1})
	}
	// fill adds n New items in bulk (or, with start, n items InProgress held by the robot).
	fill := func(b *testing.B, s store.Store, qe queueEnv, n int, start bool) []int64 {
		var ids []int64
		if start {
			for range n {
				it, err := s.QueueItemAdd(b.Context(), store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
					Data: store.QueueItemData{SpecificContent: `{"n":1}`}, Actor: qe.robot, Start: true})
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, it.ID)
			}
			return ids
		}
		for n > 0 {
			chunk := min(n, 1000)
			items := make([]store.QueueItemData, chunk)
			for i := range items {
				items[i] = store.QueueItemData{Priority: store.QueuePriorities[i%3], SpecificContent: `{"n":1}`}
			}
			if _, err := s.QueueItemAddBulk(b.Context(), store.QueueItemAddBulkParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Commit: store.QueueProcessAllIndependently, Items: items, Actor: qe.bob}); err != nil {
				b.Fatal(err)
			}
			n -= chunk
		}
		return nil
	}
	b.Run("QueueItemAdd", func(b *testing.B) {
		s, qe := setup(b)
		c := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.QueueItemAdd(c, store.QueueItemAddParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID,
				Data: store.QueueItemData{Reference: "r", SpecificContent: `{"Email":"a@b.c"}`}, Actor: qe.bob}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("QueueItemStart", func(b *testing.B) {
		s, qe := setup(b)
		fill(b, s, qe, b.N, false)
		c := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: qe.robot}); err != nil || !found {
				b.Fatalf("QueueItemStart: found %v, %v", found, err)
			}
		}
	})
	b.Run("QueueItemStartParallel", func(b *testing.B) {
		s, qe := setup(b)
		fill(b, s, qe, b.N, false)
		c := b.Context()
		var w atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			who := store.QueueActor{Principal: fmt.Sprintf("machine:%d", w.Add(1))}
			for pb.Next() {
				if _, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: who}); err != nil || !found {
					b.Errorf("QueueItemStart: found %v, %v", found, err)
					return
				}
			}
		})
	})
	b.Run("QueueItemSetResult", func(b *testing.B) {
		s, qe := setup(b)
		ids := fill(b, s, qe, b.N, true)
		c := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: ids[i], Actor: qe.robot,
				Success: true, Output: `{"ok":true}`}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("QueueTransaction", func(b *testing.B) {
		s, qe := setup(b)
		fill(b, s, qe, b.N, false)
		c := b.Context()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			it, found, err := s.QueueItemStart(c, store.QueueItemStartParams{TenantID: qe.tenant.ID, QueueID: qe.queue.ID, Actor: qe.robot})
			if err != nil || !found {
				b.Fatalf("QueueItemStart: found %v, %v", found, err)
			}
			if _, err := s.QueueItemSetResult(c, store.QueueItemResultParams{TenantID: qe.tenant.ID, ItemID: it.ID, Actor: qe.robot, Success: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
