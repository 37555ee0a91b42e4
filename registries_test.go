package main

// Extra faces of the harness's one in-process registry, so that the image
// scripts can test what real registries do to a client: TLS with a private
// CA, basic and bearer-token authentication, and a connection that breaks
// in the middle of a layer. They all share the registry's storage, so an
// image pushed through one is there through all.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Test credentials for the authenticated faces.
const (
	testUser     = "lepton"
	testPassword = "s3cret-pw"
	testToken    = "lepton-test-token"
)

type faces struct {
	tls, basic, bearer, flaky string // host:port of each face
	tlsCA                     string // PEM file of the CA that signed the TLS face
	flakyDigest               string // the layer the flaky face breaks, once
}

func (w *world) startFaces(h http.Handler) (faces, error) {
	var f faces
	serve := func(l net.Listener, h http.Handler) {
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		w.stop = append(w.stop, func() { srv.Close() })
	}
	listen := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

	// TLS with a CA of our own, which only hosts.toml tells lepton about.
	caPEM, cert, err := selfSignedTLS()
	if err != nil {
		return f, err
	}
	f.tlsCA = filepath.Join(w.dir, "registry-ca.pem")
	if err := os.WriteFile(f.tlsCA, caPEM, 0o644); err != nil {
		return f, err
	}
	l, err := listen()
	if err != nil {
		return f, err
	}
	f.tls = l.Addr().String()
	serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}), h)

	// Basic authentication.
	if l, err = listen(); err != nil {
		return f, err
	}
	f.basic = l.Addr().String()
	serve(l, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPassword {
			rw.Header().Set("WWW-Authenticate", `Basic realm="lepton-test"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(rw, r)
	}))

	// Bearer tokens from a token endpoint that checks the password.
	if l, err = listen(); err != nil {
		return f, err
	}
	f.bearer = l.Addr().String()
	realm := "http://" + f.bearer + "/token"
	serve(l, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPassword {
				http.Error(rw, "unauthorized", http.StatusUnauthorized)
				return
			}
			json.NewEncoder(rw).Encode(map[string]any{"token": testToken, "expires_in": 300})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			rw.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="lepton-test"`, realm))
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(rw, r)
	}))

	// Flaky: the first request for one chosen blob gets half of it and a
	// dropped connection; /stats counts blob requests by digest. Under
	// /v2/slow/ it serves the same repositories, but that blob stops
	// half-way and hangs until the client goes, so a script can kill a
	// pull in the middle of a layer (/slow/digest names the blob); those
	// requests are neither counted nor spend the break.
	if l, err = listen(); err != nil {
		return f, err
	}
	f.flaky = l.Addr().String()
	var mu sync.Mutex
	counts := map[string]int{} // blob GETs by digest
	ranged := map[string]int{} // of which asked for a range: a resumed download
	broken := map[string]bool{}
	down := false // after the break, the blob's requests fail until /up
	serve(l, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			mu.Lock()
			down = false
			mu.Unlock()
			return
		}
		if r.URL.Path == "/slow/digest" {
			fmt.Fprint(rw, w.faces.flakyDigest)
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/v2/slow/"); ok {
			slow := r.Clone(r.Context())
			slow.URL.Path, slow.URL.RawPath = "/v2/"+rest, ""
			if r.Method != http.MethodGet || !strings.HasSuffix(rest, "/blobs/"+w.faces.flakyDigest) {
				h.ServeHTTP(rw, slow)
				return
			}
			rec := httptest.NewRecorder()
			slow.Header.Del("Range")
			h.ServeHTTP(rec, slow)
			body := rec.Body.Bytes()
			if rec.Code != http.StatusOK {
				rw.WriteHeader(rec.Code)
				rw.Write(body)
				return
			}
			rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
			rw.WriteHeader(http.StatusOK)
			rw.Write(body[:len(body)/2])
			rw.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Minute):
			}
			return
		}
		if r.URL.Path == "/stats" {
			mu.Lock()
			json.NewEncoder(rw).Encode(map[string]any{"requests": counts, "ranged": ranged})
			mu.Unlock()
			return
		}
		i := strings.Index(r.URL.Path, "/blobs/sha256:")
		if i < 0 || r.Method != http.MethodGet {
			h.ServeHTTP(rw, r)
			return
		}
		dgst := r.URL.Path[i+len("/blobs/"):]
		mu.Lock()
		counts[dgst]++
		if r.Header.Get("Range") != "" {
			ranged[dgst]++
		}
		breakIt := dgst == w.faces.flakyDigest && !broken[dgst]
		refuse := dgst == w.faces.flakyDigest && down
		broken[dgst] = broken[dgst] || breakIt
		down = down || breakIt
		mu.Unlock()
		if refuse {
			http.Error(rw, "registry going away", http.StatusServiceUnavailable)
			return
		}
		// Fetch the whole blob from the registry, which cannot serve
		// ranges, and serve it with ranges as real registries do.
		rec := httptest.NewRecorder()
		whole := r.Clone(r.Context())
		whole.Header.Del("Range")
		h.ServeHTTP(rec, whole)
		if rec.Code != http.StatusOK {
			for k, v := range rec.Header() {
				rw.Header()[k] = v
			}
			rw.WriteHeader(rec.Code)
			rw.Write(rec.Body.Bytes())
			return
		}
		body := rec.Body.Bytes()
		if breakIt {
			rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
			rw.WriteHeader(http.StatusOK)
			rw.Write(body[:len(body)/2])
			rw.(http.Flusher).Flush()
			if conn, _, err := rw.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		http.ServeContent(rw, r, "", time.Time{}, bytes.NewReader(body))
	}))
	return f, nil
}

// selfSignedTLS makes a CA and a certificate for 127.0.0.1 signed by it.
func selfSignedTLS() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lepton test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, nil
}
