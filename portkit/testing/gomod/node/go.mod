// Small programs for portkit.testing's real nodes: the pod sandbox ("pause") process.
module portkit.local/node

go 1.24
