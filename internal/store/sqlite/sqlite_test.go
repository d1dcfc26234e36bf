package sqlite_test

import (
	"testing"

	"github.com/openorch/openorch/internal/store"
	"github.com/openorch/openorch/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.NewSQLite(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return storetest.NewSQLite(b) })
}
