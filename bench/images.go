package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lepton-project/lepton/internal/testimage"
)

// benchImages times a cold pull of a 200 MB, five-layer image from a
// loopback registry against ctr's, and image listing over 200 images.
func benchImages(ctx context.Context, c *containerd.Client, env []string, ctr func(...string) []string, lep func(string, ...string) []string, runs int, medians map[string]string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	defer srv.Close()
	host := l.Addr().String()

	img, err := testimage.Busybox()
	if err != nil {
		return err
	}
	var layers []string
	for range 5 {
		var d string
		if img, d, err = testimage.WithRandomLayer(img, 40<<20); err != nil {
			return err
		}
		layers = append(layers, d)
	}
	ref := host + "/bench/big:latest"
	if err := testimage.Push(img, ref); err != nil {
		return err
	}
	var total int64
	if m, err := img.Manifest(); err == nil {
		for _, l := range m.Layers {
			total += l.Size
		}
	}
	run := func(argv []string) (time.Duration, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("%v: %v: %s", argv, err, out)
		}
		return time.Since(start), nil
	}
	clean := func() {
		// Cold pulls: the image and its content go between runs.
		c.ImageService().Delete(ctx, ref, images.SynchronousDelete())
		for _, d := range layers {
			c.ContentStore().Delete(ctx, digest.Digest(d))
		}
	}
	pr := max(runs/5, 3)
	var cs, ls []time.Duration
	for i := 0; i < pr; i++ {
		clean()
		d, err := run(ctr("image", "pull", "--plain-http", ref))
		if err != nil {
			return err
		}
		cs = append(cs, d)
		clean()
		d, err = run(lep("lepton-image", "pull", "-q", ref))
		if err != nil {
			return err
		}
		ls = append(ls, d)
	}
	clean()
	sortDurations(cs)
	sortDurations(ls)
	m := map[string]time.Duration{}
	report(fmt.Sprintf("ctr image pull (%d MB, 5 layers)", total/1e6), cs, m, "")
	report(fmt.Sprintf("lepton pull (%d MB, 5 layers)", total/1e6), ls, m, fmt.Sprintf("ctr image pull (%d MB, 5 layers)", total/1e6))
	fmt.Printf("%-44s %10.0f MB/s (lepton), %.0f MB/s (ctr)\n", "  throughput", float64(total)/1e6/ls[len(ls)/2].Seconds(), float64(total)/1e6/cs[len(cs)/2].Seconds())

	// 200 distinct images (each its own config and manifest over the
	// busybox layer), then time the listing.
	if err := makeImages(ctx, c, 200); err != nil {
		return err
	}
	ds, err := timeRuns(lep("lepton-image", "ls"), env, runs)
	if err != nil {
		return err
	}
	report("lepton images (200 images)", ds, m, "")
	ds, err = timeRuns(ctr("images", "ls"), env, runs)
	if err != nil {
		return err
	}
	report("ctr images ls (200 images)", ds, m, "")
	return nil
}

func makeImages(ctx context.Context, c *containerd.Client, n int) error {
	base, err := c.GetImage(ctx, testimage.LocalName)
	if err != nil {
		return err
	}
	cs := c.ContentStore()
	mf, err := images.Manifest(ctx, cs, base.Target(), nil)
	if err != nil {
		return err
	}
	cfgBlob, err := content.ReadBlob(ctx, cs, mf.Config)
	if err != nil {
		return err
	}
	var cfg map[string]any
	json.Unmarshal(cfgBlob, &cfg)
	for i := range n {
		cfg["lepton.bench.index"] = i
		cb, _ := json.Marshal(cfg)
		cd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cb), Size: int64(len(cb))}
		if err := content.WriteBlob(ctx, cs, "bench-"+cd.Digest.Encoded(), bytes.NewReader(cb), cd); err != nil {
			return err
		}
		m := mf
		m.Config = cd
		mb, _ := json.Marshal(m)
		md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
		labels := map[string]string{"containerd.io/gc.ref.content.config": cd.Digest.String()}
		for j, l := range m.Layers {
			labels[fmt.Sprintf("containerd.io/gc.ref.content.l.%d", j)] = l.Digest.String()
		}
		if err := content.WriteBlob(ctx, cs, "bench-"+md.Digest.Encoded(), bytes.NewReader(mb), md, content.WithLabels(labels)); err != nil {
			return err
		}
		if _, err := c.ImageService().Create(ctx, images.Image{Name: fmt.Sprintf("bench.local/img%03d:latest", i), Target: md}); err != nil {
			return err
		}
	}
	return nil
}
