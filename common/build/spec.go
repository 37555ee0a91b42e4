package build

import (
	"encoding/csv"
	"fmt"
	"net/netip"
	"strings"

	"github.com/containerd/errdefs"
)

// Secret is one --secret: a file or an environment variable a RUN
// --mount=type=secret can read, never stored in a layer or the history.
type Secret struct {
	ID   string
	File string // one of File and Env
	Env  string
}

// SSH is one --ssh: an agent socket (or keys) a RUN --mount=type=ssh uses.
type SSH struct {
	ID    string   // "default" unless named
	Paths []string // sockets or key files; none means $SSH_AUTH_SOCK
}

// Entry is a typed spec such as "type=local,dest=out": an output, or a
// cache to import or export.
type Entry struct {
	Type  string
	Attrs map[string]string
}

// ParseSecret reads docker's --secret id=ID[,src=FILE|,env=VAR][,type=file|env].
func ParseSecret(s string) (Secret, error) {
	kv, err := fields("--secret", s)
	if err != nil {
		return Secret{}, err
	}
	var sec Secret
	typ := ""
	for k, v := range kv {
		switch k {
		case "id":
			sec.ID = v
		case "src", "source":
			sec.File = v
		case "env":
			sec.Env = v
		case "type":
			typ = v
		default:
			return Secret{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret %s: unknown key %q (want id=, src=, env= or type=)", s, k))
		}
	}
	if sec.ID == "" {
		return Secret{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret %s: no id= (want id=NAME,src=FILE or id=NAME,env=VAR)", s))
	}
	switch typ {
	case "", "file":
		if sec.File == "" && sec.Env == "" {
			sec.File = sec.ID
		}
	case "env":
		if sec.Env == "" {
			sec.Env, sec.File = sec.File, ""
		}
		if sec.Env == "" {
			sec.Env = sec.ID
		}
	default:
		return Secret{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret %s: type is file or env, not %q", s, typ))
	}
	if sec.File != "" && sec.Env != "" {
		return Secret{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--secret %s: give src= or env=, not both", s))
	}
	return sec, nil
}

// ParseSSH reads docker's --ssh default|ID[=SOCKET|KEY[,KEY...]].
func ParseSSH(s string) (SSH, error) {
	id, paths, _ := strings.Cut(s, "=")
	if id == "" {
		return SSH{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--ssh %q: want default or ID[=SOCKET|KEY,...]", s))
	}
	out := SSH{ID: id}
	if paths != "" {
		out.Paths = strings.Split(paths, ",")
	}
	return out, nil
}

// ParseOutput reads -o: type=local,dest=DIR | type=tar,dest=FILE|- |
// type=oci|docker,dest=FILE|- | type=image[,name=...][,push=true] | DIR
// (docker's short form of type=local,dest=DIR).
func ParseOutput(s string) (Entry, error) {
	if !strings.Contains(s, "=") {
		if s == "-" {
			return Entry{Type: "tar", Attrs: map[string]string{"dest": "-"}}, nil
		}
		return Entry{Type: "local", Attrs: map[string]string{"dest": s}}, nil
	}
	e, err := entry("-o", s)
	if err != nil {
		return e, err
	}
	switch e.Type {
	case "local", "tar", "oci", "docker":
		if e.Attrs["dest"] == "" {
			return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-o %s: type=%s needs dest= (a path, or - for stdout)", s, e.Type))
		}
		if e.Type == "local" && e.Attrs["dest"] == "-" {
			return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-o %s: type=local writes a directory; use type=tar,dest=- for stdout", s))
		}
	case "image", "registry":
	default:
		return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("-o %s: unknown type %q (want image, local, tar, oci or docker)", s, e.Type))
	}
	return e, nil
}

// ParseCache reads --cache-from and --cache-to: type=local,src=|dest=DIR,
// type=registry,ref=REF, type=inline, or a bare REF (type=registry).
func ParseCache(flag, s string) (Entry, error) {
	if !strings.Contains(s, "=") {
		return Entry{Type: "registry", Attrs: map[string]string{"ref": s}}, nil
	}
	e, err := entry(flag, s)
	if err != nil {
		return e, err
	}
	need := map[string]string{"registry": "ref"}
	if flag == "--cache-from" {
		need["local"] = "src"
	} else {
		need["local"] = "dest"
	}
	switch e.Type {
	case "local", "registry":
		if e.Attrs[need[e.Type]] == "" {
			return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: type=%s needs %s=", flag, s, e.Type, need[e.Type]))
		}
	case "inline":
		if flag == "--cache-from" {
			return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--cache-from %s: inline cache is read from an image: use type=registry,ref=IMAGE", s))
		}
	default:
		return e, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: unknown type %q (want local, registry or inline)", flag, s, e.Type))
	}
	return e, nil
}

func entry(flag, s string) (Entry, error) {
	kv, err := fields(flag, s)
	if err != nil {
		return Entry{}, err
	}
	t := kv["type"]
	if t == "" {
		return Entry{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: no type=", flag, s))
	}
	delete(kv, "type")
	return Entry{Type: t, Attrs: kv}, nil
}

// fields splits "k=v,k2=v2" as docker does, with CSV quoting so a value
// may hold a comma.
func fields(flag, s string) (map[string]string, error) {
	r := csv.NewReader(strings.NewReader(s))
	recs, err := r.Read()
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: %v", flag, s, err))
	}
	kv := map[string]string{}
	for _, f := range recs {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s %s: %q is not KEY=VALUE", flag, s, f))
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return kv, nil
}

// addHosts checks --add-host HOST:IP (or HOST=IP) and joins them the way
// the Dockerfile frontend takes them.
func addHosts(list []string) (string, error) {
	var out []string
	for _, h := range list {
		i := strings.IndexAny(h, "=:")
		if i <= 0 {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--add-host %s: want HOST:IP", h))
		}
		host, ip := h[:i], strings.Trim(h[i+1:], "[]")
		if _, err := netip.ParseAddr(ip); err != nil {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("--add-host %s: %q is not an IP address", h, ip))
		}
		out = append(out, host+"="+ip)
	}
	return strings.Join(out, ","), nil
}
