package networks

import (
	"context"
	"fmt"
	"sort"

	"github.com/lepton-project/lepton/common/check"
	"github.com/lepton-project/lepton/common/proc"
	"github.com/lepton-project/lepton/common/store"
)

// Check walks the network records of the namespace under their locks and
// reports:
//
//   - unfinished-create: a network whose create was killed; its record
//     owns whatever bridge and rules it had made (repair removes them and
//     the record, freeing the subnet);
//   - stale-endpoint: an address (and published ports) still held for a
//     task that is gone, as a detached container that exited by itself
//     leaves until the next join on its network (repair frees them);
//   - damaged-record: a record that cannot be read (only reported).
//
// Rules and bridges are only ever removed through the record that owns
// them: those of other data roots on the same host are not this check's.
func (ns *Networks) Check(ctx context.Context, repair bool) ([]check.Problem, error) {
	r := &check.Report{Area: "networks", Repair: repair}
	es, err := ns.coll.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		name := e.Key
		err := ns.coll.Locked(ctx, name, func(rec *store.Record) error {
			if !rec.Exists() {
				return nil
			}
			n, err := ns.read(rec)
			if err != nil {
				r.Add("damaged-record", name, err.Error(), nil)
				return nil
			}
			if n.Creating {
				r.Add("unfinished-create", name, fmt.Sprintf("a create that was killed left network %s (bridge %s, subnet %s); repair removes its bridge, rules and record", n.ID[:12], n.Bridge, n.Subnet), func() error {
					return rollBack(n, rec)
				})
				return nil
			}
			ids := make([]string, 0, len(n.Endpoints))
			for id := range n.Endpoints {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				ep := n.Endpoints[id]
				if ep.Pid == 0 || proc.Alive(ep.Pid, ep.PidStart) {
					continue
				}
				r.Add("stale-endpoint", name+"/"+ep.Name, fmt.Sprintf("address %s is still held for container %s, whose task is gone; repair frees it and its ports", ep.IP, id[:min(12, len(id))]), func() error {
					delete(n.Endpoints, id)
					deleteLink(ep.Iface)
					deletePortRules(id)
					return writeNetwork(rec, n)
				})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := checkForwards(ctx, r); err != nil {
		return nil, err
	}
	return r.Problems, nil
}
