//go:build tools

// This file pins the velero commands in go.mod; it is never compiled (build tag "tools").
package main

import (
	_ "github.com/vmware-tanzu/velero/cmd/velero"
	_ "github.com/vmware-tanzu/velero/cmd/velero-restore-helper"
)
