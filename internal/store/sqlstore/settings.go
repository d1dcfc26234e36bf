package sqlstore

import (
	"context"
	"maps"
	"slices"
)

// SettingList implements store.Store.
func (s *DB) SettingList(ctx context.Context, tenantID int64) (map[string]string, error) {
	rows, err := s.r().QueryContext(ctx, `SELECT name, value FROM tenant_settings WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		out[name] = value
	}
	return out, rows.Err()
}

// SettingSet implements store.Store. The values are written in name order, so concurrent
// writers of the same settings take their row locks in one order.
func (s *DB) SettingSet(ctx context.Context, tenantID int64, values map[string]string) error {
	return s.inTx(ctx, func(tx *DB) error {
		now := s.t(s.timestamp())
		for _, name := range slices.Sorted(maps.Keys(values)) {
			if _, err := tx.w().ExecContext(ctx, `INSERT INTO tenant_settings (tenant_id, name, value, updated_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				tenantID, name, values[name], now); err != nil {
				return err
			}
		}
		return nil
	})
}
