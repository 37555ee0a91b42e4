package store_test

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/errdefs"

	"github.com/lepton-project/lepton/common/store"
)

// A collection is a set of records under one namespace and kind; Create
// refuses a key that exists, Update is a read-modify-write under the
// record's lock, and List returns the records in key order.
func Example() {
	ctx := context.Background()
	root, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(root)

	s, err := store.Open(ctx, root)
	if err != nil {
		fmt.Println(err)
		return
	}
	pets, _ := s.Collection("default", "pets")
	pets.Create(ctx, "rex", []byte("dog"))
	err = pets.Create(ctx, "rex", []byte("cat"))
	fmt.Println("second create:", errdefs.IsAlreadyExists(err))
	pets.Update(ctx, "rex", func(old []byte) ([]byte, error) { return append(old, "gy"...), nil })
	pets.Put(ctx, "tom", []byte("cat"))
	all, _ := pets.List(ctx)
	for _, e := range all {
		fmt.Printf("%s=%s\n", e.Key, e.Data)
	}
	_, err = pets.Get(ctx, "../escape")
	fmt.Println("bad key:", errdefs.IsInvalidArgument(err))
	// Output:
	// second create: true
	// rex=doggy
	// tom=cat
	// bad key: true
}
