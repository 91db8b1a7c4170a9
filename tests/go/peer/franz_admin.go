package main

import "github.com/twmb/franz-go/pkg/kadm"

// kadm is used by the franz-admin scenario; this keeps the module pinned in go.mod until then.
var _ = kadm.NewClient
