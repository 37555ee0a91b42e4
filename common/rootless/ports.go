package rootless

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Port is a port rootlesskit publishes on the host: connections to
// ParentIP:ParentPort (all addresses for "") go to ChildIP:ChildPort in
// the containers' network namespace. The fields are rootlesskit's API.
type Port struct {
	ID         int    `json:"-"`
	Proto      string `json:"proto"` // tcp or udp
	ParentIP   string `json:"parentIP,omitempty"`
	ParentPort int    `json:"parentPort"`
	ChildIP    string `json:"childIP,omitempty"`
	ChildPort  int    `json:"childPort"`
}

type portStatus struct {
	ID   int  `json:"id"`
	Spec Port `json:"spec"`
}

func (d Daemon) api() *http.Client {
	sock := d.APISocket()
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}},
	}
}

func (d Daemon) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://rootlesskit/v1/"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.api().Do(req)
	if err != nil {
		return fmt.Errorf("rootlesskit's API at %s: %w (is the rootless daemon running?)", d.APISocket(), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return fmt.Errorf("rootlesskit: %s", e.Message)
		}
		return fmt.Errorf("rootlesskit: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Ports lists the ports rootlesskit publishes.
func (d Daemon) Ports(ctx context.Context) ([]Port, error) {
	var st []portStatus
	if err := d.call(ctx, http.MethodGet, "ports", nil, &st); err != nil {
		return nil, err
	}
	out := make([]Port, 0, len(st))
	for _, s := range st {
		p := s.Spec
		p.ID = s.ID
		out = append(out, p)
	}
	return out, nil
}

// AddPort publishes p on the host. It fails when the host port is taken.
func (d Daemon) AddPort(ctx context.Context, p Port) (Port, error) {
	var st portStatus
	if err := d.call(ctx, http.MethodPost, "ports", p, &st); err != nil {
		return Port{}, err
	}
	p.ID = st.ID
	return p, nil
}

// RemovePort stops publishing the port of ID id.
func (d Daemon) RemovePort(ctx context.Context, id int) error {
	return d.call(ctx, http.MethodDelete, "ports/"+strconv.Itoa(id), nil, nil)
}
