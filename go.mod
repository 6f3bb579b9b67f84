module github.com/datastoresync/dss

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)
