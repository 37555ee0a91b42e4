package volumes

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/store"
)

// Check compares volume records with their data directories and reports
// what a killed create or rm left:
//
//   - data-missing: a record whose data was moved away by an rm that was
//     killed before it removed the record (repair finishes the rm);
//   - orphan-dir: a data directory with no record, left by a create killed
//     before its record was written (repair removes it while it is empty;
//     one with files in it is only reported);
//   - trash: data an rm moved aside but did not delete (repair deletes it);
//   - damaged-record: a record that cannot be read (only reported: its data
//     may matter).
//
// Each repair runs under the volume's lock, which create and rm hold.
func (vs *Volumes) Check(ctx context.Context, repair bool) ([]check.Problem, error) {
	r := &check.Report{Area: "volumes", Repair: repair}
	des, err := os.ReadDir(vs.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	es, err := vs.coll.List(ctx)
	if err != nil {
		return nil, err
	}
	recorded := map[string]bool{}
	for _, e := range es {
		recorded[e.Key] = true
		if _, err := vs.decode(e.Key, e.Data); err != nil {
			r.Add("damaged-record", e.Key, err.Error(), nil)
			continue
		}
		if _, err := os.Stat(vs.volumeDir(e.Key)); errors.Is(err, fs.ErrNotExist) {
			// Decided again under the lock: an rm may be half-way now.
			name := e.Key
			vs.coll.Locked(ctx, name, func(rec *store.Record) error {
				if _, err := os.Stat(vs.volumeDir(name)); rec.Exists() && errors.Is(err, fs.ErrNotExist) {
					r.Add("data-missing", name, "the record of a volume whose rm was killed after moving its data away; repair finishes the rm", rec.Remove)
				}
				return nil
			})
		}
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasPrefix(name, ".trash-"):
			path := filepath.Join(vs.dir, name)
			found := func(*store.Record) error {
				if _, err := os.Stat(path); err == nil {
					r.Add("trash", path, "data of a removed volume that its rm did not get to delete; repair deletes it", func() error { return os.RemoveAll(path) })
				}
				return nil
			}
			if vol := trashOwner(name); store.ValidateKey(vol) == nil {
				// The rm that made it holds this lock until it deletes it.
				vs.coll.Locked(ctx, vol, found)
			} else {
				found(nil)
			}
		case recorded[name] || store.ValidateKey(name) != nil:
		default:
			vs.coll.Locked(ctx, name, func(rec *store.Record) error {
				if _, err := os.Stat(vs.volumeDir(name)); rec.Exists() || err != nil {
					return nil // created or removed meanwhile
				}
				r.Add("orphan-dir", vs.volumeDir(name), "a volume directory with no record, left by a killed create; repair removes it if it is empty", func() error {
					if data, _ := os.ReadDir(vs.dataDir(name)); len(data) > 0 {
						return errors.New("it holds files: look at them, then remove " + vs.volumeDir(name) + " by hand")
					}
					return os.RemoveAll(vs.volumeDir(name))
				})
				return nil
			})
		}
	}
	return r.Problems, nil
}

// trashOwner is the volume name in ".trash-<name>-<8 hex>".
func trashOwner(entry string) string {
	s := strings.TrimPrefix(entry, ".trash-")
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		return s[:i]
	}
	return s
}
